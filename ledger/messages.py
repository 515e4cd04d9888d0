"""The words of every message, composed when the decision is made and stored in the outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import render_template

from ledger.bank import accounts as bank_accounts
from ledger.bank import references
from ledger.models import LANGUAGES, Merchant, Order
from ledger.money import format_money

REMINDER_SUBJECTS = {
    "de": (
        "Zahlungserinnerung zu Ihrer Bestellung {number}",
        "{level}. Mahnung zu Bestellung {number}",
    ),
    "en": ("Payment reminder for your order {number}", "Reminder no. {level} for order {number}"),
    "fr": (
        "Rappel de paiement pour votre commande {number}",
        "{level}e rappel pour la commande {number}",
    ),
    "it": (
        "Promemoria di pagamento per l'ordine {number}",
        "{level}° sollecito per l'ordine {number}",
    ),
}
DIGEST_SUBJECTS = {
    "de": "Mahnwerk: {count} Bestellung(en) aus dem Mahnlauf vom {day}",
    "en": "Mahnwerk: {count} order(s) from the dunning run of {day}",
    "fr": "Mahnwerk : {count} commande(s) du traitement des relances du {day}",
    "it": "Mahnwerk: {count} ordine/i dal sollecito del {day}",
}


# What the digest's "what" column says a step did, in the merchant's language (the rules'
# own English words are rules.actions.SPECS[kind].done).
DONE_WORDS = {
    "de": {
        "remind": "erinnert",
        "cancel": "storniert",
        "mark_overdue": "als überfällig markiert",
        "notify": "benachrichtigt",
        "release_reservation": "Reservierung freigegeben",
        "hand_over_to_collection": "an das Inkasso übergeben",
        "charge_interest": "Zinsen berechnet",
        "send_webhook": "Webhook gesendet",
        "paid_after_cancellation": (
            "nach der Stornierung bezahlt: Bestellung reaktivieren oder Zahlung erstatten"
        ),
    },
    "en": {
        "remind": "reminded",
        "cancel": "cancelled",
        "mark_overdue": "marked overdue",
        "notify": "notified",
        "release_reservation": "reservation released",
        "hand_over_to_collection": "handed over to collection",
        "charge_interest": "interest charged",
        "send_webhook": "webhook sent",
        "paid_after_cancellation": (
            "paid after cancellation: reactivate the order or refund the payment"
        ),
    },
    "fr": {
        "remind": "relancé",
        "cancel": "annulé",
        "mark_overdue": "marqué en retard",
        "notify": "notifié",
        "release_reservation": "réservation libérée",
        "hand_over_to_collection": "transmis au recouvrement",
        "charge_interest": "intérêts facturés",
        "send_webhook": "webhook envoyé",
        "paid_after_cancellation": (
            "payé après l'annulation : réactiver la commande ou rembourser le paiement"
        ),
    },
    "it": {
        "remind": "sollecitato",
        "cancel": "annullato",
        "mark_overdue": "segnato come scaduto",
        "notify": "notificato",
        "release_reservation": "prenotazione liberata",
        "hand_over_to_collection": "affidato al recupero crediti",
        "charge_interest": "interessi addebitati",
        "send_webhook": "webhook inviato",
        "paid_after_cancellation": (
            "pagato dopo l'annullamento: riattivare l'ordine o rimborsare il pagamento"
        ),
    },
}


def done_word(kind: str, language: str | None) -> str:
    """The digest's word for what a step (or a payment after cancellation) did."""
    return DONE_WORDS[_lang(language)][kind]


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "de"


def format_day(day: date, language: str) -> str:
    return day.strftime("%m/%d/%Y" if language == "en" else "%d.%m.%Y")


def amounts(order: Order, language: str) -> dict[str, str | None]:
    """The order's money itemised from its ledger, formatted (None for a zero line): the same
    figures the order page and the API show."""
    statement = order.statement

    def show(value: Decimal, always: bool = False) -> str | None:
        return format_money(value, order.currency, language) if value or always else None

    return {
        "principal": show(statement.principal, always=True),
        "fees": show(statement.fees),
        "interest": show(statement.interest),
        "paid": show(statement.paid),
        "open": show(statement.open, always=True),
    }


def payment_details(order: Order) -> dict | None:
    """Where and how the customer pays: the account for the order's currency and country, and
    the structured reference a payment is matched by (a QR-IBAN with a QR reference for Swiss
    QR-bills, else the IBAN with the RF creditor reference)."""
    account = bank_accounts.for_order(order)
    if account is None:
        return None
    reference = order.payment_reference
    qr = bool(reference and reference.isdigit() and account.qr_iban)
    return {
        "holder": account.holder,
        "iban": format_iban(account.qr_iban if qr else account.iban),
        "bic": account.bic,
        "bank_name": account.bank_name,
        "reference": (
            references.format_qr_reference(reference)
            if qr
            else references.format_creditor_reference(reference)
            if reference
            else order.number
        ),
    }


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def reminder(
    order: Order, merchant: Merchant, level: int, fee: Decimal | None, reminded_before: bool
) -> tuple[str, str]:
    """A reminder of `level` as the order stands now. Its words follow the order's real
    history: "despite our reminder" only when an earlier reminder went out."""
    lang = _lang(order.language)
    first, later = REMINDER_SUBJECTS[lang]
    subject = (later if reminded_before and level > 1 else first).format(
        number=order.number, level=level
    )
    body = render_template(
        f"mail/reminder.{lang}.txt",
        order=order,
        merchant=merchant,
        payment=payment_details(order),
        level=level,
        reminded_before=reminded_before,
        fee=format_money(fee, order.currency, lang) if fee else None,
        amounts=amounts(order, lang),
        ordered_on=format_day(order.ordered_on, lang),
        due_on=format_day(order.due_on, lang),
    )
    return subject, body


def digest(
    merchant: Merchant, day: date, rows: list[dict], total: int | None = None
) -> tuple[str, str]:
    """rows: number, customer, amount, days_unpaid, what (the actions the step took). With
    `total` above len(rows), the body lists these and says the attachment has all `total`."""
    lang = _lang(merchant.language)
    total = len(rows) if total is None else total
    subject = DIGEST_SUBJECTS[lang].format(count=total, day=format_day(day, lang))
    body = render_template(
        f"mail/digest.{lang}.txt",
        merchant=merchant,
        day=format_day(day, lang),
        rows=rows,
        total=total,
    )
    return subject, body
