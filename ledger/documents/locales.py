"""The locale of an order's documents (de, de-AT, de-CH, en, fr, it), and how each writes money
(ledger.money.format_money, the one home of that rule) and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.messages import format_day
from ledger.money import format_money

LOCALES = ("de", "de-AT", "de-CH", "en", "fr", "it")
SWISS_COUNTRIES = ("CH", "LI")


def locale_for(order) -> str:
    """The order's language with its country: German for Austria is "de-AT", for Switzerland
    and Liechtenstein "de-CH"; French, Italian and English stay as they are (unknown: "de")."""
    language = (order.language or "de").lower()
    if language == "de":
        country = (order.country or "").upper()
        if country == "AT":
            return "de-AT"
        if country in SWISS_COUNTRIES:
            return "de-CH"
        return "de"
    return language if language in LOCALES else "de"


def language_of(locale: str) -> str:
    """The two-letter language of a locale ("de-CH" → "de")."""
    return locale.split("-")[0]


def money(amount: Decimal, currency: str, locale: str) -> str:
    return format_money(amount, currency, locale)


def day(value: date, locale: str) -> str:
    """01.12.2026 in German, French and Italian; English as the reminder emails write it."""
    return format_day(value, language_of(locale))


def swiss(text: str) -> str:
    """Swiss spelling: no sharp s (Strasse, Grüsse)."""
    return text.replace("ß", "ss").replace("ẞ", "SS")
