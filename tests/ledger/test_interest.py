"""Statutory default interest, with every figure worked out by hand in the comments.

Day count actual/365, end exclusive: interest = principal × rate / 100 × days / 365, summed over
the periods and rounded half-up to cents once.
"""

from datetime import date
from decimal import Decimal

import pytest

from ledger.interest import (
    InterestNotApplicable,
    fixed_interest,
    flat_fee,
    statutory_interest,
    statutory_rate,
    statutory_rate_parts,
)
from rules.base_rates import BaseRateUnknown

D = Decimal


def test_de_consumer_30_days_at_one_rate():
    # 01.03.–30.03.2025 = 30 days; base rate 2.27 (since 01.01.2025) + 5 points = 7.27 %.
    # 1000 × 7.27 / 100 × 30 / 365 = 72.70 × 30 / 365 = 2181 / 365 = 5.97534… → 5.98
    result = statutory_interest(D("1000.00"), "DE", "b2c", date(2025, 3, 1), date(2025, 3, 31))
    assert result.amount == D("5.98")
    assert result.law == "§ 288 Abs. 1 BGB"
    [period] = result.periods
    assert (period.start, period.last_day, period.days) == (date(2025, 3, 1), date(2025, 3, 30), 30)
    assert period.rate == D("7.27") and period.base_rate == D("2.27")
    assert period.amount == D(2181) / D(365)


def test_de_business_across_the_base_rate_change_of_2025_01_01():
    # 01.12.2024–31.01.2025 (end 01.02.2025 exclusive), split at 01.01.2025:
    #   December: 31 days at 3.37 + 9 = 12.37 %: 1000 × 0.1237 × 31 / 365 = 3834.7 / 365 = 10.50602…
    #   January:  31 days at 2.27 + 9 = 11.27 %: 1000 × 0.1127 × 31 / 365 = 3493.7 / 365 =  9.57178…
    #   total 7328.4 / 365 = 20.07780… → 20.08
    result = statutory_interest(D("1000"), "DE", "b2b", date(2024, 12, 1), date(2025, 2, 1))
    assert result.amount == D("20.08")
    assert result.law == "§ 288 Abs. 2 BGB"
    assert [(p.start, p.end, p.days, p.rate) for p in result.periods] == [
        (date(2024, 12, 1), date(2025, 1, 1), 31, D("12.37")),
        (date(2025, 1, 1), date(2025, 2, 1), 31, D("11.27")),
    ]
    assert [p.amount for p in result.periods] == [D("3834.7") / 365, D("3493.7") / 365]
    assert result.days == 62


def test_de_half_years_with_the_same_rate_are_one_period():
    # 01.07.2025–30.06.2026: both half-years at 1.27 + 5 = 6.27 %, 365 days → one period;
    # 1000 × 0.0627 × 365 / 365 = 62.70
    result = statutory_interest(D("1000"), "DE", "b2c", date(2025, 7, 1), date(2026, 7, 1))
    assert result.amount == D("62.70")
    assert len(result.periods) == 1 and result.periods[0].days == 365


def test_at_consumer_four_percent_fixed():
    # 01.01.–31.03.2025 = 31 + 28 + 31 = 90 days at 4 % (§ 1000 Abs. 1 ABGB):
    # 1000 × 0.04 × 90 / 365 = 3600 / 365 = 9.86301… → 9.86
    result = statutory_interest(D("1000"), "AT", "b2c", date(2025, 1, 1), date(2025, 4, 1))
    assert result.amount == D("9.86")
    assert result.law == "§ 1000 Abs. 1 ABGB"
    [period] = result.periods
    assert period.rate == D("4") and period.base_rate is None and period.days == 90


def test_at_business_reads_the_base_rate_on_the_first_day_of_each_half_year():
    # § 456 UGB: 9.2 points over the OeNB base rate in force on 01.07.2024 (3.88) for the second
    # half of 2024 — the OeNB's cut to 2.53 on 18.12.2024 does not split December — and over the
    # rate on 01.01.2025 (2.53) for the first half of 2025.
    #   December: 31 days at 3.88 + 9.2 = 13.08 %:
    #     1000 × 0.1308 × 31 / 365 = 4054.8 / 365 = 11.10904…
    #   January:  31 days at 2.53 + 9.2 = 11.73 %:
    #     1000 × 0.1173 × 31 / 365 = 3636.3 / 365 =  9.96246…
    #   total 7691.1 / 365 = 21.07150… → 21.07
    result = statutory_interest(D("1000"), "AT", "b2b", date(2024, 12, 1), date(2025, 2, 1))
    assert result.amount == D("21.07")
    assert result.law == "§ 456 UGB"
    assert [(p.start, p.days, p.rate, p.base_rate) for p in result.periods] == [
        (date(2024, 12, 1), 31, D("13.08"), D("3.88")),
        (date(2025, 1, 1), 31, D("11.73"), D("2.53")),
    ]
    assert statutory_rate("AT", "b2b", date(2024, 12, 20)) == D("13.08")


def test_at_business_needs_the_base_rate_of_the_half_year_start_only():
    # First half of 2026 reads 01.01.2026 (1.53, known) even past the table's last verified day:
    # 01.03.–31.03.2026, 31 days at 1.53 + 9.2 = 10.73 %: 1000 × 0.1073 × 31 / 365
    #   = 3326.3 / 365 = 9.11315… → 9.11
    result = statutory_interest(D("1000"), "AT", "b2b", date(2026, 3, 1), date(2026, 4, 1))
    assert result.amount == D("9.11")
    # The second half of 2026 needs the rate on 01.07.2026, which the table does not have.
    with pytest.raises(BaseRateUnknown, match="Austrian base rate is known up to"):
        statutory_interest(D("1000"), "AT", "b2b", date(2026, 6, 1), date(2026, 7, 2))


def test_ch_five_percent_for_everyone():
    # Art. 104 Abs. 1 OR, 01.01.–31.03.2025 = 90 days:
    # 1000 × 0.05 × 90 / 365 = 4500 / 365 = 12.32876… → 12.33, consumer or business alike
    for kind in ("b2c", "b2b"):
        result = statutory_interest(D("1000"), "CH", kind, date(2025, 1, 1), date(2025, 4, 1))
        assert result.amount == D("12.33")
        assert result.law == "Art. 104 Abs. 1 OR"


def test_ch_leap_year_counts_366_days_over_365():
    # 01.01.–31.12.2024 = 366 days: 1000 × 0.05 × 366 / 365 = 18300 / 365 = 50.13698… → 50.14
    result = statutory_interest(D("1000"), "ch", "b2c", date(2024, 1, 1), date(2025, 1, 1))
    assert result.amount == D("50.14")


@pytest.mark.parametrize("country", ["LI", "FR", "IT", "", "XX"])
def test_other_countries_raise_instead_of_borrowing_german_law(country):
    # Liechtenstein is not Art. 104 OR: its own ABGB and Art. 336b HGB (LI) apply (see the module).
    with pytest.raises(InterestNotApplicable, match="knows the law of DE, AT and CH only"):
        statutory_interest(D("1000"), country, "b2c", date(2025, 1, 1), date(2025, 2, 1))
    assert issubclass(InterestNotApplicable, ValueError)


def test_a_day_past_the_german_table_raises_with_the_message():
    # The table is known to 30.06.2026; an end of 02.07.2026 makes 01.07.2026 a day of interest.
    with pytest.raises(BaseRateUnknown) as caught:
        statutory_interest(D("1000"), "DE", "b2b", date(2026, 6, 1), date(2026, 7, 2))
    assert "the German base rate is known up to 30.06.2026; update rules/base_rates.py" in str(
        caught.value
    )
    # … while the same claim up to and including 30.06.2026 (end 01.07.2026) is fine:
    # 30 days at 1.27 + 9 = 10.27 %: 1000 × 0.1027 × 30 / 365 = 3081 / 365 = 8.44109… → 8.44
    ok = statutory_interest(D("1000"), "DE", "b2b", date(2026, 6, 1), date(2026, 7, 1))
    assert ok.amount == D("8.44")


@pytest.mark.parametrize(
    ("start", "end"), [(date(2025, 3, 1), date(2025, 3, 1)), (date(2025, 3, 2), date(2025, 3, 1))]
)
def test_end_not_after_start_is_zero(start, end):
    result = statutory_interest(D("1000"), "DE", "b2c", start, end)
    assert result.amount == D("0.00") and result.periods == () and result.days == 0
    assert fixed_interest(D("1000"), D("8"), start, end).amount == D("0.00")


def test_fixed_rate():
    # charge interest 8 %: 01.03.–30.03.2025 = 30 days: 1000 × 0.08 × 30 / 365 = 2400 / 365
    #   = 6.57534… → 6.58
    result = fixed_interest(D("1000"), D("8"), date(2025, 3, 1), date(2025, 3, 31))
    assert result.amount == D("6.58")
    [period] = result.periods
    assert period.rate == D("8") and period.base_rate is None and period.days == 30


def test_rounding_is_half_up_once_at_the_end():
    # 182.50 × 1 % × 1 / 365 = 1.825 / 365 = 0.005 exactly → 0.01 (banker's rounding: 0.00)
    result = fixed_interest(D("182.50"), D("1"), date(2025, 3, 1), date(2025, 3, 2))
    assert result.unrounded == D("0.005")
    assert result.amount == D("0.01")


def test_money_is_decimal_never_float():
    with pytest.raises(TypeError):
        statutory_interest(1000.0, "DE", "b2c", date(2025, 3, 1), date(2025, 3, 31))
    with pytest.raises(TypeError):
        fixed_interest(D("1000"), 8.0, date(2025, 3, 1), date(2025, 3, 31))
    with pytest.raises(ValueError, match="customer type"):
        statutory_interest(D("1000"), "DE", "b2x", date(2025, 3, 1), date(2025, 3, 31))


def test_rate_parts():
    de = statutory_rate_parts("DE", "b2b")
    assert (de.base_country, de.points, de.half_yearly, de.fixed) == ("DE", D(9), False, False)
    at = statutory_rate_parts("AT", "b2b")
    assert (at.base_country, at.points, at.half_yearly) == ("AT", D("9.2"), True)
    assert statutory_rate_parts("AT", "b2c").fixed
    assert statutory_rate("DE", "b2c", date(2024, 7, 1)) == D("8.37")


def test_flat_fee_of_40_euros_for_business_debtors():
    # § 288 Abs. 5 BGB and § 458 UGB: 40 € from a business debtor; nothing from consumers,
    # nothing in Switzerland, nothing for a claim that is not in euros.
    assert flat_fee("DE", "b2b", "EUR") == D("40.00")
    assert flat_fee("AT", "b2b", "EUR") == D("40.00")
    assert flat_fee("DE", "b2c", "EUR") is None
    assert flat_fee("AT", "b2c", "EUR") is None
    assert flat_fee("CH", "b2b", "CHF") is None
    assert flat_fee("CH", "b2b", "EUR") is None
    assert flat_fee("DE", "b2b", "CHF") is None
    assert flat_fee("FR", "b2b", "EUR") is None
