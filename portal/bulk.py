"""Bulk actions on the orders list: review (how many orders the action touches, which it skips
and why), start (a BulkJob the worker runs) and the job's progress (ledger/bulk_actions.py)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select

from ledger import bulk_actions
from ledger.db import db
from ledger.models import BulkJob, Order
from ledger.permissions import Action, allowed
from portal import orders as order_list
from portal import reasons
from portal.auth import require_login
from portal.i18n import number
from portal.ui import actor, merchant, render_page

bp = Blueprint("bulk", __name__)
bp.before_request(require_login)

ACTION_LABELS = {
    "remind": _l("Send reminder now"),
    "block": _l("Block dunning"),
    "unblock": _l("Lift the dunning block"),
    "mark_paid": _l("Mark paid"),
    "cancel": _l("Cancel orders"),
}
NOTICE_LABELS = {
    "none": _l("No notice to the customer"),
    "email": _l("A cancellation notice by email"),
    "letter": _l("A cancellation notice by letter"),
}
SHOWN_SKIPPED = 100
FILTER_KEYS = ("status", "method", "flag", "level", "ordered_from", "ordered_to", "q")


def _permission(action: str) -> Action:
    return Action.MONEY if action == "mark_paid" else Action.DUNNING


class _Bad(Exception):
    """The request cannot be reviewed or started: the message says why."""


def _chosen(values) -> tuple[list[int], dict | None, list[str]]:
    """The order ids the form carries: every order the filter finds (all=1), or the ticked
    numbers. Returns (ids, the filter or None, the filter's ignored words)."""
    limit = bulk_actions.MAX_ORDERS
    if values.get("all"):
        filters, errors = order_list._filters(values)
        query = select(Order.id).where(*order_list._conditions(filters))
        upto = values.get("upto", "")
        if upto.isascii() and upto.isdigit() and len(upto) < 19:
            # Start: only the orders the review counted, none the shop sent since.
            query = query.where(Order.id <= int(upto))
        ids = db.session.scalars(query.order_by(Order.ordered_on, Order.id).limit(limit + 1))
        return list(ids), filters, errors
    numbers = list(dict.fromkeys(n.strip() for n in values.getlist("order") if n.strip()))
    if len(numbers) > limit:
        return list(range(len(numbers))), None, []  # too many: refused by the caller
    ids = []
    for start in range(0, len(numbers), 1000):
        ids += db.session.scalars(
            select(Order.id).where(
                Order.merchant_id == current_user.merchant_id,
                Order.number.in_(numbers[start : start + 1000]),
            )
        ).all()
    return ids, None, []


def _action(values) -> str:
    action = values.get("action", "").strip()
    if action not in bulk_actions.ACTIONS:
        raise _Bad(_("Choose one of the bulk actions; %(action)s is none.", action=repr(action)))
    if not allowed(current_user.role, _permission(action)):
        abort(403)
    return action


def _too_many(ids) -> str | None:
    if len(ids) > bulk_actions.MAX_ORDERS:
        return _(
            "More than %(limit)s orders are chosen; one bulk action touches at most %(limit)s. "
            "Narrow the filter.",
            limit=number(bulk_actions.MAX_ORDERS),
        )
    return None


def _context(values, action: str, **extra) -> dict:
    ids, filters, errors = _chosen(values)
    problem = _too_many(ids)
    touch, skipped = ([], []) if problem else bulk_actions.plan(merchant(), action, ids)
    carried = {k: values.get(k, "") for k in FILTER_KEYS if values.get(k)}
    if values.get("all"):  # the newest order the review saw: Start acts on none newer
        carried["upto"] = values.get("upto") or str(max(ids, default=0))
    context = {
        "action": action,
        "action_label": ACTION_LABELS[action],
        "chosen": len(ids),
        "touch": len(touch),
        "skipped": [
            {"number": s["number"], "reason": reasons.refusal_text(s["reason"])}
            for s in skipped[:SHOWN_SKIPPED]
        ],
        "skipped_total": len(skipped),
        "all": bool(values.get("all")),
        "filters": carried,
        "numbers": [] if values.get("all") else values.getlist("order"),
        "notices": NOTICE_LABELS,
        "errors": errors + ([problem] if problem else []),
        "error": None,
        "form": {"reason": values.get("reason", ""), "notice": values.get("notice", "none")},
        "needs_reason": action in bulk_actions.NEEDS_REASON,
        "max_reason": order_list.MAX_REASON,
    }
    context.update(extra)
    return context


def _bad(message: str):
    return render_page("orders/bulk.html", "review", status=422, **_empty_review(message))


def _empty_review(message: str) -> dict:
    return {
        "action": None,
        "action_label": "",
        "chosen": 0,
        "touch": 0,
        "skipped": [],
        "skipped_total": 0,
        "all": False,
        "filters": {},
        "numbers": [],
        "notices": NOTICE_LABELS,
        "errors": [],
        "error": message,
        "form": {},
        "needs_reason": False,
        "max_reason": order_list.MAX_REASON,
    }


@bp.route("/orders/bulk/review", methods=["GET", "POST"])
def review():
    """What the action would do to the chosen orders; changes nothing."""
    try:
        action = _action(request.values)
    except _Bad as exc:
        return _bad(str(exc))
    return render_page("orders/bulk.html", "review", **_context(request.values, action))


@bp.post("/orders/bulk")
def start():
    """Start the reviewed action as a job for the worker; its progress page follows."""
    values = request.form
    try:
        action = _action(values)
    except _Bad as exc:
        return _bad(str(exc))
    reason = values.get("reason", "").strip()
    notice = values.get("notice", "none").strip() or "none"
    problem = None
    if action in bulk_actions.NEEDS_REASON and not reason:
        problem = _("Please give a reason for the dunning block.")
    elif len(reason) > order_list.MAX_REASON:
        problem = _("The reason must be at most %(num)d characters.", num=order_list.MAX_REASON)
    elif action == "cancel" and notice not in bulk_actions.NOTICES:
        problem = _("Choose whether and how the customers hear of the cancellation.")
    ids, _filters, _errors = _chosen(values)
    problem = problem or _too_many(ids)
    if problem is None and not ids:
        problem = _("No orders are chosen: tick some, or choose all the filter finds.")
    if problem:
        db.session.rollback()
        context = _context(values, action, error=problem)
        return render_page("orders/bulk.html", "review", status=422, **context)
    params = {"reason": reason} if reason else {}
    if action == "cancel":
        params["notice"] = notice
    try:
        job = bulk_actions.start(merchant(), action, ids, params, actor())
    except bulk_actions.BulkRefused as exc:
        db.session.rollback()
        message = _("Nothing was started: %(reason)s.", reason=reasons.refusal_text(exc))
        context = _context(values, action, error=message)
        return render_page("orders/bulk.html", "review", status=422, **context)
    db.session.commit()
    try:
        bulk_actions.enqueue(job)
    except (RedisError, OSError):
        pass  # the job stays queued; its page says so
    return redirect(url_for("bulk.progress", job_id=job.id), code=303)


@bp.get("/orders/bulk/<int:job_id>")
def progress(job_id: int):
    job = db.session.get(BulkJob, job_id) if job_id < 2**31 else None  # no id is that large
    if job is None or job.merchant_id != current_user.merchant_id:
        abort(404, _("There is no bulk action %(id)s.", id=job_id))
    skipped = job.skipped or []
    context = {
        "job": job,
        "action_label": ACTION_LABELS.get(job.action, job.action),
        "touched": bulk_actions.touched(job),
        "skipped": [
            {"number": s.get("number"), "reason": reasons.refusal_text(s.get("reason"))}
            for s in skipped[:SHOWN_SKIPPED]
        ],
        "skipped_total": len(skipped),
        "running": job.state in ("queued", "running"),
    }
    return render_page("orders/bulk.html", "progress", **context)
