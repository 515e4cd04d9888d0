"""The order page's Messages: resend a message, send a reminder mail as a letter, unsubscribe
the customer from optional notifications (ledger/order_messages.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ledger import lifecycle, notices, order_messages, orders, queueing
from ledger.db import db
from ledger.models import Order
from portal import reasons
from portal.auth import require_login
from portal.orders import order_context
from portal.ui import actor, partial_request, render_page

bp = Blueprint("messages", __name__)
bp.before_request(require_login)
bp.add_app_template_global(order_messages.of_order, "order_messages")
bp.add_app_template_global(order_messages.may_resend, "may_resend")
bp.add_app_template_global(order_messages.may_send_as_letter, "may_send_as_letter")
bp.add_app_template_global(order_messages.may_unsubscribe, "may_unsubscribe")


@bp.app_template_global("cancellation_choices")
def cancellation_choices(order: Order) -> dict[str, str | None]:
    """The cancel form's ways to tell the customer → why not (translated), or None."""
    return {
        how: reasons.refusal_text(why) if why else None
        for how, why in notices.cancellation_choices(order).items()
    }


@bp.app_template_global("payment_letter_refusal")
def payment_letter_refusal(order: Order) -> str | None:
    """Why no letter asking for money (payment slip, invoice) can be sent now, or None."""
    why = lifecycle.may_message(order, "payment_info")
    return reasons.refusal_text(why) if why else None


@bp.app_template_global("payment_info_refusal")
def payment_info_refusal(order: Order) -> str | None:
    """Why the payment information cannot be emailed now (translated), or None."""
    why = notices.why_not_payment_info(order)
    return reasons.refusal_text(why) if why else None


REFUSALS = {
    "no_message": _l("That is not a message of this order."),
    "not_resendable": _l("This message cannot be sent again (still waiting, or purged)."),
    "no_postal_address": _l("The order has no postal address for a letter."),
    "not_a_reminder": _l("Only a reminder can be sent as a letter."),
    "unsubscribed_already": _l("The customer is unsubscribed already."),
}


def _own_order(number: str) -> Order:
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    return order


def _answer(order: Order, notice: str | None = None, error: str | None = None):
    if error:
        db.session.rollback()
        db.session.refresh(order)
        error = _("Nothing was changed: %(reason)s", reason=error)
        return render_page(
            "orders/detail.html", "order", status=422, **order_context(order, error=error)
        )
    db.session.commit()
    db.session.refresh(order)
    if partial_request():
        return render_page("orders/detail.html", "order", **order_context(order, notice=notice))
    flash(notice, "notice")
    return redirect(url_for("orders.detail", number=order.number))


def _do(number: str, command, notice: str):
    order = _own_order(number)
    try:
        command(order)
    except order_messages.MessageRefused as exc:
        return _answer(order, error=str(REFUSALS[exc.code]))
    return _answer(order, notice=notice)


@bp.post("/orders/<number>/messages/<int:message_id>/resend")
def resend(number: str, message_id: int):
    return _do(
        number,
        lambda order: order_messages.resend(order, message_id, actor()),
        _("The message goes out again."),
    )


@bp.post("/orders/<number>/messages/<int:message_id>/letter")
def send_as_letter(number: str, message_id: int):
    return _do(
        number,
        lambda order: order_messages.send_as_letter(order, message_id, actor()),
        _("The reminder goes out as a letter with the next print run."),
    )


@bp.post("/orders/<number>/unsubscribe")
def unsubscribe(number: str):
    return _do(
        number,
        lambda order: order_messages.unsubscribe(order, actor()),
        _("The customer gets no optional notifications for this order any more."),
    )


@bp.post("/orders/<number>/payment-info/send")
def send_payment_info(number: str):
    """The order's payment information emailed again now (ledger.notices.send_payment_info)."""
    order = _own_order(number)
    try:
        message = notices.send_payment_info(order, actor())
    except lifecycle.Refused as exc:
        return _answer(order, error=reasons.refusal_text(exc))
    response = _answer(order, notice=_("The payment information goes out by email again."))
    queueing.deliver_soon(message.id)
    return response
