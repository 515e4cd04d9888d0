"""Every reminder says where to pay and with which reference: the account of the order's
currency and country, and the structured reference the payment is later matched by."""

from __future__ import annotations

import pytest
from stdnum import iso11649
from stdnum.ch import esr

from ledger.bank import accounts, index
from ledger.messages import payment_details, reminder

SWISS_IBAN = "CH9300762011623852957"
QR_IBAN = "CH4431999123000889012"


def test_a_euro_reminder_names_the_euro_account_and_the_rf_reference(card_merchant, add_order):
    order = add_order(card_merchant, "AK-20001")
    details = payment_details(order)
    assert details["iban"] == "DE02 1203 0000 0000 2020 51"
    assert iso11649.is_valid(details["reference"])
    body = reminder(order, card_merchant, 1, None, False).body
    assert "IBAN: DE02 1203 0000 0000 2020 51" in body
    assert f"Verwendungszweck: {details['reference']}" in body


def test_a_swiss_customer_pays_to_the_qr_iban_with_a_qr_reference(card_merchant, add_order):
    accounts.add_account(card_merchant, SWISS_IBAN, qr_iban=QR_IBAN)
    order = add_order(card_merchant, "AK-20002")
    order.country, order.currency, order.payment_reference = "CH", "CHF", None
    index.index_order(order)
    details = payment_details(order)
    assert details["iban"] == "CH44 3199 9123 0008 8901 2"
    assert esr.is_valid(details["reference"].replace(" ", ""))
    assert len(details["reference"].replace(" ", "")) == 27


def test_a_qr_iban_must_be_one(card_merchant):
    with pytest.raises(accounts.AccountError, match="not a QR-IBAN"):
        accounts.add_account(card_merchant, SWISS_IBAN, qr_iban=SWISS_IBAN)
