"""The base-rate tables: complete, sorted, dated, and honest about where they end."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from rules.base_rates import (
    AUSTRIA,
    GERMANY,
    TABLES,
    BaseRateUnknown,
    base_rate,
    known_from,
    known_until,
    rate_changes,
)


def half_years(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day = date(day.year, 7, 1) if day.month == 1 else date(day.year + 1, 1, 1)


def test_germany_has_every_half_year_from_2002_without_gaps():
    starts = [start for start, _ in GERMANY.rows]
    assert starts[0] == date(2002, 1, 1)
    assert starts == list(half_years(date(2002, 1, 1), starts[-1]))


def test_germany_is_known_to_the_end_of_its_last_half_year():
    last = GERMANY.rows[-1][0]
    end_of_half_year = date(last.year, 6, 30) if last.month == 1 else date(last.year, 12, 31)
    assert known_until("DE") == GERMANY.valid_until == end_of_half_year
    assert known_until("DE") == date(2026, 6, 30)
    assert known_from("DE") == date(2002, 1, 1)


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_rows_are_sorted_decimal_and_end_inside_the_table(table):
    starts = [start for start, _ in table.rows]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    assert all(isinstance(rate, Decimal) for _, rate in table.rows)
    assert table.valid_until >= starts[-1]


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2002, 1, 1), "2.57"),
        (date(2008, 12, 31), "3.19"),
        (date(2009, 1, 1), "1.62"),
        (date(2013, 1, 1), "-0.13"),
        (date(2019, 11, 11), "-0.88"),
        (date(2022, 12, 31), "-0.88"),
        (date(2023, 1, 1), "1.62"),
        (date(2023, 7, 1), "3.12"),
        (date(2024, 1, 1), "3.62"),
        (date(2024, 7, 1), "3.37"),
        (date(2024, 12, 31), "3.37"),
        (date(2025, 1, 1), "2.27"),
        (date(2025, 7, 1), "1.27"),
        (date(2026, 6, 30), "1.27"),
    ],
)
def test_known_german_rates(day, rate):
    assert base_rate("DE", day) == Decimal(rate)


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2002, 1, 1), "2.75"),
        (date(2002, 12, 11), "2.20"),
        (date(2005, 6, 30), "1.47"),
        (date(2008, 7, 9), "3.70"),
        (date(2016, 3, 15), "-0.12"),
        (date(2016, 3, 16), "-0.62"),
        (date(2023, 1, 1), "1.88"),
        (date(2024, 9, 17), "3.88"),
        (date(2024, 9, 18), "3.03"),
        (date(2024, 12, 17), "3.03"),
        (date(2024, 12, 18), "2.53"),
        (date(2025, 6, 11), "1.53"),
        (date(2026, 1, 1), "1.53"),
    ],
)
def test_austria_changes_on_any_day(day, rate):
    assert base_rate("at", day) == Decimal(rate)


def test_austria_is_known_from_its_first_row_to_its_last_verified_day():
    assert known_from("AT") == AUSTRIA.rows[0][0] <= date(2002, 1, 1)
    assert known_until("AT") == date(2026, 2, 5)


def test_a_day_after_the_table_raises_with_what_to_do():
    after = known_until("DE") + timedelta(days=1)
    with pytest.raises(BaseRateUnknown) as caught:
        base_rate("DE", after)
    message = str(caught.value)
    assert "the German base rate is known up to 30.06.2026; update rules/base_rates.py" in message
    assert "01.07.2026" in message
    with pytest.raises(BaseRateUnknown, match="Austrian base rate is known up to 05.02.2026"):
        base_rate("AT", date(2026, 2, 6))


def test_a_day_before_the_table_raises():
    with pytest.raises(BaseRateUnknown, match="German base rate is known from 01.01.2002"):
        base_rate("DE", date(2001, 12, 31))


def test_an_unknown_country_raises_and_the_error_is_a_value_error():
    with pytest.raises(ValueError, match="no base-rate table for country 'CH'"):
        base_rate("CH", date(2025, 1, 1))
    assert issubclass(BaseRateUnknown, ValueError)


def test_rate_changes_lists_the_rows_strictly_inside():
    assert rate_changes("DE", date(2024, 12, 1), date(2025, 2, 1)) == [date(2025, 1, 1)]
    assert rate_changes("DE", date(2025, 1, 1), date(2025, 7, 1)) == []
    assert rate_changes("AT", date(2024, 9, 1), date(2025, 1, 1)) == [
        date(2024, 9, 18),
        date(2024, 12, 18),
    ]
