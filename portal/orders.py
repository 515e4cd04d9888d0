"""The order list and the order page with its manual actions."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ledger import (
    dunning,
    entries,
    lifecycle,
    manual,
    notes,
    notices,
    order_filters,
    orders,
    outbox,
    queueing,
)
from ledger.bank import inbox
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import invoices, print_runs
from ledger.models import (
    ORDER_STATUSES,
    PAYMENT_METHODS,
    AuditEntry,
    DunningEvent,
    Letter,
    Order,
    OutboxMessage,
    Source,
)
from portal import bank, exports, reasons
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
FLAGS = order_filters.FLAGS


@bp.get("/")
def index():
    return redirect(url_for("dashboard.page"))


def _filters(args=None) -> tuple[dict, list[str]]:
    """The list's filters from the request's arguments (or `args`), and what was ignored."""
    args = request.args if args is None else args
    errors = []
    status = args.get("status", "").strip()
    if status and status not in ORDER_STATUSES:
        errors.append(_("Unknown status %(status)s; showing all statuses.", status=repr(status)))
        status = ""
    method = args.get("method", "").strip()
    if method and method not in PAYMENT_METHODS:
        errors.append(
            _("Unknown payment method %(method)s; showing all methods.", method=repr(method))
        )
        method = ""
    flag = args.get("flag", "").strip()
    if flag and flag not in FLAGS:
        errors.append(_("Unknown filter %(flag)s; showing all orders.", flag=repr(flag)))
        flag = ""
    level_text = args.get("level", "").strip()
    level = ""  # kept as text: level 0 is a filter too (and stays in the URL)
    if level_text:
        if re.fullmatch(r"[0-9]{1,2}", level_text) and int(level_text) <= order_filters.MAX_LEVEL:
            level = str(int(level_text))
        else:
            errors.append(
                _(
                    "The dunning level must be a whole number from 0 to %(max)d; showing all "
                    "levels.",
                    max=order_filters.MAX_LEVEL,
                )
            )
    days = {}
    for key in ("ordered_from", "ordered_to"):
        text = args.get(key, "").strip()
        days[key] = _day(text)
        if text and days[key] is None:
            errors.append(
                _("%(date)s is not a date like 2026-03-31; it is ignored.", date=repr(text[:40]))
            )
    q = args.get("q", "").strip()
    if len(q) > MAX_SEARCH:
        errors.append(_("The search was cut to its first %(num)d characters.", num=MAX_SEARCH))
        q = q[:MAX_SEARCH]
    filters = {"status": status, "method": method, "flag": flag, "level": level, **days, "q": q}
    return filters, errors


def _conditions(filters: dict) -> list:
    return order_filters.conditions(current_user.merchant_id, filters)


def _open_totals(conditions: list) -> list[tuple[str, Decimal]]:
    """The open amount of every order the filter finds, per currency (one grouped query over
    every order it finds: about a second at a million orders, so the list asks for it
    separately, after it is shown: open_total)."""
    return [
        (currency, Decimal(total or 0))
        for currency, total in db.session.execute(
            select(Order.currency, func.sum(Order.open_amount_sql()))
            .where(*conditions)
            .group_by(Order.currency)
            .order_by(Order.currency)
        )
    ]


@bp.get("/orders")
def order_list():
    filters, errors = _filters()
    conditions = _conditions(filters)
    query = select(Order).where(*conditions).order_by(Order.ordered_on.desc(), Order.id.desc())
    matching = select(Order.id).where(*conditions)
    page = paginate(db.session, query, matching, page_number())
    response = render_page(
        "orders/list.html",
        "results",
        page=page,
        filters=filters,
        errors=errors,
        statuses=ORDER_STATUSES,
        methods=PAYMENT_METHODS,
        today=today_for(merchant()),
        totals=None,  # loaded by the block's own request (open_total)
    )
    if partial_request():
        # The filter form pushes its URL; keep it free of empty fields.
        response.headers["HX-Push-Url"] = clean_url("orders.order_list", page.number, filters)
    return response


@bp.get("/orders/open-total")
def open_total():
    """The open amount of the list's filter, per currency: the list's placeholder loads it
    (htmx, on load), so the list itself does not wait for the sum over every order found."""
    filters, _errors = _filters()
    return render_block(
        "orders/list.html",
        "open_total",
        totals=_open_totals(_conditions(filters)),
        filters=filters,
    )


EXPORT_HEADER = [
    "number", "ordered_on", "due_on", "customer", "country", "payment_method", "status",
    "currency", "amount", "open_amount", "dunning_level", "next_due_on", "invoice_number",
]  # fmt: skip


def _each(query):
    """The query's rows, run only when the first one is wanted."""
    yield from db.session.scalars(query)


@bp.get("/orders/export.<any(csv, xlsx):kind>")
def export(kind: str):
    """The filtered list, every order of it (newest first), as CSV or XLSX."""
    filters, _errors = _filters()
    query = (
        select(Order)
        .where(*_conditions(filters))
        .order_by(Order.ordered_on.desc(), Order.id.desc())
        .execution_options(yield_per=2000)
    )
    # Read while the file is written or streamed (a CSV outlives the view's session).
    rows = (
        [
            o.number,
            o.ordered_on,
            o.due_on,
            o.customer_name,
            o.country,
            o.payment_method,
            o.status,
            o.currency,
            o.amount,
            o.open_amount,
            o.dunning_level,
            o.next_due_on,
            o.invoice_number,
        ]  # fmt: skip
        for o in _each(query)
    )
    name = f"mahnwerk-orders-{today_for(merchant()).isoformat()}"
    if kind == "xlsx":
        return exports.xlsx_response(name, EXPORT_HEADER, rows)
    return exports.csv_response(name, EXPORT_HEADER, rows)


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    return order


def _upcoming(order: Order, today):
    """The active rules' plan for this order from today: its steps, and the dates on which it
    would be cancelled, marked overdue or handed over (where the rules say so)."""
    version, schedule = lifecycle.upcoming(order, today)
    plan = {"version": version, "steps": [], "next": None, "milestones": []}
    if schedule is None:
        return plan
    plan["steps"] = list(schedule.steps)
    plan["next"] = schedule.steps[0] if schedule.steps else None
    for when, label in (
        (schedule.overdue_on, _("Overdue")),
        (schedule.cancellation_on, _("Cancellation")),
        (schedule.collection_on, _("Handover to collection")),
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
    trail = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.merchant_id == order.merchant_id, AuditEntry.order_id == order.id)
        .order_by(AuditEntry.id)
    ).all()
    letters = db.session.scalars(
        select(Letter).where(Letter.order_id == order.id).order_by(Letter.id.desc())
    ).all()
    context = {
        "order": order,
        "letters": letters,
        "invoice": invoices.invoice_of(order),
        "statement": order.statement,
        "ledger": entries.entries_of(order.id),
        "today": today,
        "plan": _upcoming(order, today),
        "held": lifecycle.held_because(order, today),
        "events": events,
        "messages": messages,
        "audit": trail,
        "bank_payments": inbox.payments_of(order.id),  # (assignment, transaction, import)
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


def _act(number: str, command, notice, form: dict | None = None, after=None):
    """Run a lifecycle command on the order (again on fresh data if it changed meanwhile);
    a refusal changes nothing and says why. `after(result)` runs once it is committed."""
    order = _own_order(number)
    cause = lifecycle.Cause(actor(), Source.MANUAL, today_for(merchant()))
    try:
        result = lifecycle.retrying(lambda: command(lifecycle.lock(order), cause))
    except lifecycle.Refused as exc:
        reason = reasons.refusal_text(exc)
        return _refused(order, _("Nothing was changed: %(reason)s.", reason=reason), form)
    if after is not None:
        after(result)
    db.session.refresh(order)
    return _done(order, notice(order, result) if callable(notice) else notice)


@bp.post("/orders/<number>/mark-paid")
def mark_paid(number: str):
    """A payment by hand: the amount (the open amount when left empty), the day it was paid
    (today when empty; not in the future) and a note."""
    amount_text = request.form.get("amount", "").strip()
    paid_on_text = request.form.get("paid_on", "").strip()
    note = request.form.get("note", "").strip()
    form = {"paid_amount": amount_text, "paid_on": paid_on_text, "paid_note": note}
    amount, problem = None, None
    if amount_text:
        try:
            amount = bank.parse_amount(amount_text)
        except ValueError as exc:
            problem = str(exc)
    paid_on = _day(paid_on_text)
    if not problem and paid_on_text and paid_on is None:
        problem = _("The payment date must be a date like 2026-12-31.")
    elif not problem and paid_on and paid_on > today_for(merchant()):
        problem = _("The payment date must not be in the future.")
    elif not problem and len(note) > MAX_REASON:
        problem = _("The note must be at most %(num)d characters.", num=MAX_REASON)
    if problem:
        return _refused(_own_order(number), problem, form)

    def command(order, cause):
        if order.statement.principal_open <= 0:
            raise lifecycle.Refused("paid_already")
        paid = amount or order.statement.principal_open
        return lifecycle.record_payment(
            order, paid, paid_on or cause.today, cause, note=note or notes.text("marked_paid")
        )[0]

    def notice(order, entry):
        filters = current_app.jinja_env.filters
        return _(
            "Recorded a payment of %(amount)s; the order is %(status)s.",
            amount=filters["money"](entry.amount, order.currency),
            status=filters["label"](order.status),
        )

    return _act(number, command, notice, form)


@bp.post("/orders/<number>/payments/<int:entry_id>/undo")
def undo_payment(number: str, entry_id: int):
    """Undo a payment marked by hand (booked by mistake): a reversal entry."""

    def command(order, cause):
        why = dataclasses.replace(cause, reason=notes.text("payment_undone"))
        return manual.undo_payment(order, entry_id, why)

    return _act(number, command, _("The payment is undone; the order is open again."))


@bp.post("/orders/<number>/cancel")
def cancel(number: str):
    reason = request.form.get("reason", "").strip()
    form = {"cancel_reason": reason}
    if len(reason) > MAX_REASON:
        return _refused(
            _own_order(number),
            _("The reason must be at most %(num)d characters.", num=MAX_REASON),
            form,
        )

    # How the customer hears of it (ledger.notices): the merchant's default when not sent.
    how = request.form.get("notice", merchant().cancellation_notice or "none").strip()
    form["cancel_notice"] = how
    if how not in notices.HOWS:
        problem = _("Choose how the customer is told: no, by email or by letter.")
        return _refused(_own_order(number), problem, form)

    def command(order, cause):
        why = reason or "cancelled in the portal"
        return manual.cancel(order, dataclasses.replace(cause, reason=why), how)

    def deliver(message):
        if message is not None:
            queueing.deliver_soon(message.id)

    notice = _("The order is cancelled; pending reminders were withdrawn and the shop is told.")
    if how == "email":
        notice += " " + _("The customer is told by email.")
    elif how == "letter":
        notice += " " + _("A cancellation letter waits for the next print run.")
    return _act(number, command, notice, form, after=deliver)


@bp.post("/orders/<number>/mark-overdue")
def mark_overdue(number: str):
    return _act(number, lifecycle.mark_overdue, _("The order is marked overdue."))


@bp.post("/orders/<number>/reactivate")
def reactivate(number: str):
    return _act(
        number,
        lifecycle.reactivate,
        _("The order is reactivated; the shop is told to deliver it."),
    )


@bp.post("/orders/<number>/refund-request")
def request_refund(number: str):
    return _act(
        number, lifecycle.request_refund, _("The credit is listed among the refunds to make.")
    )


@bp.post("/orders/<number>/refund")
def refund(number: str):
    """The refund to make was paid out: book it (the credit goes to zero)."""

    def command(order, cause):
        return lifecycle.refund(order, order.statement.credit, cause, reference="refund")

    return _act(number, command, _("The refund is booked."))


@bp.post("/orders/<number>/block")
def block(number: str):
    blocked = request.form.get("blocked") == "on"
    reason = request.form.get("reason", "").strip()
    form = {"block_reason": reason}
    if blocked:
        problem = None
        if not reason:
            problem = _("Please give a reason for the dunning block.")
        elif len(reason) > MAX_REASON:
            problem = _("The reason must be at most %(num)d characters.", num=MAX_REASON)
        until_text = request.form.get("until", "").strip()
        form["block_until"] = until_text
        until = _day(until_text)
        if not problem and until_text and until is None:
            problem = _("The end of the block must be a date like 2026-12-31.")
        elif not problem and until and until < today_for(merchant()):
            problem = _("The end of the block must not be in the past.")
        if problem:
            return _refused(_own_order(number), problem, form)
        return _act(
            number,
            lambda order, cause: manual.block(
                order, dataclasses.replace(cause, reason=reason), until
            ),
            _("Dunning is blocked."),
            form,
        )
    return _act(number, manual.unblock, _("The dunning block is lifted."))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.post("/orders/<number>/remind")
def remind(number: str):
    def command(order, cause):
        return manual.remind_now(order, cause.today, cause.actor)

    def deliver(message):
        queueing.deliver_soon(message.id)

    def notice(order, _message):
        return _("A reminder (level %(level)s) is on its way.", level=order.dunning_level)

    return _act(number, command, notice, after=deliver)


@bp.post("/orders/<number>/run")
def run_dunning(number: str):
    """The rules for this order now, as the daily run would decide today (the same code)."""
    order = _own_order(number)
    reason = lifecycle.why_not(order, lifecycle.Event.STEP)
    if reason:
        why = reasons.refusal_text(lifecycle.Refused(reason))
        return _refused(order, _("Nothing was changed: %(reason)s.", reason=why))
    run, summary = dunning.execute_order(merchant(), order.id, today_for(merchant()), actor())
    for message_id in outbox.pending_ids(run_id=run.id):
        queueing.deliver_soon(message_id)
    db.session.refresh(order)
    if summary.steps:
        notice = _("The rules' step due today was taken for this order.")
    else:
        notice = _("The rules have nothing due for this order today.")
    return _done(order, notice)


@bp.post("/orders/<number>/letters")
def send_letter(number: str):
    """Payment information or the shop's invoice by letter: into the next print run."""
    kind = request.form.get("kind", "")

    def command(order, cause):
        return print_runs.request_letter(order, kind, cause.actor)

    def deliver(message):
        queueing.deliver_soon(message.id)

    notice = _("The letter is made and waits for the next print run.")
    return _act(number, command, notice, after=deliver)


@bp.post("/orders/<number>/erase")
def erase(number: str):
    if request.form.get("confirm") != "yes":
        return _refused(
            _own_order(number), _("Tick the box to confirm the erasure; nothing was erased.")
        )
    return _act(
        number,
        lambda order, cause: manual.erase_personal_data(order, cause.actor, cause.today),
        _("The customer's personal data is erased; amounts and dates are kept."),
    )
