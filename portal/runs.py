"""The runs page: the history of dunning runs, and "Run now" with a progress fragment that polls."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ledger import dunning
from ledger.clock import today_for
from ledger.db import db
from ledger.models import DunningRun, RunState
from portal.auth import require_login
from portal.ui import merchant, page_number, paginate, partial_request, render_page

bp = Blueprint("runs", __name__)
bp.before_request(require_login)

RUNS_PER_PAGE = 25
FINISHED = (RunState.DONE, RunState.FAILED)


def _sent_counts(runs: list[DunningRun]) -> dict[int, int]:
    return {run.id: dunning.messages_sent(run.id) for run in runs}


def _own_run(run_id: int) -> DunningRun:
    run = db.session.get(DunningRun, run_id)
    if run is None or run.merchant_id != current_user.merchant_id:
        abort(404, _("There is no run %(run)s.", run=run_id))
    return run


def _history_context(**extra) -> dict:
    conditions = [DunningRun.merchant_id == current_user.merchant_id]
    query = (
        select(DunningRun)
        .where(*conditions)
        .order_by(DunningRun.created_at.desc(), DunningRun.id.desc())
    )
    matching = select(DunningRun.id).where(*conditions)
    page = paginate(db.session, query, matching, page_number(), RUNS_PER_PAGE)
    context = {
        "page": page,
        "sent": _sent_counts(page.rows),
        "today": today_for(merchant()),
        "run": None,
        "finished": FINISHED,
    }
    context.update(extra)
    return context


@bp.get("/runs")
def run_list():
    return render_page("runs/list.html", "history", **_history_context())


@bp.post("/runs")
def run_now():
    run = dunning.start_run(merchant(), today_for(merchant()), "portal", current_user.email)
    db.session.commit()
    dunning.hand_to_worker(run.id)
    if partial_request():
        return render_page("runs/list.html", "progress", status=202, **_progress_context(run))
    return redirect(url_for("runs.progress", run_id=run.id))


def _progress_context(run: DunningRun) -> dict:
    return {
        "run": run,
        "sent": {run.id: dunning.messages_sent(run.id)},
        "finished": FINISHED,
        # The last poll (the run is over) has the history below reload once.
        "refresh_history": run.state in FINISHED,
    }


@bp.get("/runs/<int:run_id>/progress")
def progress(run_id: int):
    run = _own_run(run_id)
    if partial_request():
        return render_page("runs/list.html", "progress", **_progress_context(run))
    return render_page("runs/list.html", "progress", **_history_context(run=run))
