"""Refunds paid out by SEPA files (ledger/refunds.py): checked before anything is stored, booked
through the lifecycle, exported as pain.001 validated against the ISO 20022 XSD (lxml, apart
from sepaxml's own check), each refund taken by one export only, executed by a camt.053 debit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
from lxml import etree
from sqlalchemy import func, select, update

from bench.camt_file import Booking, camt053
from ledger import entries, lifecycle, orders, refunds
from ledger.accounts import find_merchant
from ledger.bank import importing
from ledger.db import db
from ledger.models import (
    AuditEntry,
    BankTransaction,
    EntryKind,
    Refund,
    RefundExport,
    RefundState,
    Source,
    TransactionState,
)
from tests.conftest import DAY0

ACTOR = "user:owner@alpenkiste.example"
IBAN = "DE89370400440532013000"  # a valid German IBAN (bank's BIC COBADEFFXXX)
SCHEMAS = Path(sepaxml.__file__).parent / "schemas"


@pytest.fixture
def merchant(ctx, make_merchant):
    return find_merchant(make_merchant()["name"])


def credit_order(merchant, add_order, pay, number="A-1", paid="100.00"):
    """An order of 80.00 paid `paid`: a credit of paid - 80."""
    order = add_order(merchant, number)
    pay(order, paid)
    db.session.commit()
    return order


def cancelled_paid_order(merchant, add_order, pay, number="C-1"):
    order = add_order(merchant, number)
    cause = lifecycle.Cause("test", Source.MANUAL, DAY0)
    lifecycle.retrying(lambda: lifecycle.cancel(lifecycle.lock(order), cause))
    pay(order, "80.00")
    db.session.commit()
    return order


def make(order, amount="20.00", payee="Jörg Müller", iban=IBAN, bic="", remittance=None):
    def unit():
        return refunds.create_refund(
            order,
            Decimal(amount),
            payee,
            iban,
            bic,
            remittance or f"Erstattung {order.number}",
            ACTOR,
        )

    return lifecycle.retrying(unit)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- create ---------------------------------------------------------------------------------


def test_a_refund_books_the_credit_and_keeps_the_payout(merchant, add_order, pay):
    order = credit_order(merchant, add_order, pay)
    refund = make(order)
    db.session.refresh(order)
    assert order.statement.credit == 0
    assert refund.state == RefundState.OPEN
    assert refund.iban == IBAN and refund.bic == "COBADEFFXXX"  # the bank's BIC from the IBAN
    assert refund.payee == "Jörg Müller"
    assert refund.end_to_end_id.startswith(f"MW-R-{order.id}-")
    assert len(refund.end_to_end_id) <= 35
    entry = db.session.get(entries.LedgerEntry, refund.entry_id)
    assert (entry.kind, entry.amount, entry.reference) == (
        "refund",
        Decimal("20.00"),
        refund.end_to_end_id,
    )
    assert entries.verify(merchant.id) == []
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.order_id == order.id))
    assert {"payment.refunded", "refund.created"} <= set(actions)


def test_a_cancelled_order_s_payment_is_refunded_in_full(merchant, add_order, pay):
    order = cancelled_paid_order(merchant, add_order, pay)
    assert refunds.most(order) == Decimal("80.00")
    make(order, "80.00")
    db.session.refresh(order)
    assert order.statement.credit == 0
    assert order.paid_after_cancellation is False


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"iban": "DE89370400440532013001"}, "refund_iban", "iban"),
        ({"iban": "BR1800360305000010009795493C1"}, "refund_iban_sepa", "iban"),
        ({"bic": "NOTABIC"}, "refund_bic", "bic"),
        ({"payee": " "}, "refund_payee", "payee"),
        ({"payee": "x" * 71}, "refund_payee", "payee"),
        ({"remittance": "y" * 141}, "refund_remittance", "remittance"),
        ({"amount": "20.01"}, "refund_amount", "amount"),
        ({"amount": "0"}, "refund_amount", "amount"),
        ({"amount": "-5"}, "refund_amount", "amount"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(merchant, add_order, pay, fields, code, field):
    order = credit_order(merchant, add_order, pay)
    with pytest.raises(refunds.RefundRefused) as refused:
        make(order, **fields)
    assert refused.value.reason.code == code
    assert refused.value.field == field
    db.session.refresh(order)
    assert order.statement.credit == Decimal("20.00")
    assert count(Refund) == 0
    assert entries.total(order.id, EntryKind.REFUND) == 0


def test_the_iban_reason_is_the_bank_accounts_own(merchant, add_order, pay):
    order = credit_order(merchant, add_order, pay)
    with pytest.raises(refunds.RefundRefused) as refused:
        make(order, iban="DE89370400440532013001")
    assert "the check digits do not fit" in str(refused.value)


def test_the_lifecycle_refuses_a_refund_without_a_credit(merchant, add_order, pay):
    order = add_order(merchant, "U-1")  # unpaid: nothing to pay back
    db.session.commit()
    with pytest.raises(refunds.RefundRefused) as refused:
        make(order)
    assert refused.value.reason.code == "status"
    paid = credit_order(merchant, add_order, pay, "P-1", paid="80.00")  # paid exactly: no credit
    with pytest.raises(refunds.RefundRefused) as refused:
        make(paid, "1.00")
    assert refused.value.reason.code == "no_credit"
    assert count(Refund) == 0


def test_no_more_than_the_credit_across_refunds(merchant, add_order, pay):
    order = credit_order(merchant, add_order, pay)
    make(order, "15.00")
    with pytest.raises(refunds.RefundRefused):
        make(order, "5.01")
    make(order, "5.00")
    assert refunds.most(order) == 0


# --- details later, cancel ------------------------------------------------------------------


def test_without_an_iban_the_refund_awaits_the_details(merchant, add_order, pay):
    order = credit_order(merchant, add_order, pay)
    refund = make(order, iban="")
    assert refund.state == RefundState.AWAITING_DETAILS and refund.iban is None
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.give_details(refund, "DE89 3704 0044 0532 0130 01", "", "Jörg Müller")
    assert refused.value.field == "iban"
    db.session.rollback()
    with pytest.raises(refunds.RefundRefused):
        refunds.give_details(refund, "", "", "Jörg Müller")
    db.session.rollback()
    refunds.give_details(refund, "DE89 3704 0044 0532 0130 00", "", "Jörg Müller")
    db.session.commit()
    assert (refund.state, refund.iban, refund.bic) == ("open", IBAN, "COBADEFFXXX")
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.give_details(refund, IBAN, "", "Jörg Müller")
    assert refused.value.reason.code == "refund_state"


def test_cancel_reverses_the_refund_entry(merchant, add_order, pay):
    order = credit_order(merchant, add_order, pay)
    refund = make(order)
    lifecycle.retrying(lambda: refunds.cancel_refund(refund, ACTOR, "wrong account"))
    db.session.refresh(order)
    assert refund.state == RefundState.CANCELLED
    assert order.statement.credit == Decimal("20.00")
    assert entries.total(order.id, EntryKind.REFUND) == 0
    assert entries.verify(merchant.id) == []
    with pytest.raises(refunds.RefundRefused) as refused:
        lifecycle.retrying(lambda: refunds.cancel_refund(refund, ACTOR))
    assert refused.value.reason.code == "refund_state"
    make(order)  # the credit can be refunded again


def test_an_exported_refund_cannot_be_cancelled(merchant, add_order, pay):
    refund = make(credit_order(merchant, add_order, pay))
    refunds.export(merchant, None, ACTOR)
    db.session.commit()
    with pytest.raises(refunds.RefundRefused):
        lifecycle.retrying(lambda: refunds.cancel_refund(refund, ACTOR))
    assert db.session.get(Refund, refund.id).state == RefundState.EXPORTED


# --- export ---------------------------------------------------------------------------------


def _validate(xml: bytes, version: str) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / f"{version}.xsd")))
    document = etree.fromstring(xml)
    schema.assertValid(document)
    return document


@pytest.mark.parametrize("version", refunds.VERSIONS)
def test_the_export_is_a_valid_pain_001_with_umlauts(merchant, add_order, pay, version):
    first = make(credit_order(merchant, add_order, pay, "A-1"), payee="Jörg Müller")
    second = make(
        credit_order(merchant, add_order, pay, "A-2", paid="92.50"),
        "12.50",
        payee="Ärzte & Söhne",
        iban="AT611904300234573201",
        bic="BKAUATWW",
        remittance="Erstattung A-2 – Rücksendung",
    )
    record = refunds.export(merchant, None, ACTOR, version)
    db.session.commit()
    document = _validate(record.xml, version)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "32.50"
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == "DE02120300000000202051"
    names = document.xpath("//p:Cdtr/p:Nm/text()", namespaces=ns)
    assert names == ["Jörg Müller", "Ärzte & Söhne"]
    texts = document.xpath("//p:RmtInf/p:Ustrd/text()", namespaces=ns)
    assert texts == ["Erstattung A-1", "Erstattung A-2 – Rücksendung"]
    ids = document.xpath("//p:PmtId/p:EndToEndId/text()", namespaces=ns)
    assert ids == [first.end_to_end_id, second.end_to_end_id]
    amounts = document.xpath("//p:InstdAmt/text()", namespaces=ns)
    assert amounts == ["20.00", "12.50"]
    assert (record.count, record.total, record.pain_version) == (2, Decimal("32.50"), version)
    for refund in (first, second):
        db.session.refresh(refund)
        assert (refund.state, refund.export_id) == (RefundState.EXPORTED, record.id)
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, None, ACTOR, version)
    assert refused.value.reason.code == "refund_none"


def test_export_selected_and_short_versions(merchant, add_order, pay):
    first = make(credit_order(merchant, add_order, pay, "A-1"))
    second = make(credit_order(merchant, add_order, pay, "A-2"))
    record = refunds.export(merchant, [second.id], ACTOR, "03")
    db.session.commit()
    assert record.pain_version == "pain.001.001.03" and record.count == 1
    assert db.session.get(Refund, first.id).state == RefundState.OPEN
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, [first.id, second.id], ACTOR)
    assert refused.value.reason.code == "refund_state"
    db.session.rollback()
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, [first.id], ACTOR, "pain.001.001.02")
    assert refused.value.reason.code == "refund_version"


def test_an_awaiting_refund_is_not_exported(merchant, add_order, pay):
    make(credit_order(merchant, add_order, pay), iban="")
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, None, ACTOR)
    assert refused.value.reason.code == "refund_none"


def chf_credit_order(merchant, number="CH-1"):
    body = {
        "number": number,
        "customer": {
            "name": "Urs",
            "email": "urs@example.ch",
            "country": "CH",
            "language": "de",
            "type": "b2c",
        },
        "amount": "50.00",
        "currency": "CHF",
        "payment_method": "prepayment",
        "ordered_on": DAY0.isoformat(),
    }
    order = orders.upsert_order(merchant, orders.parse_order(body), "test")[0]
    data = orders.parse_payment({"amount": "60.00", "paid_on": DAY0.isoformat()})
    orders.record_payment(order, data, "test")
    db.session.commit()
    return order


def test_currencies_are_exported_apart_and_need_an_account(merchant, add_order, pay):
    make(credit_order(merchant, add_order, pay))
    chf = make(chf_credit_order(merchant), "10.00", iban="CH9300762011623852957")
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, None, ACTOR)
    assert refused.value.reason.code == "refund_currencies"
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, [chf.id], ACTOR)
    assert refused.value.reason.code == "refund_no_account"
    assert count(RefundExport) == 0


def test_a_stored_iban_that_went_bad_stops_the_export(merchant, add_order, pay):
    refund = make(credit_order(merchant, add_order, pay))
    db.session.execute(update(Refund).values(iban="DE89370400440532013001"))
    db.session.commit()
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, None, ACTOR)
    assert refused.value.reason.code == "refund_iban"
    db.session.rollback()
    assert count(RefundExport) == 0
    assert db.session.get(Refund, refund.id).state == RefundState.OPEN


def test_two_exports_never_take_one_refund_twice(merchant, add_order, pay, monkeypatch):
    """Another export commits between this one's reading and its marking: this one is
    refused and hands out no file."""
    refund = make(credit_order(merchant, add_order, pay))
    build = refunds.build_xml
    other = {}

    def racing(account, chosen, version, today):
        xml = build(account, chosen, version, today)
        with db.engine.begin() as connection:  # the other export, committed meanwhile
            connection.execute(
                update(Refund).where(Refund.id == refund.id).values(state=RefundState.EXPORTED)
            )
        other["done"] = True
        return xml

    monkeypatch.setattr(refunds, "build_xml", racing)
    with pytest.raises(refunds.RefundRefused) as refused:
        refunds.export(merchant, None, ACTOR)
    db.session.rollback()
    assert other["done"] and refused.value.reason.code == "refund_state"
    assert count(RefundExport) == 0
    assert db.session.get(Refund, refund.id).export_id is None


# --- executed -------------------------------------------------------------------------------


def test_the_statement_s_debit_executes_the_refund(merchant, add_order, pay):
    refund = make(credit_order(merchant, add_order, pay))
    other = make(credit_order(merchant, add_order, pay, "A-2"))
    refunds.export(merchant, None, ACTOR)
    db.session.commit()
    day = DAY0.replace(day=5)
    statement = camt053(
        "DE02120300000000202051",
        [
            Booking(
                Decimal("20.00"),
                day,
                credit=False,
                name="Jörg Müller",
                iban=IBAN,
                end_to_end=refund.end_to_end_id,
                servicer_ref="B1",
            ),
            # the other refund's id with another amount: not this refund's debit
            Booking(
                Decimal("21.00"),
                day,
                credit=False,
                end_to_end=other.end_to_end_id,
                servicer_ref="B2",
            ),
        ],
    )
    importing.import_file(merchant, statement, "stmt.xml", "upload", ACTOR, day)
    db.session.expire_all()
    refund = db.session.get(Refund, refund.id)
    assert (refund.state, refund.executed_on) == (RefundState.EXECUTED, day)
    row = db.session.get(BankTransaction, refund.transaction_id)
    assert row.end_to_end_id == refund.end_to_end_id and not row.credit
    assert row.state == TransactionState.IGNORED  # a debit: never waiting in the inbox
    assert db.session.get(Refund, other.id).state == RefundState.EXPORTED
    executed = db.session.scalar(select(func.count()).where(AuditEntry.action == "refund.executed"))
    assert executed == 1
    # the same statement again: nothing new, nothing changes
    importing.import_file(merchant, statement, "stmt.xml", "upload", ACTOR, day)
    assert db.session.get(Refund, refund.id).transaction_id == row.id


def test_erasure_drops_the_payee_of_a_paid_out_refund_and_keeps_one_still_owed(
    merchant, add_order, pay
):
    from ledger import manual

    order = credit_order(merchant, add_order, pay, paid="140.00")
    exported = make(order, amount="20.00")
    refunds.export(merchant, None, ACTOR)
    owed = make(order, amount="10.00")
    db.session.commit()
    manual.erase_personal_data(order, ACTOR, DAY0)
    db.session.commit()
    gone, kept = db.session.get(Refund, exported.id), db.session.get(Refund, owed.id)
    assert (gone.payee, gone.iban, gone.amount) == ("[erased]", None, Decimal("20.00"))
    assert gone.end_to_end_id  # the bank statement still finds the payout
    assert (kept.payee, kept.iban) == ("Jörg Müller", IBAN)  # the customer is still owed it
