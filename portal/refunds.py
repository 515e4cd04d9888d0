"""Refunds: the order page's refund form and list, the Refunds page (select open refunds,
export them as one SEPA credit transfer file, download earlier files). The refunds' life is
ledger/refunds.py."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledger import lifecycle, orders, refunds, refusals
from ledger.db import db
from ledger.models import Order, Refund, RefundState
from portal import reasons
from portal.auth import require_login
from portal.orders import order_context
from portal.ui import actor, clean_url, page_number, paginate, partial_request, render_page

bp = Blueprint("refunds", __name__)
bp.before_request(require_login)
bp.add_app_template_global(refunds.of_order, "order_refunds")
bp.add_app_template_global(refunds.most, "refund_most")
bp.add_app_template_global(refunds.default_remittance, "refund_remittance")

STATES = [state.value for state in RefundState]
FIELDS = ("amount", "payee", "iban", "bic", "remittance")
MAX_REASON = 500


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    return order


def _own_refund(refund_id: int) -> Refund:
    refund = refunds.own_refund(current_user.merchant_id, refund_id)
    if refund is None:
        abort(404, _("There is no such refund."))
    return refund


def _amount(text: str) -> Decimal | None:
    text = (text or "").strip().replace(" ", "")
    if "," in text:  # German: 1.234,56
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value == value.quantize(Decimal("0.01")) else None


def _order_page(order: Order, status: int = 200, **extra):
    return render_page(
        "orders/detail.html", "order", status=status, **order_context(order, **extra)
    )


@bp.post("/orders/<number>/refunds")
def create(number: str):
    """The order page's refund form: book the refund and keep the payout for the SEPA file."""
    order = _own_order(number)
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    amount = _amount(form["amount"])
    try:
        if amount is None:
            raise refunds.RefundRefused("refund_amount", field="amount", credit=refunds.most(order))
        refund = lifecycle.retrying(
            lambda: refunds.create_refund(
                order,
                amount,
                form["payee"],
                form["iban"],
                form["bic"],
                form["remittance"],
                actor(),
            )
        )
    except refusals.Refused as exc:
        db.session.rollback()
        field = getattr(exc, "field", None) or "amount"
        errors = {field: reasons.refusal_text(exc)}
        return _order_page(order, 422, refund_errors=errors, refund_form=form)
    db.session.refresh(order)
    if refund.state == RefundState.AWAITING_DETAILS:
        notice = _("The refund is booked; it waits for the customer's bank details.")
    else:
        notice = _("The refund is booked; export it on the Refunds page as a SEPA file.")
    if partial_request():
        return _order_page(order, notice=notice)
    flash(notice, "notice")
    return redirect(url_for("orders.detail", number=order.number))


@bp.post("/refunds/<int:refund_id>/cancel")
def cancel(refund_id: int):
    """Cancel a refund not exported yet: the credit is back on the order."""
    refund = _own_refund(refund_id)
    order = refund.order
    back = request.form.get("back", "")
    reason = request.form.get("reason", "").strip()[:MAX_REASON] or None
    try:
        lifecycle.retrying(lambda: refunds.cancel_refund(refund, actor(), reason))
        problem = None
    except refusals.Refused as exc:
        db.session.rollback()
        problem = _("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc))
    notice = _("The refund is cancelled; the credit is back on the order.")
    if back == "order":
        db.session.refresh(order)
        if partial_request():
            if problem:
                return _order_page(order, 422, error=problem)
            return _order_page(order, notice=notice)
        flash(problem or notice, "error" if problem else "notice")
        return redirect(url_for("orders.detail", number=order.number))
    flash(problem or notice, "error" if problem else "notice")
    return redirect(url_for("refunds.refund_list"))


def _list_context(state: str, errors: list[str], export_error: str | None = None) -> dict:
    conditions = [Refund.merchant_id == current_user.merchant_id]
    if state:
        conditions.append(Refund.state == state)
    query = (
        select(Refund)
        .where(*conditions)
        .options(selectinload(Refund.order))
        .order_by(Refund.id.desc())
    )
    matching = select(Refund.id).where(*conditions)
    return {
        "page": paginate(db.session, query, matching, page_number()),
        "filters": {"state": state},
        "errors": errors,
        "states": STATES,
        "versions": refunds.VERSIONS,
        "exports": refunds.exports_of(current_user.merchant_id),
        "export_error": export_error,
    }


@bp.get("/refunds")
def refund_list():
    errors = []
    state = request.args.get("state", "").strip()
    if state and state not in STATES:
        errors.append(_("Unknown state %(state)s; showing all states.", state=repr(state)))
        state = ""
    response = render_page("refunds/list.html", "results", **_list_context(state, errors))
    if partial_request():
        response.headers["HX-Push-Url"] = clean_url(
            "refunds.refund_list", page_number(), {"state": state}
        )
    return response


def _xml(record) -> object:
    response = send_file(
        io.BytesIO(record.xml),
        mimetype="application/xml",
        as_attachment=True,
        download_name=f"refunds-{record.id}-{record.pain_version}.xml",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/refunds/export")
def export():
    """Export the selected open refunds as one SEPA file: it is downloaded at once and kept."""
    try:
        ids = [int(value) for value in request.form.getlist("refund")]
    except ValueError:
        ids = []
    try:
        if not ids:
            raise refunds.RefundRefused("refund_none")
        record = refunds.export(
            current_user.merchant, ids, actor(), request.form.get("version", "")
        )
        db.session.commit()
    except refusals.Refused as exc:
        db.session.rollback()
        problem = _("Nothing was exported: %(reason)s.", reason=reasons.refusal_text(exc))
        return render_page(
            "refunds/list.html", "results", status=422, **_list_context("", [], problem)
        )
    return _xml(record)


@bp.get("/refunds/exports/<int:export_id>.xml")
def export_xml(export_id: int):
    record = refunds.own_export(current_user.merchant_id, export_id)
    if record is None:
        abort(404, _("There is no such export."))
    return _xml(record)
