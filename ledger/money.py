"""Money is Decimal, rounded half-up to cents, and shown the way each language writes it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
CURRENCIES = ("EUR", "CHF")
NARROW_NBSP = "\u202f"  # French thousands separator


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
    """1234.5 EUR → "1.234,50 €" (de), "€1,234.50" (en), "1 234,50 €" (fr), CHF in the Swiss way."""
    amount = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    if currency == "CHF":
        return f"CHF {sign}{_group(whole, '’')}.{cents}"
    symbol = "€" if currency == "EUR" else currency
    if language == "en":
        return f"{sign}{symbol}{_group(whole, ',')}.{cents}"
    if language == "fr":
        return f"{sign}{_group(whole, NARROW_NBSP)},{cents} {symbol}"
    return f"{sign}{_group(whole, '.')},{cents} {symbol}"
