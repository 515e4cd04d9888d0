from decimal import Decimal

import pytest

from ledger.money import format_money, to_money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        ("1234.5", "EUR", "de", "1.234,50 €"),
        ("1234.5", "EUR", "en", "€1,234.50"),
        ("1234567.891", "EUR", "fr", "1\u202f234\u202f567,89 €"),
        ("49.9", "EUR", "it", "49,90 €"),
        ("1234.5", "CHF", "de", "CHF 1’234.50"),
        ("1234.5", "CHF", "de-CH", "CHF 1'234.50"),
        ("1234567.5", "EUR", "de-CH", "EUR 1'234'567.50"),
        ("1234.5", "EUR", "de-AT", "1.234,50 €"),
        ("-3", "EUR", "de", "-3,00 €"),
        ("0.005", "EUR", "de", "0,01 €"),
    ],
)
def test_format_money(amount, currency, language, shown):
    assert format_money(Decimal(amount), currency, language) == shown


def test_to_money_avoids_binary_noise_and_rejects_non_amounts():
    assert to_money(0.1 + 0.2) == Decimal("0.30")
    assert to_money("19.999") == Decimal("20.00")
    for bad in ("abc", True, "inf", None):
        with pytest.raises(ValueError):
            to_money(bad)
