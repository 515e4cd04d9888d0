"""Default interest (Verzugszinsen) by the debtor's country, itemised so a letter can show it.

The statutory rate depends on the customer's country and type:

- Germany "DE": base rate (§ 247 BGB) + 5 points for consumers, § 288 (1) BGB; + 9 points when
  no consumer is involved, § 288 (2) BGB (for claims arising from 29.07.2014 on, Art. 229 § 34
  EGBGB; older claims had 8 points; Mahnwerk's orders are all younger). The base rate is read day
  by day, so a period that crosses 1 January or 1 July is split.
- Austria "AT": consumers 4 % a year fixed, § 1000 (1) ABGB. Businesses 9.2 points over the
  OeNB base rate, § 456 UGB (contracts from 16.03.2013 on), where "the base rate in force on the
  first calendar day of a half-year applies to that whole half-year": the base rate is read on
  1 January / 1 July, never in between, even when the OeNB changes it mid-half-year. If the debtor
  is not responsible for the delay, § 456 sentence 3 UGB allows only the 4 % of § 1000 ABGB; this
  module assumes he is.
- Switzerland "CH": 5 % a year for everyone, Art. 104 (1) OR.
- Any other country raises ``InterestNotApplicable``. Applying German law to, say, a French
  customer would be wrong, and so would guessing. That includes Liechtenstein "LI": Art. 104 OR
  is Swiss law and does not apply there. Liechtenstein's ABGB (after the Austrian one) governs
  consumers, and for businesses Art. 336b HGB (LI) sets 8 points over the Swiss National Bank's
  special rate (Sondersatz, Art. 1 GVZV; gtai.de, "Umsetzung der EU-Richtlinie zur Bekämpfung von
  Zahlungsverzug", Liechtenstein). Mahnwerk has no table of that rate and the consumer rate could
  not be verified, so LI is not computed.

Day count: actual/365, as German courts usually count Verzugszinsen: every calendar day of
default earns principal × rate / 100 / 365, in leap years too (366 days then earn 366/365 of the
annual rate). Interest runs on the principal only (no interest on interest, § 289 BGB) for the
days ``start`` up to and including ``end - 1``: ``end`` is exclusive. A caller charging interest up
to and including today passes ``end = today + 1 day``; ``start`` is the first day of default (the
day after the due date, § 187 (1) BGB). Each period keeps its unrounded amount; the total is
rounded half-up to cents once, at the end. Money is Decimal throughout; a float is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from rules.base_rates import base_rate, rate_changes

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_PER_YEAR = Decimal(365)
CUSTOMER_TYPES = ("b2b", "b2c")
ONE_DAY = timedelta(days=1)


class InterestNotApplicable(ValueError):
    """Mahnwerk knows no statutory default interest for this country."""


@dataclass(frozen=True)
class RateParts:
    """How the statutory rate is made: a base-rate table plus points, or a fixed rate."""

    country: str
    customer_type: str
    law: str  # the provision a letter cites, e.g. "§ 288 Abs. 1 BGB"
    points: Decimal  # points over the base rate; the whole rate when base_country is None
    base_country: str | None = None  # whose base-rate table ("DE", "AT"); None for a fixed rate
    half_yearly: bool = False  # read the base rate on the half-year's first day (§ 456 UGB)

    @property
    def fixed(self) -> bool:
        return self.base_country is None

    def reference_day(self, day: date) -> date:
        """The day whose base rate counts for ``day``."""
        if self.half_yearly:
            return date(day.year, 1 if day.month <= 6 else 7, 1)
        return day

    def base_on(self, day: date) -> Decimal | None:
        if self.base_country is None:
            return None
        return base_rate(self.base_country, self.reference_day(day))

    def rate_on(self, day: date) -> Decimal:
        """The statutory rate in percent per year for ``day``; BaseRateUnknown past the table."""
        base = self.base_on(day)
        return self.points if base is None else base + self.points

    def boundaries(self, start: date, end: date) -> list[date]:
        """The days strictly between start and end on which the rate may change."""
        if self.base_country is None:
            return []
        if self.half_yearly:
            return [
                day
                for year in range(start.year, end.year + 1)
                for day in (date(year, 1, 1), date(year, 7, 1))
                if start < day < end
            ]
        return rate_changes(self.base_country, start, end)


@dataclass(frozen=True)
class InterestPeriod:
    start: date
    end: date  # exclusive: interest runs for start … end - 1 day
    days: int
    rate: Decimal  # percent per year
    amount: Decimal  # unrounded
    base_rate: Decimal | None = None  # the base rate behind ``rate``; None for a fixed rate

    @property
    def last_day(self) -> date:
        """The last day of the period, inclusive, as a letter shows it."""
        return self.end - ONE_DAY


@dataclass(frozen=True)
class InterestResult:
    amount: Decimal  # the sum of the periods, rounded half-up to cents once
    periods: tuple[InterestPeriod, ...] = ()
    law: str | None = None

    @property
    def days(self) -> int:
        return sum(period.days for period in self.periods)

    @property
    def unrounded(self) -> Decimal:
        return sum((period.amount for period in self.periods), Decimal(0))


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not a float")
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{what} must be a Decimal")
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return amount


def _customer_type(customer_type: str) -> str:
    kind = (customer_type or "").lower()
    if kind not in CUSTOMER_TYPES:
        raise ValueError(f"customer type must be one of {', '.join(CUSTOMER_TYPES)}, not {kind!r}")
    return kind


def statutory_rate_parts(country: str, customer_type: str) -> RateParts:
    """The statutory default rate's make-up for a customer; InterestNotApplicable elsewhere."""
    code = (country or "").upper()
    kind = _customer_type(customer_type)
    if code == "DE":
        if kind == "b2c":
            return RateParts(code, kind, "§ 288 Abs. 1 BGB", Decimal(5), base_country="DE")
        return RateParts(code, kind, "§ 288 Abs. 2 BGB", Decimal(9), base_country="DE")
    if code == "AT":
        if kind == "b2c":
            return RateParts(code, kind, "§ 1000 Abs. 1 ABGB", Decimal(4))
        return RateParts(
            code, kind, "§ 456 UGB", Decimal("9.2"), base_country="AT", half_yearly=True
        )
    if code == "CH":
        return RateParts(code, kind, "Art. 104 Abs. 1 OR", Decimal(5))
    raise InterestNotApplicable(
        f"no statutory default interest for country {code or country!r}: Mahnwerk knows the law"
        " of DE, AT and CH only (see ledger/interest.py); use a fixed rate (charge interest N %)"
    )


INTEREST_BASES = ("law", "DE", "AT")


def governing_country(order_country: str, interest_base: str | None) -> str:
    """Whose statutory interest an order earns: the customer's country (``"law"``, the law
    that governs the claim, as above), or always Germany's or Austria's (``"DE"``/``"AT"``: a
    merchant whose terms choose that law, Merchant.interest_base)."""
    return interest_base if interest_base in ("DE", "AT") else order_country


def statutory_rate(country: str, customer_type: str, day: date) -> Decimal:
    """The statutory default rate in percent per year on ``day``."""
    return statutory_rate_parts(country, customer_type).rate_on(day)


def _compute(principal: Decimal, parts: RateParts, start: date, end: date) -> InterestResult:
    if end <= start:
        return InterestResult(ZERO, (), parts.law)
    parts.rate_on(end - ONE_DAY)  # raises BaseRateUnknown if the table stops before the last day
    cuts = [start, *parts.boundaries(start, end), end]
    spans: list[list] = []  # [start, end, rate, base], neighbours with equal rates merged
    for left, right in zip(cuts, cuts[1:], strict=False):
        rate, base = parts.rate_on(left), parts.base_on(left)
        if spans and spans[-1][2] == rate and spans[-1][3] == base:
            spans[-1][1] = right
        else:
            spans.append([left, right, rate, base])
    periods = []
    for left, right, rate, base in spans:
        days = (right - left).days
        amount = principal * rate * days / (100 * DAYS_PER_YEAR)
        periods.append(InterestPeriod(left, right, days, rate, amount, base))
    total = sum((period.amount for period in periods), Decimal(0))
    return InterestResult(total.quantize(CENT, rounding=ROUND_HALF_UP), tuple(periods), parts.law)


def statutory_interest(
    principal: Decimal, country: str, customer_type: str, start: date, end: date
) -> InterestResult:
    """Statutory default interest on ``principal`` for the days start … end - 1 (end exclusive).

    Split into periods wherever the rate changes; raises InterestNotApplicable for a country
    without rules here and BaseRateUnknown when a day needs a base rate past the table's end.
    """
    amount = _decimal(principal, "principal")
    if amount < 0:
        raise ValueError("principal must not be negative")
    return _compute(amount, statutory_rate_parts(country, customer_type), start, end)


def fixed_interest(principal: Decimal, rate: Decimal, start: date, end: date) -> InterestResult:
    """Interest at a fixed ``rate`` percent per year (``charge interest 8 %``), same day count."""
    amount = _decimal(principal, "principal")
    if amount < 0:
        raise ValueError("principal must not be negative")
    percent = _decimal(rate, "rate")
    if percent < 0:
        raise ValueError("rate must not be negative")
    return _compute(amount, RateParts("", "", f"{percent} % p.a.", percent), start, end)


FLAT_FEE = Decimal("40.00")


def flat_fee(country: str, customer_type: str, currency: str) -> Decimal | None:
    """The statutory flat fee for a business debtor in default, or None where there is none.

    - DE: 40 EUR when the debtor is not a consumer, § 288 (5) BGB (set off against later
      costs of legal pursuit, § 288 (5) sentence 3).
    - AT: 40 EUR between businesses, § 458 UGB ("Pauschalbetrag von 40 Euro", RIS text via
      360.lexisnexis.at; scope § 455 UGB).
    - None for consumers, for CH (Swiss law has no such fee) and anywhere else; and None when
      the claim is not in euros: both statutes name a euro amount, and converting is not ours.
    """
    code = (country or "").upper()
    if _customer_type(customer_type) != "b2b" or (currency or "").upper() != "EUR":
        return None
    if code in ("DE", "AT"):
        return FLAT_FEE
    return None
