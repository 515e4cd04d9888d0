"""The order list and the order page with its manual actions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ledger import manual, orders, rulesets, scheduling
from ledger.clock import today_for
from ledger.db import db
from ledger.models import (
    ORDER_STATUSES,
    PAYMENT_METHODS,
    AuditEntry,
    DunningEvent,
    Order,
    OutboxMessage,
)
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

bp = Blueprint("orders", __name__)
bp.before_request(require_login)

MAX_SEARCH = 200
MAX_REASON = 500


@bp.get("/")
def index():
    return redirect(url_for("orders.order_list"))


def _filters() -> tuple[dict, list[str]]:
    args = request.args
    errors = []
    status = args.get("status", "").strip()
    if status and status not in ORDER_STATUSES:
        errors.append(f"Unknown status {status!r}; showing all statuses.")
        status = ""
    method = args.get("method", "").strip()
    if method and method not in PAYMENT_METHODS:
        errors.append(f"Unknown payment method {method!r}; showing all methods.")
        method = ""
    q = args.get("q", "").strip()
    if len(q) > MAX_SEARCH:
        errors.append(f"The search was cut to its first {MAX_SEARCH} characters.")
        q = q[:MAX_SEARCH]
    return {"status": status, "method": method, "q": q}, errors


@bp.get("/orders")
def order_list():
    filters, errors = _filters()
    conditions = [Order.merchant_id == current_user.merchant_id]
    if filters["status"]:
        conditions.append(Order.status == filters["status"])
    if filters["method"]:
        conditions.append(Order.payment_method == filters["method"])
    if filters["q"]:
        q = filters["q"]
        conditions.append(
            or_(
                Order.number.icontains(q, autoescape=True),
                Order.customer_name.icontains(q, autoescape=True),
            )
        )
    query = select(Order).where(*conditions).order_by(Order.ordered_on.desc(), Order.id.desc())
    count = select(func.count(Order.id)).where(*conditions)
    page = paginate(db.session, query, count, page_number())
    response = render_page(
        "orders/list.html",
        "results",
        page=page,
        filters=filters,
        errors=errors,
        statuses=ORDER_STATUSES,
        methods=PAYMENT_METHODS,
        today=today_for(merchant()),
    )
    if partial_request():
        # The filter form pushes its URL; keep it free of empty fields.
        response.headers["HX-Push-Url"] = clean_url("orders.order_list", page.number, filters)
    return response


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, f"There is no order {number!r}.")
    return order


def _upcoming(order: Order, today):
    """The active rules' plan for this order from today: its steps, and the dates on which it
    would be cancelled, marked overdue or handed over (where the rules say so)."""
    version, program = rulesets.program_for(order)
    plan = {"version": version, "steps": [], "next": None, "milestones": []}
    if program is None or not order.is_open or order.erased_at:
        return plan
    schedule = program.schedule(
        scheduling.order_facts(order), scheduling.order_history(order), today
    )
    plan["steps"] = list(schedule.steps)
    plan["next"] = schedule.steps[0] if schedule.steps else None
    for when, label in (
        (schedule.overdue_on, "Overdue"),
        (schedule.cancellation_on, "Cancellation"),
        (schedule.collection_on, "Handover to collection"),
    ):
        if when:
            plan["milestones"].append((label, when))
    return plan


def order_context(order: Order, **extra) -> dict:
    today = today_for(merchant())
    events = db.session.scalars(
        select(DunningEvent)
        .where(DunningEvent.order_id == order.id)
        .options(selectinload(DunningEvent.ruleset_version))
        .order_by(DunningEvent.decided_on, DunningEvent.id)
    ).all()
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.merchant_id == order.merchant_id, OutboxMessage.order_id == order.id)
        .order_by(OutboxMessage.id)
    ).all()
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.merchant_id == order.merchant_id, AuditEntry.order_id == order.id)
        .order_by(AuditEntry.id)
    ).all()
    context = {
        "order": order,
        "today": today,
        "plan": _upcoming(order, today),
        "events": events,
        "messages": messages,
        "audit": entries,
        "error": None,
        "notice": None,
        "form": {},
    }
    context.update(extra)
    return context


@bp.get("/orders/<number>")
def detail(number: str):
    order = _own_order(number)
    return render_page("orders/detail.html", "order", **order_context(order))


def _done(order: Order, notice: str):
    """After an action: the refreshed order block for htmx, a redirect for a plain form."""
    if partial_request():
        return render_page("orders/detail.html", "order", **order_context(order, notice=notice))
    flash(notice, "notice")
    return redirect(url_for("orders.detail", number=order.number))


def _refused(order: Order, message: str, form: dict | None = None):
    """Nothing was changed: say why, keep what the user typed, answer 422."""
    db.session.rollback()
    context = order_context(order, error=message, form=form or {})
    return render_page("orders/detail.html", "order", status=422, **context)


@bp.post("/orders/<number>/mark-paid")
def mark_paid(number: str):
    order = _own_order(number)
    if order.status == "cancelled":
        return _refused(order, "The order is cancelled; record no payment against it here.")
    if order.paid_total >= order.amount:
        return _refused(order, "The order is paid already.")
    payment = orders.mark_paid(order, today_for(merchant()), actor())
    db.session.commit()
    amount = current_app.jinja_env.filters["money"](payment.amount, order.currency)
    return _done(order, f"Recorded a payment of {amount}; the order is {order.status}.")


@bp.post("/orders/<number>/cancel")
def cancel(number: str):
    order = _own_order(number)
    reason = request.form.get("reason", "").strip()
    form = {"cancel_reason": reason}
    if order.status == "cancelled":
        return _refused(order, "The order is cancelled already.", form)
    if not order.is_open:
        return _refused(order, f"The order is {order.status}; only unpaid orders can be cancelled.")
    if len(reason) > MAX_REASON:
        return _refused(order, f"The reason must be at most {MAX_REASON} characters.", form)
    orders.cancel(order, today_for(merchant()), actor(), reason or "cancelled in the portal")
    db.session.commit()
    return _done(order, "The order is cancelled; pending reminders were withdrawn.")


@bp.post("/orders/<number>/block")
def block(number: str):
    order = _own_order(number)
    blocked = request.form.get("blocked") == "on"
    reason = request.form.get("reason", "").strip()
    form = {"block_reason": reason}
    if blocked:
        if not order.is_open:
            return _refused(order, f"The order is {order.status}; there is no dunning to block.")
        if not reason:
            return _refused(order, "Please give a reason for the dunning block.", form)
        if len(reason) > MAX_REASON:
            return _refused(order, f"The reason must be at most {MAX_REASON} characters.", form)
    elif not order.dunning_block:
        return _refused(order, "Dunning is not blocked for this order.")
    orders.set_dunning_block(order, blocked, actor(), reason if blocked else None)
    db.session.commit()
    return _done(order, "Dunning is blocked." if blocked else "The dunning block is lifted.")


@bp.post("/orders/<number>/remind")
def remind(number: str):
    order = _own_order(number)
    try:
        message = manual.remind_now(order, today_for(merchant()), actor())
    except manual.ActionRefused as exc:
        return _refused(order, f"No reminder was sent: {exc}.")
    db.session.commit()
    current_app.extensions["job_queue"].enqueue("worker.jobs.deliver", message.id)
    return _done(order, f"A reminder (level {order.dunning_level}) is on its way.")


@bp.post("/orders/<number>/erase")
def erase(number: str):
    order = _own_order(number)
    if request.form.get("confirm") != "yes":
        return _refused(order, "Tick the box to confirm the erasure; nothing was erased.")
    try:
        manual.erase_personal_data(order, actor())
    except manual.ActionRefused as exc:
        return _refused(order, f"Nothing was erased: {exc}.")
    db.session.commit()
    return _done(order, "The customer's personal data is erased; amounts and dates are kept.")
