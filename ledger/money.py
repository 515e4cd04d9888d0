"""Money is Decimal, rounded half-up to cents, and shown the way each language writes it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_MONEY = Decimal("9999999999.99")  # the most a money column (Numeric(12, 2)) holds
CURRENCIES = ("EUR", "CHF")
NARROW_NBSP = "\u202f"  # French thousands separator
SWISS_APOSTROPHE = "'"  # de-CH documents' thousands separator (ASCII, as the issue asks)


def to_money(value) -> Decimal:
    """Parse a JSON number or string into cents; floats go through str() to avoid binary noise."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("not an amount") from exc
    if not amount.is_finite():
        raise ValueError("not an amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _group(digits: str, sep: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def format_money(amount: Decimal, currency: str, language: str = "de") -> str:
    """1234.5 EUR → "1.234,50 €" (de), "€1,234.50" (en), "1 234,50 €" (fr), CHF in the Swiss way.

    `language` may also be a letter's locale (ledger.documents.locales): "de-AT" writes as
    "de"; "de-CH" writes every currency the Swiss way with the ASCII apostrophe Swiss
    documents use ("CHF 1'234.50", "EUR 1'234.50")."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    if language == "de-CH":
        return f"{currency} {sign}{_group(whole, SWISS_APOSTROPHE)}.{cents}"
    if currency == "CHF":
        return f"CHF {sign}{_group(whole, '’')}.{cents}"
    symbol = "€" if currency == "EUR" else currency
    if language == "en":
        return f"{sign}{symbol}{_group(whole, ',')}.{cents}"
    if language == "fr":
        return f"{sign}{_group(whole, NARROW_NBSP)},{cents} {symbol}"
    return f"{sign}{_group(whole, '.')},{cents} {symbol}"


@dataclass(frozen=True)
class Statement:
    """An order's money, itemised: what every message, letter, page and the API show."""

    currency: str
    principal: Decimal
    fees: Decimal
    interest: Decimal
    paid: Decimal
    adjustments: Decimal  # discounts and write-offs less refunds
    cancelled: bool = False

    @property
    def owed(self) -> Decimal:
        """A cancelled order's claims are void: it owes nothing, and what was paid is a credit."""
        return ZERO if self.cancelled else self.principal + self.fees + self.interest

    @property
    def balance(self) -> Decimal:
        return self.owed - self.paid - self.adjustments

    @property
    def open(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def credit(self) -> Decimal:
        return max(-self.balance, ZERO)

    @property
    def principal_open(self) -> Decimal:
        """What is left of the order amount itself; interest accrues on it."""
        return max(self.principal - self.paid - self.adjustments, ZERO)
