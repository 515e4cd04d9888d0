"""Erasing a customer's personal data (ledger.manual.erase_personal_data) reaches the bank: the
transactions that paid the order lose payer, account and text, the payments' notes go; the
amounts, dates and references the books need stay."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bench.camt_file import Booking, camt053
from ledger import manual
from ledger.accounts import find_merchant
from ledger.bank import importing
from ledger.db import db
from ledger.models import BankTransaction, LedgerEntry
from tests.conftest import DAY0

OWN_IBAN = "DE02120300000000202051"
PAYER_IBAN = "DE89370400440532013000"


def test_erasure_takes_the_payer_out_of_the_bank_transactions_and_the_notes(
    ctx, make_merchant, add_order
):
    merchant = find_merchant(make_merchant()["name"])
    order, other = add_order(merchant, "AK-10001"), add_order(merchant, "AK-10002")
    order.payer_names = ["Erika Muster"]
    db.session.commit()
    data = camt053(OWN_IBAN, [
        Booking(Decimal("80.00"), DAY0, name="Kunde AK-10001", iban=PAYER_IBAN,
                remittance="AK-10001 Kunde AK-10001 Hauptstrasse 5", end_to_end="E2E-1"),
        Booking(Decimal("80.00"), DAY0, name="Otto Normal", iban=PAYER_IBAN, remittance="AK-10002"),
    ])  # fmt: skip
    importing.import_file(merchant, data, "s.xml", "upload", "test", DAY0)
    db.session.refresh(order)
    assert order.status == "paid"

    manual.erase_personal_data(order, "test", DAY0)
    db.session.commit()

    paid, untouched = db.session.scalars(select(BankTransaction).order_by(BankTransaction.id))
    assert paid.counterparty_name == "[erased]" and paid.counterparty_iban is None
    assert paid.remittance == "[erased]"
    assert "Kunde" not in str(paid.raw) and PAYER_IBAN not in str(paid.raw)
    assert paid.raw["EndToEndId"] == "E2E-1" and paid.amount == Decimal("80.00")
    assert paid.fingerprint and paid.state == "matched"
    (payment,) = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.order_id == order.id, LedgerEntry.kind == "payment")
    )
    assert payment.note == "[erased]" and payment.reference == f"bank:{paid.id}"
    assert payment.amount == Decimal("80.00")
    assert order.payer_names == []
    # Another customer's payment keeps everything.
    assert untouched.counterparty_name == "Otto Normal" and untouched.remittance == "AK-10002"
    assert other.status == "paid"
    # The same file again is still recognised: nothing new, nothing paid twice.
    again = importing.import_file(merchant, data, "s.xml", "upload", "test", DAY0)
    assert again.new == 0
