"""Letters and print runs: the merchant's letters (view the PDF, cancel one not yet posted), the
print runs that bundle the waiting letters into one PDF with a CSV manifest, and an order's
stored invoice. The letters' life is ledger.documents.print_runs."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, make_response, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ledger import orders
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import invoices, print_runs
from ledger.models import Letter, LetterState, PrintRun
from portal import reasons
from portal.auth import require_login
from portal.ui import (
    actor,
    clean_url,
    merchant,
    page_number,
    paginate,
    partial_request,
    render_page,
)

bp = Blueprint("letters", __name__)
bp.before_request(require_login)
bp.add_app_template_global(print_runs.can, "can_move")  # a letter's or run's move, for buttons

LETTER_STATES = [state.value for state in LetterState]
MAX_REASON = 500


def _own_letter(letter_id: int) -> Letter:
    letter = db.session.get(Letter, letter_id)
    if letter is None or letter.merchant_id != current_user.merchant_id:
        abort(404, _("There is no such letter."))
    return letter


def _own_run(run_id: int) -> PrintRun:
    run = db.session.get(PrintRun, run_id)
    if run is None or run.merchant_id != current_user.merchant_id:
        abort(404, _("There is no such print run."))
    return run


def _pdf(data: bytes, filename: str, inline: bool):
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=not inline,
        download_name=filename,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/letters")
def letter_list():
    errors = []
    state = request.args.get("state", "").strip()
    if state and state not in LETTER_STATES:
        errors.append(_("Unknown state %(state)s; showing all states.", state=repr(state)))
        state = ""
    conditions = [Letter.merchant_id == current_user.merchant_id]
    if state:
        conditions.append(Letter.state == state)
    query = (
        select(Letter)
        .where(*conditions)
        .options(selectinload(Letter.order))
        .order_by(Letter.id.desc())
    )
    matching = select(Letter.id).where(*conditions)
    page = paginate(db.session, query, matching, page_number())
    response = render_page(
        "letters_pages/letters.html",
        "results",
        page=page,
        filters={"state": state},
        errors=errors,
        states=LETTER_STATES,
    )
    if partial_request():
        response.headers["HX-Push-Url"] = clean_url(
            "letters.letter_list", page.number, {"state": state}
        )
    return response


@bp.get("/letters/<int:letter_id>.pdf")
def letter_pdf(letter_id: int):
    letter = _own_letter(letter_id)
    if letter.pdf is None:
        abort(404, _("The letter's PDF is no longer kept."))
    number = letter.order.number if letter.order else "letter"
    return _pdf(letter.pdf, f"{number}-{letter.kind}-{letter.id}.pdf", inline=True)


def _row(letter: Letter, status: int = 200, error: str | None = None):
    return render_page(
        "letters_pages/letters.html",
        "letter_row",
        status=status,
        letter=letter,
        row_error=error,
        back=request.form.get("back"),
    )


@bp.post("/letters/<int:letter_id>/cancel")
def cancel(letter_id: int):
    """Cancel a letter not posted yet: the row again (htmx), or back to where the form was."""
    letter = _own_letter(letter_id)
    reason = request.form.get("reason", "").strip()
    problem = None
    if len(reason) > MAX_REASON:
        problem = _("The reason must be at most %(num)d characters.", num=MAX_REASON)
    else:
        try:
            print_runs.cancel_letter(letter, actor(), reason or None)
        except print_runs.Refused as exc:
            problem = _("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc))
    if problem:
        db.session.rollback()
        letter = _own_letter(letter_id)
        if partial_request():
            return _row(letter, 422, problem)
        flash(problem, "error")
    else:
        db.session.commit()
        if partial_request():
            return _row(letter)
        flash(_("The letter is cancelled; it will not be printed or posted."), "notice")
    back = request.form.get("back")
    if back == "order" and letter.order:
        return redirect(url_for("orders.detail", number=letter.order.number))
    return redirect(url_for("letters.letter_list"))


# --- print runs --------------------------------------------------------------------------------


def _runs_context(**extra) -> dict:
    runs = db.session.scalars(
        select(PrintRun)
        .where(PrintRun.merchant_id == current_user.merchant_id)
        .order_by(PrintRun.id.desc())
        .limit(100)
    ).all()
    totals = {}
    if runs:
        totals = {
            run_id: (count, pages or 0)
            for run_id, count, pages in db.session.execute(
                select(Letter.print_run_id, func.count(Letter.id), func.sum(Letter.pages))
                .where(
                    Letter.print_run_id.in_([run.id for run in runs]),
                    Letter.state != LetterState.CANCELLED,
                )
                .group_by(Letter.print_run_id)
            )
        }
    waiting = db.session.scalar(
        select(func.count(Letter.id)).where(
            Letter.merchant_id == current_user.merchant_id, Letter.state == LetterState.CREATED
        )
    )
    context = {"runs": runs, "totals": totals, "waiting": waiting, "notice": None, "error": None}
    context.update(extra)
    return context


@bp.get("/print-runs")
def run_list():
    return render_page("letters_pages/print_runs.html", "runs", **_runs_context())


def _runs_done(notice: str | None = None, error: str | None = None, status: int = 200):
    if partial_request():
        context = _runs_context(notice=notice, error=error)
        return render_page("letters_pages/print_runs.html", "runs", status=status, **context)
    if notice:
        flash(notice, "notice")
    if error:
        flash(error, "error")
    return redirect(url_for("letters.run_list"))


@bp.post("/print-runs")
def start_run():
    shop = merchant()
    run = print_runs.start_print_run(shop, today_for(shop), actor())
    db.session.commit()
    if run is None:
        return _runs_done(notice=_("Nothing to print: no letter is waiting."))
    count = len(print_runs.letters_of(run, printable=False))
    return _runs_done(
        notice=ngettext(
            "Print run %(id)s started with %(num)d letter.",
            "Print run %(id)s started with %(num)d letters.",
            count,
            id=run.id,
        )
    )


@bp.get("/print-runs/<int:run_id>.pdf")
def run_pdf(run_id: int):
    run = _own_run(run_id)
    pdf = print_runs.merged_pdf(run)
    if pdf is None:
        abort(404, _("Every letter of this print run is cancelled: there is nothing to print."))
    return _pdf(pdf, f"print-run-{run.day.isoformat()}-{run.id}.pdf", inline=False)


@bp.get("/print-runs/<int:run_id>/manifest.csv")
def run_manifest(run_id: int):
    run = _own_run(run_id)
    response = make_response(print_runs.manifest_csv(run))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="print-run-{run.day.isoformat()}-{run.id}.csv"'
    )
    return response


def _advance(run_id: int, command, notice: str):
    run = _own_run(run_id)
    try:
        command(run, actor())
    except print_runs.Refused as exc:
        db.session.rollback()
        return _runs_done(
            error=_("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc)),
            status=422,
        )
    db.session.commit()
    return _runs_done(notice=notice)


@bp.post("/print-runs/<int:run_id>/printed")
def mark_printed(run_id: int):
    return _advance(run_id, print_runs.mark_printed, _("The print run is marked printed."))


@bp.post("/print-runs/<int:run_id>/posted")
def mark_posted(run_id: int):
    return _advance(run_id, print_runs.mark_posted, _("The print run is marked posted."))


# --- an order's invoice ------------------------------------------------------------------------


@bp.get("/orders/<number>/invoice.pdf")
def invoice_pdf(number: str):
    order = orders.find_order(current_user.merchant_id, number)
    invoice = invoices.invoice_of(order) if order else None
    if invoice is None or invoice.pdf is None:
        abort(404, _("There is no invoice for this order."))
    return _pdf(invoice.pdf, invoice.filename, inline=True)
