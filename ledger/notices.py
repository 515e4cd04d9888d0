"""Notices to the customer beside the dunning: the cancellation notice (by email or letter),
the optional "payment received" confirmation, and payment information sent again on request.

Each is an outbox message written in the caller's transaction; the worker's last look
(lifecycle.may_message) keeps a cancellation notice from an order no longer cancelled, and a
request for money from an order paid or cancelled meanwhile."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger import audit, lifecycle, messages, order_messages, outbox
from ledger.db import db
from ledger.documents import locales, print_runs
from ledger.models import Merchant, Order, OutboxMessage
from ledger.money import format_money
from ledger.refusals import Refusal

# How a cancellation reaches the customer (Merchant.cancellation_notice is the default).
HOWS = ("none", "email", "letter")

CANCELLATION_SUBJECTS = {
    "de": "Stornierung Ihrer Bestellung {number}",
    "en": "Cancellation of your order {number}",
    "fr": "Annulation de votre commande {number}",
    "it": "Annullamento dell'ordine {number}",
}
PAYMENT_RECEIVED_SUBJECTS = {
    "de": "Zahlungseingang zu Ihrer Bestellung {number}",
    "en": "Payment received for your order {number}",
    "fr": "Paiement reçu pour votre commande {number}",
    "it": "Pagamento ricevuto per l'ordine {number}",
}


def _merchant(order: Order) -> Merchant:
    return order.merchant or db.session.get(Merchant, order.merchant_id)


def may_email(order: Order) -> bool:
    """Whether the order has somebody to email (an address, not erased)."""
    return bool((order.customer_email or "").strip()) and order.erased_at is None


def may_post(order: Order) -> bool:
    """Whether the order has a postal address for a letter (not erased)."""
    return bool((order.postal_address or "").strip()) and order.erased_at is None


# --- the cancellation notice ---------------------------------------------------------------


def cancellation_choices(order: Order) -> dict[str, Refusal | None]:
    """For the cancel form: each way to tell the customer → why it is not possible, or None."""
    return {
        "none": None,
        "email": None if may_email(order) else Refusal("no_customer_email"),
        "letter": None if may_post(order) else Refusal("no_postal_address"),
    }


def send_cancellation_notice(order: Order, how: str, actor: str) -> OutboxMessage | None:
    """Tell the customer the order is cancelled: `how` "none" (nothing, None), "email" (an
    outbox email, purpose "cancellation") or "letter" (a cancellation letter for the next
    print run). Call it after lifecycle.cancel, in the same transaction; refused
    (lifecycle.Refused, nothing written) for an order not cancelled, without an email address
    or postal address for the way asked for. Audited "order.cancellation_notice"."""
    if how not in HOWS:
        raise lifecycle.Refused("unknown_choice", choice=how)
    if how == "none":
        return None
    if reason := lifecycle.may_message(order, "cancellation"):
        raise lifecycle.Refused(reason)
    if how == "letter":
        message = print_runs.cancellation_letter(order)
    else:
        if not may_email(order):
            raise lifecycle.Refused("no_customer_email")
        mail = cancellation_mail(order, _merchant(order))
        message = outbox.add_customer_mail(order, "cancellation", mail)
        db.session.flush()
    audit.record(
        order.merchant_id, actor, "order.cancellation_notice", order.id, how=how,
        message=message.id,
    )  # fmt: skip
    return message


def cancellation_mail(order: Order, merchant: Merchant) -> messages.Mail:
    """templates/mail/cancellation.<lang>.jinja as the order stands now."""
    locale = locales.locale_for(order)
    lang = messages._lang(locales.language_of(locale))
    subject = CANCELLATION_SUBJECTS[lang].format(number=order.number)
    return _render(
        "cancellation",
        order,
        merchant,
        subject,
        locale,
        amount=format_money(order.statement.principal, order.currency, locale),
        ordered_on=messages.format_day(order.ordered_on, lang),
        cancelled_on=messages.format_day(order.cancelled_on, lang) if order.cancelled_on else None,
    )


# --- payment received ------------------------------------------------------------------------


def wants_payment_received(order: Order) -> bool:
    """Whether a payment that settles the order gets the customer a confirmation: the
    merchant's setting is on, there is an email address, the data is not erased and the
    customer did not unsubscribe. Reads nothing from the database (the bank import asks it
    for thousands of orders)."""
    return (
        _merchant(order).payment_received_mail
        and may_email(order)
        and order_messages.wanted(order, "payment_received")
    )


def payment_received(order: Order, amount: Decimal, paid_on: date) -> OutboxMessage | None:
    """The confirmation of a payment that settled the order (lifecycle.record_payment calls
    it, once per order paid, also for the bank import's batch), or None when not wanted. The
    outbox sweep delivers it, as the webhooks the same commands queue."""
    if not wants_payment_received(order):
        return None
    merchant = _merchant(order)
    locale = locales.locale_for(order)
    lang = messages._lang(locales.language_of(locale))
    subject = PAYMENT_RECEIVED_SUBJECTS[lang].format(number=order.number)
    mail = _render(
        "payment_received",
        order,
        merchant,
        subject,
        locale,
        paid=format_money(amount, order.currency, locale),
        paid_on=messages.format_day(paid_on, lang),
    )
    return outbox.add_customer_mail(order, "payment_received", mail, manual=False)


# --- payment information on request -----------------------------------------------------------


def why_not_payment_info(order: Order) -> Refusal | None:
    """Why the payment information cannot be emailed now, or None."""
    if reason := lifecycle.may_message(order, "payment_info"):
        return reason
    if not may_email(order):
        return Refusal("no_customer_email")
    return None


def send_payment_info(order: Order, actor: str) -> OutboxMessage:
    """The order's payment information emailed again now (the order page's button), whatever
    the merchant's payment_info_on_change says: an open order with an email address, not
    erased; else refused. Audited "order.payment_info_resent"."""
    from ledger import order_edits

    if reason := why_not_payment_info(order):
        raise lifecycle.Refused(reason)
    db.session.flush()  # the statement reads the order's entries as they are now
    mail = order_edits.payment_info_mail(order, _merchant(order))
    message = outbox.add_customer_mail(order, "payment_info", mail)
    db.session.flush()
    audit.record(
        order.merchant_id, actor, "order.payment_info_resent", order.id, message=message.id
    )
    return message


# --- rendering -------------------------------------------------------------------------------


def _render(
    name: str, order: Order, merchant: Merchant, subject: str, locale: str, **extra
) -> messages.Mail:
    """templates/mail/<name>.<lang>.jinja as text and HTML (ledger.messages' pieces); Swiss
    German without ß."""
    lang = messages._lang(locales.language_of(locale))
    inline: dict[str, object] = {"logo": True} if merchant.logo else {}
    context = {
        "subject": subject,
        "locale": locale,
        "order": order,
        "merchant": merchant,
        "footer": messages.footer(merchant),
        "logo": "logo" in inline,
        "qr": False,
        **extra,
    }
    return messages.render_mail(name, lang, locale, subject, context, inline)
