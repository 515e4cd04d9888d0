"""What day it is, for a merchant. Injectable: MAHNWERK_TODAY pins it for demos and tests."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_TIMEZONE = "Europe/Berlin"


def now_in(timezone: str | None) -> datetime:
    return datetime.now(ZoneInfo(timezone or DEFAULT_TIMEZONE))


def today_for(merchant=None) -> date:
    """The merchant's today (without a merchant: the default time zone's)."""
    pinned = current_app.config.get("MAHNWERK_TODAY")
    if pinned:
        return date.fromisoformat(pinned)
    return now_in(merchant.timezone if merchant else None).date()
