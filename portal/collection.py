"""The order page's debt collection: hand the order over to the collection partner, the case's
details (its itemised amounts and the partner's reports), and recall it. The cases' life is
ledger/collection.py; the partner reports through the API (portal/api.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ledger import collection, lifecycle, orders, refusals
from ledger.clock import today_for
from ledger.db import db
from ledger.models import Order, Source
from portal import reasons
from portal.auth import require_login
from portal.orders import order_context
from portal.ui import actor, merchant, partial_request, render_page

bp = Blueprint("collection", __name__)
bp.before_request(require_login)
bp.add_app_template_global(collection.latest_case, "collection_case")
bp.add_app_template_global(collection.is_open, "collection_open")
bp.add_app_template_global(collection.partner_of, "collection_partner")


@bp.app_template_global("collection_recallable")
def recallable(order: Order) -> bool:
    return collection.why_not_recall(order) is None


def history(case) -> list[tuple]:
    """The case's updates with their details as values (amounts, days) for the page."""
    rows = []
    for update in case.updates:
        detail = dict(update.detail or {})
        for key in ("amount", "fees"):
            if detail.get(key):
                detail[key] = Decimal(detail[key])
        if detail.get("paid_on"):
            detail["paid_on"] = date.fromisoformat(detail["paid_on"])
        rows.append((update, detail))
    return rows


MAX_REASON = 500


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    return order


def _order_page(order: Order, status: int = 200, **extra):
    return render_page(
        "orders/detail.html", "order", status=status, **order_context(order, **extra)
    )


def _refused(order: Order, field: str, message: str, form: dict):
    """Nothing was changed: the reason under the field, what was typed kept, 422."""
    db.session.rollback()
    return _order_page(order, 422, collection_errors={field: message}, collection_form=form)


def _not_now(order: Order, exc: refusals.Refused, field: str, form: dict):
    """The ledger refused: a missing partner under its field; the order's state (the form
    may be gone with it) above the page, as the order's other actions say it."""
    if exc.code == "no_collection_partner":
        return _refused(order, field, reasons.refusal_text(exc), form)
    db.session.rollback()
    error = _("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc))
    return _order_page(order, 422, error=error, collection_form=form)


def _done(order: Order, notice: str):
    db.session.refresh(order)
    if partial_request():
        return _order_page(order, notice=notice)
    flash(notice, "notice")
    return redirect(url_for("orders.detail", number=order.number))


def _cause(reason: str | None = None) -> lifecycle.Cause:
    return lifecycle.Cause(actor(), Source.MANUAL, today_for(merchant()), reason=reason)


@bp.post("/orders/<number>/collection/hand-over")
def hand_over(number: str):
    """Hand the order over to the collection partner (the settings' partner, preset)."""
    order = _own_order(number)
    partner = " ".join(request.form.get("partner", "").split())
    form = {"partner": partner}
    if len(partner) > collection.PARTNER_MAX:
        message = _("At most %(limit)s characters, please.", limit=collection.PARTNER_MAX)
        return _refused(order, "partner", message, form)
    try:
        case = lifecycle.retrying(
            lambda: collection.hand_over(order, _cause(), partner=partner or None)
        )
    except refusals.Refused as exc:
        return _not_now(order, exc, "partner", form)
    notice = _(
        "Handed over to %(partner)s (file number %(number)s); the partner is told.",
        partner=case.partner,
        number=case.file_number,
    )
    return _done(order, notice)


@bp.post("/orders/<number>/collection/recall")
def recall(number: str):
    """Take the case back from the partner: the order goes back into dunning."""
    order = _own_order(number)
    reason = request.form.get("reason", "").strip()
    form = {"reason": reason}
    if not reason:
        return _refused(order, "reason", _("Please give a reason for the recall."), form)
    if len(reason) > MAX_REASON:
        message = _("The reason must be at most %(num)d characters.", num=MAX_REASON)
        return _refused(order, "reason", message, form)
    try:
        lifecycle.retrying(lambda: collection.recall(order, _cause(reason)))
    except refusals.Refused as exc:
        return _not_now(order, exc, "reason", form)
    return _done(order, _("The case is recalled; the order is back in dunning."))


@bp.get("/orders/<number>/collection")
def details(number: str):
    """The case's details: what was handed over, itemised, and every report of the partner
    (htmx asks for the details block, into the order page's details element)."""
    order = _own_order(number)
    cases = collection.cases_of(order)
    if not cases:
        abort(404, _("Order %(number)s has no collection case.", number=order.number))
    return render_page(
        "orders/collection.html", "details", order=order, cases=cases, history=history
    )
