"""Business days: Monday to Friday except the public holidays of the billing country (and of its
state or canton when the order names one). Holiday sets are cached per (country, region, year);
a country `holidays` does not know counts weekends only."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=1024)
def holiday_dates(country: str, region: str | None, year: int) -> frozenset[date]:
    country = (country or "").upper()
    try:
        found = holidays.country_holidays(country, subdiv=region or None, years=year)
    except NotImplementedError:
        # An unknown region of a known country: the country's own holidays.
        # An unknown country: weekends only.
        return holiday_dates(country, None, year) if region else frozenset()
    return frozenset(found)


def is_business_day(day: date, country: str, region: str | None = None) -> bool:
    return day.weekday() < 5 and day not in holiday_dates(country, region, day.year)


def add_business_days(start: date, count: int, country: str, region: str | None = None) -> date:
    """The `count`-th business day after `start` (start itself is not counted)."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day, country, region):
            count -= 1
    return day


def next_business_day(day: date, country: str, region: str | None = None) -> date:
    """`day` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day, country, region):
        day += timedelta(days=1)
    return day
