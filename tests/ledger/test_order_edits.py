"""Order data edited by hand (ledger/order_edits.py): allowed only while the order is open,
audited old → new, the shop's later values kept aside until accepted; payment terms → Skonto
the bank matcher honours; extra numbers the matcher finds; fresh payment information."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.camt_file import Booking, camt053
from ledger import lifecycle, order_edits, orders
from ledger.accounts import find_merchant
from ledger.bank import importing
from ledger.db import db
from ledger.models import AuditEntry, EntryKind, LedgerEntry, OutboxMessage, Source
from tests.conftest import DAY0

ACTOR = "user:owner@alpenkiste.example"
OWN_IBAN = "DE02120300000000202051"


@pytest.fixture
def merchant(ctx, make_merchant):
    return find_merchant(make_merchant()["name"])


def cause():
    return lifecycle.Cause(ACTOR, Source.MANUAL, DAY0)


def edit(order, **form):
    values = order_edits.parse_edit(form)
    return lifecycle.retrying(lambda: order_edits.edit_order(order, values, cause()))


def body(number, **extra):
    data = {
        "number": number,
        "customer": {"name": "Kunde", "email": "k@example.de", "country": "DE",
                     "language": "de", "type": "b2c"},
        "amount": "100.00",
        "currency": "EUR",
        "payment_method": "invoice",
        "ordered_on": DAY0.isoformat(),
    }  # fmt: skip
    data.update(extra)
    return data


def upsert(merchant, data):
    order, _ = orders.upsert_order(merchant, orders.parse_order(data), "api")
    db.session.commit()
    return order


def audits(order, action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.order_id == order.id, AuditEntry.action == action)
    ).all()


def test_an_open_order_is_edited_and_audited_old_to_new(merchant, add_order):
    order = add_order(merchant, "E-1", method="invoice")
    db.session.commit()
    changes = edit(
        order,
        customer_email="neu@example.de",
        amount="90.00",
        due_on="2026-10-30",
        postal_address="Hauptstr. 1\n10115 Berlin",
    )
    db.session.refresh(order)
    assert order.customer_email == "neu@example.de" and order.amount == Decimal("90.00")
    assert order.due_on == date(2026, 10, 30) and order.postal_address.startswith("Hauptstr")
    assert changes["amount"] == ["80.00", "90.00"]
    assert set(order.manual_fields) == {"customer_email", "amount", "due_on", "postal_address"}
    (entry,) = audits(order, "order.edited")
    assert entry.detail["customer_email"] == ["e-1@example.de", "neu@example.de"]
    # the amount went through the money ledger: a charge of the difference
    charges = db.session.scalars(
        select(LedgerEntry.amount).where(
            LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.CHARGE
        )
    ).all()
    assert sorted(charges) == [Decimal("10.00"), Decimal("80.00")]


@pytest.mark.parametrize("close", ["pay", "cancel"])
def test_a_paid_or_cancelled_order_is_not_edited(merchant, add_order, pay, close):
    order = add_order(merchant, "E-2")
    if close == "pay":
        pay(order, "80.00")
    else:
        lifecycle.cancel(order, cause())
    db.session.commit()
    with pytest.raises(lifecycle.Refused):
        edit(order, customer_email="neu@example.de")
    db.session.rollback()
    db.session.refresh(order)
    assert order.customer_email == "e-2@example.de" and not order.manual_fields
    assert not audits(order, "order.edited")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"customer_email": "no mail"}, "customer_email"),
        ({"amount": "-3"}, "amount"),
        ({"amount": "1,5x"}, "amount"),
        ({"due_on": "2026-13-01"}, "due_on"),
        ({"due_on": "2026-09-01"}, "due_on"),  # before the order day
        ({"customer_email": "e-3@example.de"}, "form"),  # nothing changes
    ],
)
def test_bad_input_is_refused_under_its_field_and_stores_nothing(merchant, add_order, form, field):
    order = add_order(merchant, "E-3")
    db.session.commit()
    with pytest.raises(order_edits.EditRefused) as refused:
        edit(order, **form)
    assert field in refused.value.errors
    db.session.rollback()
    db.session.refresh(order)
    assert order.amount == Decimal("80.00") and not order.manual_fields


def test_the_shop_s_change_of_an_edited_field_is_kept_aside_and_accepted(merchant):
    order = upsert(merchant, body("E-4"))
    edit(order, customer_email="hand@example.de", amount="95.00")
    shop = body("E-4", amount="120.00")
    shop["customer"]["email"] = "shop@example.de"
    shop["customer"]["name"] = "Kunde Neu"  # not edited by hand: follows the shop
    upsert(merchant, shop)
    db.session.refresh(order)
    assert order.customer_email == "hand@example.de" and order.amount == Decimal("95.00")
    assert order.customer_name == "Kunde Neu"
    assert order.shop_changes == {"customer_email": "shop@example.de", "amount": "120.00"}
    assert len(audits(order, "order.shop_change_ignored")) == 2
    upsert(merchant, shop)  # the same again: kept aside once
    assert len(audits(order, "order.shop_change_ignored")) == 2

    lifecycle.retrying(lambda: order_edits.accept_shop_change(order, "amount", cause()))
    db.session.refresh(order)
    assert order.amount == Decimal("120.00") and "amount" not in order.manual_fields
    assert order.shop_changes == {"customer_email": "shop@example.de"}
    assert audits(order, "order.shop_change_accepted")[0].detail == {"amount": ["95.00", "120.00"]}
    with pytest.raises(order_edits.EditRefused):
        order_edits.accept_shop_change(order, "amount", cause())
    db.session.rollback()
    upsert(merchant, body("E-4", amount="130.00"))  # follows the shop again
    db.session.refresh(order)
    assert order.amount == Decimal("130.00")


def test_payment_terms_give_the_skonto_the_matcher_honours(merchant):
    terms = {"net_days": 30, "discount_percent": "2.00", "discount_days": 14}
    order = upsert(merchant, body("TERM-10001", payment_terms=terms))
    assert (order.payment_days, order.discount_percent, order.discount_days) == (
        30,
        Decimal("2.00"),
        14,
    )
    assert order.discount_amount == Decimal("98.00")
    assert order.discount_until == DAY0 + timedelta(days=14)
    assert order.due_on == DAY0 + timedelta(days=30)
    assert order_edits.terms_text(order, "de") == "14 Tage 2 % Skonto, 30 Tage netto"
    assert order_edits.terms_text(order, "en") == "2% discount within 14 days, 30 days net"
    # an explicit discount from the shop wins
    explicit = upsert(
        merchant,
        body(
            "TERM-10002", payment_terms=terms, discount={"amount": "97.00", "until": "2026-10-05"}
        ),
    )
    assert explicit.discount_amount == Decimal("97.00")
    # the bank matcher settles the order with 98.00 paid within the days
    paid_on = DAY0 + timedelta(days=10)
    data = camt053(
        OWN_IBAN, [Booking(Decimal("98.00"), paid_on, name="Kunde", remittance="TERM-10001")]
    )
    importing.import_file(merchant, data, "s.xml", "upload", ACTOR, paid_on)
    db.session.refresh(order)
    assert order.status == "paid"


def test_bad_payment_terms_are_refused(merchant):
    bad = {"net_days": 10, "discount_percent": "2.00", "discount_days": 14}
    with pytest.raises(orders.ValidationError) as refused:
        orders.parse_order(body("T-3", payment_terms=bad))
    assert "payment_terms" in refused.value.errors
    with pytest.raises(orders.ValidationError):
        orders.parse_order(body("T-3", payment_terms={"discount_percent": "2.00"}))


def test_the_merchant_s_terms_hold_without_the_order_s(ctx, make_merchant):
    info = make_merchant(payment_days=20, discount_percent=Decimal("3.00"), discount_days=7)
    merchant = find_merchant(info["name"])
    order = upsert(merchant, body("T-4"))
    assert order.discount_amount == Decimal("97.00") and order.due_on == DAY0 + timedelta(20)
    assert order_edits.terms_text(order, "de") == "7 Tage 3 % Skonto, 20 Tage netto"


def test_an_extra_number_finds_the_order_in_the_bank(merchant, add_order):
    order = add_order(merchant, "X-1")
    db.session.commit()
    names, refs = order_edits.parse_payment_info("Erika Muster\n", "RE-555-777\n")
    lifecycle.retrying(lambda: order_edits.set_payment_info(order, names, refs, cause()))
    db.session.refresh(order)
    assert order.payer_names == ["Erika Muster"] and order.extra_references == ["RE-555-777"]
    assert audits(order, "order.payment_info_changed")[0].detail["extra_references"] == [
        "",
        "RE-555-777",
    ]
    data = camt053(OWN_IBAN, [Booking(Decimal("80.00"), DAY0, name="Erika Muster",
                                      remittance="RE-555-777")])  # fmt: skip
    importing.import_file(merchant, data, "s.xml", "upload", ACTOR, DAY0)
    db.session.refresh(order)
    assert order.status == "paid"
    with pytest.raises(order_edits.EditRefused) as refused:
        order_edits.parse_payment_info("\n".join(f"N{i}" for i in range(11)), "x" * 36)
    assert set(refused.value.errors) == {"payer_names", "extra_references"}


def _payment_info_mails(order):
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.order_id == order.id, OutboxMessage.purpose == "payment_info"
        )
    ).all()


def test_fresh_payment_information_only_with_the_setting(merchant, add_order):
    order = add_order(merchant, "P-1")
    db.session.commit()
    edit(order, customer_email="neu@example.de")
    (mail,) = _payment_info_mails(order)
    assert mail.recipient == "neu@example.de" and "P-1" in mail.subject
    assert "80,00" in mail.body
    edit(order, postal_address="Weg 2\n80331 München")  # not email or amount: no mail
    assert len(_payment_info_mails(order)) == 1
    merchant.payment_info_on_change = False
    db.session.commit()
    edit(order, amount="70.00")
    assert len(_payment_info_mails(order)) == 1


def test_payment_information_still_waiting_is_withdrawn_when_the_order_is_paid(
    merchant, add_order, pay
):
    """Payment information asks for money: a payment withdraws it as it does a reminder."""
    order = add_order(merchant, "P-1")
    db.session.commit()
    edit(order, amount="70.00")
    (mail,) = _payment_info_mails(order)
    assert mail.state == "pending"
    pay(order, "70.00")
    db.session.commit()
    db.session.refresh(mail)
    assert mail.state == "cancelled" and "paid" in mail.last_error


def test_reminders_and_letters_state_the_payment_terms(merchant, tmp_path):
    from ledger import messages
    from ledger.documents import letters
    from tests.ledger.test_documents import pdftotext

    terms = {"net_days": 30, "discount_percent": "2.00", "discount_days": 14}
    data = body("TERM-20001", payment_terms=terms)
    data["customer"]["address"] = "Hauptstr. 1\n10115 Berlin"
    order = upsert(merchant, data)
    mail = messages.reminder(order, merchant, 1, None, False)
    assert "Zahlungsbedingungen: 14 Tage 2 % Skonto, 30 Tage netto" in mail.body
    letter = letters.render(order, merchant, "reminder", level=1)
    assert "Zahlungsbedingungen: 14 Tage 2 % Skonto, 30 Tage netto" in " ".join(
        pdftotext(letter.pdf, tmp_path).split()
    )


def test_a_shop_change_is_not_accepted_once_the_order_is_paid(merchant, pay):
    order = upsert(merchant, body("E-5"))
    edit(order, customer_email="hand@example.de")
    shop = body("E-5")
    shop["customer"]["email"] = "shop@example.de"
    upsert(merchant, shop)
    pay(order, "100.00")
    db.session.commit()
    with pytest.raises(lifecycle.Refused):
        order_edits.accept_shop_change(order, "customer_email", cause())
    db.session.rollback()
    db.session.refresh(order)
    assert order.customer_email == "hand@example.de"
    assert order.shop_changes == {"customer_email": "shop@example.de"}
