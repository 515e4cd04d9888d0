"""The order page's "Order data" card: edit email, amount, due date and address while the
order is open, accept a shop change kept aside, extra payer names and numbers for the bank
matcher. The rules are ledger/order_edits.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ledger import lifecycle, order_edits, orders
from ledger.clock import today_for
from ledger.db import db
from ledger.models import Order, Source
from portal import reasons
from portal.auth import require_login
from portal.orders import order_context
from portal.ui import actor, merchant, partial_request, render_page

bp = Blueprint("order_edits", __name__)
bp.before_request(require_login)

LABELS = {
    "customer_email": _l("Email"),
    "amount": _l("Amount"),
    "due_on": _l("Due date"),
    "postal_address": _l("Address"),
}
ERRORS = {
    ("customer_email", "invalid"): _l("Enter a valid email address."),
    ("amount", "invalid"): _l("Enter an amount above 0 with at most two decimals."),
    ("due_on", "invalid"): _l("Enter a date as YYYY-MM-DD."),
    ("due_on", "due_before_order"): _l("The due date must not be before the order day."),
    ("postal_address", "invalid"): _l("The address may have at most 500 characters."),
    ("form", "unchanged"): _l("Nothing was changed: every value is as before."),
    ("payer_names", "invalid"): _l("Each payer name may have at most 140 characters."),
    ("payer_names", "too_many"): _l("At most 10 payer names."),
    ("extra_references", "invalid"): _l("Each number may have at most 35 characters."),
    ("extra_references", "too_many"): _l("At most 10 numbers."),
    ("field", "no_shop_change"): _l("There is no shop change kept aside for this field."),
}


@bp.app_template_global("order_terms")
def order_terms(order: Order) -> dict | None:
    """The payment terms in force, for the page: {net, percent, days} (None: none)."""
    net, percent, days = order_edits.terms_of(order)
    if net is None and not percent:
        return None
    shown = format_decimal(percent.normalize()) if percent else None
    return {"net": net, "percent": shown, "days": days}


@bp.app_template_global("order_field_label")
def order_field_label(field: str) -> str:
    return str(LABELS.get(field, field))


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    return order


def _page(order: Order, status: int = 200, **extra):
    return render_page(
        "orders/detail.html", "order", status=status, **order_context(order, **extra)
    )


def _run(order: Order, unit, notice: str, errors_key: str, form: dict):
    """Run the ledger's command; a refusal stores nothing and shows why under its field."""
    cause = lifecycle.Cause(actor(), Source.MANUAL, today_for(merchant()))
    try:
        lifecycle.retrying(lambda: unit(cause))
    except order_edits.EditRefused as exc:
        db.session.rollback()
        errors = {f: str(ERRORS.get((f, code), code)) for f, code in exc.errors.items()}
        return _page(order, 422, **{errors_key: errors, errors_key + "_form": form})
    except lifecycle.Refused as exc:
        db.session.rollback()
        reason = _("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc))
        return _page(order, 422, error=reason, **{errors_key + "_form": form})
    db.session.refresh(order)
    if partial_request():
        return _page(order, notice=notice)
    flash(notice, "notice")
    return redirect(url_for("orders.detail", number=order.number))


def _amount_text(text: str) -> str:
    text = (text or "").strip().replace(" ", "")
    if "," in text:  # German: 1.234,56
        text = text.replace(".", "").replace(",", ".")
    return text


@bp.post("/orders/<number>/edit")
def edit(number: str):
    order = _own_order(number)
    form = {field: request.form.get(field, "").strip() for field in order_edits.EDITABLE}
    form["postal_address"] = request.form.get("postal_address", "").strip().replace("\r\n", "\n")
    values_form = dict(form, amount=_amount_text(form["amount"]))

    def unit(cause):
        values = order_edits.parse_edit(values_form)
        return order_edits.edit_order(order, values, cause)

    notice = _("The order data is saved; the shop's later changes of these fields are kept aside.")
    return _run(order, unit, notice, "edit_errors", form)


@bp.post("/orders/<number>/shop-changes/<field>/accept")
def accept(number: str, field: str):
    order = _own_order(number)
    if field not in order_edits.EDITABLE:
        abort(404)

    def unit(cause):
        return order_edits.accept_shop_change(order, field, cause)

    notice = _("The shop's change is applied; the field follows the shop again.")
    return _run(order, unit, notice, "edit_errors", {})


@bp.post("/orders/<number>/payment-info")
def payment_info(number: str):
    order = _own_order(number)
    form = {
        "payer_names": request.form.get("payer_names", ""),
        "extra_references": request.form.get("extra_references", ""),
    }

    def unit(cause):
        names, refs = order_edits.parse_payment_info(form["payer_names"], form["extra_references"])
        return order_edits.set_payment_info(order, names, refs, cause)

    notice = _("The additional payment information is saved; the bank matching uses it.")
    return _run(order, unit, notice, "info_errors", form)
