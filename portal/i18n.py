"""The portal's languages and formats: German first, English second (Flask-Babel).

A user's language is the one they picked (`User.language`), else the best of the browser's
`Accept-Language`, else German. Times are shown in the merchant's time zone (never UTC on a
page), dates and money in the user's locale; Swiss francs in the Swiss way. Message ids are
English; the German catalog is translations/de/LC_MESSAGES/messages.po (`make i18n-update`
after adding strings, compiled by the set-up, never committed as a binary).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask, request
from flask_babel import Babel, get_locale, get_timezone
from flask_login import current_user

LANGUAGES = ["de", "en"]
DEFAULT_LANGUAGE = "de"
DEFAULT_TIMEZONE = "Europe/Berlin"

babel = Babel()


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_timezone() -> str:
    if current_user and current_user.is_authenticated:
        return current_user.merchant.timezone or DEFAULT_TIMEZONE
    return DEFAULT_TIMEZONE


def _local(value: datetime) -> datetime:
    """A stored time (naive UTC) in the merchant's time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(get_timezone())


def day(value: date | datetime | None) -> str:
    """30.11.2026 (de) / Nov 30, 2026 (en); a time with its date in the merchant's zone:
    30.11.2026, 14:05."""
    if value is None:
        return "—"
    locale = get_locale()
    if isinstance(value, datetime):
        local = _local(value)
        when = format_time(local, "short", locale=locale)
        return f"{format_date(local, 'medium', locale=locale)}, {when}"
    return format_date(value, "medium", locale=locale)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in words: "vor 3 Minuten" / "3 minutes ago"."""
    if value is None:
        return "—"
    now = now or datetime.now(UTC)
    value, now = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (value, now))
    return format_timedelta(value - now, add_direction=True, threshold=1.0, locale=get_locale())


def money(amount: Decimal | None, currency: str = "EUR") -> str:
    """1.234,50 € (de) / €1,234.50 (en); francs as the Swiss write them: CHF 1'234.50."""
    if amount is None:
        return "—"
    locale = str(get_locale() or DEFAULT_LANGUAGE)
    if currency == "CHF":
        locale = f"{locale.split('_')[0]}_CH"
    return format_currency(amount, currency, locale=locale)


def number(value: int | float | Decimal | None) -> str:
    """A count: 1.000.000 (de) / 1,000,000 (en)."""
    return "—" if value is None else format_decimal(value, locale=get_locale())


def percent(value: float | None) -> str:
    """A share as a percentage: 12,5 % (de) / 12.5% (en); None (nothing to divide) as —."""
    if value is None:
        return "—"
    return format_percent(round(value, 3), locale=get_locale(), decimal_quantization=False)


def month(value: date) -> str:
    """A month: Nov. 2026 (de) / Nov 2026 (en)."""
    return format_date(value, "MMM y", locale=get_locale())


def register(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.add_template_filter(day, "day")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(money, "money")
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(month, "month")
    app.add_template_global(get_locale, "current_locale")


__all__ = ["LANGUAGES", "ago", "babel", "day", "money", "month", "number", "percent", "register"]
