"""The words of every message, composed when the decision is made and stored in the outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import render_template

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


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "de"


def format_day(day: date, language: str) -> str:
    return day.strftime("%m/%d/%Y" if language == "en" else "%d.%m.%Y")


def reminder(order: Order, merchant: Merchant, level: int, fee: Decimal | None) -> tuple[str, str]:
    lang = _lang(order.language)
    first, later = REMINDER_SUBJECTS[lang]
    subject = (first if level <= 1 else later).format(number=order.number, level=level)
    body = render_template(
        f"mail/reminder.{lang}.txt",
        order=order,
        merchant=merchant,
        level=level,
        fee=format_money(fee, order.currency, lang) if fee else None,
        amount=format_money(order.amount, order.currency, lang),
        open_amount=format_money(order.open_amount, order.currency, lang),
        ordered_on=format_day(order.ordered_on, lang),
        due_on=format_day(order.due_on, lang),
    )
    return subject, body


def digest(merchant: Merchant, day: date, rows: list[dict]) -> tuple[str, str]:
    """rows: number, customer, amount, days_unpaid, what (the actions the step took)."""
    lang = _lang(merchant.language)
    subject = DIGEST_SUBJECTS[lang].format(count=len(rows), day=format_day(day, lang))
    body = render_template(
        f"mail/digest.{lang}.txt", merchant=merchant, day=format_day(day, lang), rows=rows
    )
    return subject, body
