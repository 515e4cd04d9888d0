"""ledger/notices.py: the cancellation notice (email or letter, and the last look that keeps it
from an order no longer cancelled), the optional "payment received" mail on every path that
pays an order, and payment information sent again on request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.camt_file import Booking, camt053
from ledger import lifecycle, notices, order_messages, orders, outbox
from ledger.bank import importing
from ledger.db import db
from ledger.documents import print_runs
from ledger.models import AuditEntry, Letter, OutboxMessage, Source
from tests.conftest import DAY0
from worker import jobs

ACTOR = "user:owner@alpenkiste.example"
OWN_IBAN = "DE02120300000000202051"


def cause(reason="not paid"):
    return lifecycle.Cause(ACTOR, Source.MANUAL, DAY0, reason=reason)


def new_order(merchant, number, country="DE", language="de", address=None, email=True, **extra):
    customer = {"name": f"Kunde {number}", "email": f"{number.lower()}@example.de",
                "country": country, "language": language, "type": "b2c"}  # fmt: skip
    if address:
        customer["address"] = address
    body = {
        "number": number,
        "customer": customer,
        "amount": "80.00",
        "currency": "CHF" if country == "CH" else "EUR",
        "payment_method": "prepayment",
        "ordered_on": DAY0.isoformat(),
    } | extra
    order, _ = orders.upsert_order(merchant, orders.parse_order(body), "api")
    if not email:  # the API asks for one; an order stored before it did may have none
        order.customer_email = ""
    db.session.commit()
    return order


def cancel(order, how):
    def unit():
        locked = lifecycle.lock(order)
        lifecycle.cancel(locked, cause())
        return notices.send_cancellation_notice(locked, how, ACTOR)

    return lifecycle.retrying(unit)


def messages_of(order, purpose):
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.order_id == order.id, OutboxMessage.purpose == purpose)
        .order_by(OutboxMessage.id)
    ).all()


def audits(order, action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.order_id == order.id, AuditEntry.action == action)
    ).all()


# --- the cancellation notice ---------------------------------------------------------------


def test_a_cancellation_by_email_tells_the_customer_in_german(card_merchant):
    order = new_order(card_merchant, "AK-1")
    message = cancel(order, "email")
    assert (message.kind, message.purpose, message.recipient) == (
        "email", "cancellation", "ak-1@example.de",
    )  # fmt: skip
    assert message.subject == "Stornierung Ihrer Bestellung AK-1"
    assert "Ihre Bestellung AK-1 vom 01.10.2026 über 80,00" in message.body
    assert "(Vorkasse) nicht bei uns eingegangen" in message.body
    assert "Wir erstatten Ihnen den Betrag" in message.body
    assert "Mit freundlichen Grüßen" in message.body
    assert "<p" in message.html and "AK-1" in message.html
    [entry] = audits(order, "order.cancellation_notice")
    assert entry.detail["how"] == "email" and entry.detail["message"] == message.id
    assert "cancellation" not in outbox.CUSTOMER_PURPOSES  # a cancel must not withdraw it
    assert jobs._still_wanted(message) is None  # still cancelled: it goes


def test_swiss_german_writes_no_sharp_s_and_english_speaks_english(card_merchant):
    swiss = cancel(new_order(card_merchant, "AK-2", country="CH"), "email")
    assert "ß" not in swiss.body + swiss.html + swiss.subject
    assert "Mit freundlichen Grüssen" in swiss.body
    english = cancel(new_order(card_merchant, "AK-3", language="en"), "email")
    assert english.subject == "Cancellation of your order AK-3"
    assert "we have cancelled your order AK-3" in english.body
    for lang, words in (("fr", "Annulation de votre commande"), ("it", "Annullamento")):
        message = cancel(new_order(card_merchant, f"AK-{lang}", language=lang), "email")
        assert message.subject.startswith(words)


def test_none_sends_nothing_and_without_an_email_it_is_refused(card_merchant):
    order = new_order(card_merchant, "AK-4")
    assert cancel(order, "none") is None
    assert messages_of(order, "cancellation") == [] and not audits(
        order, "order.cancellation_notice"
    )
    silent = new_order(card_merchant, "AK-5", email=False)
    with pytest.raises(lifecycle.Refused) as refused:
        cancel(silent, "email")
    assert refused.value.reason.code == "no_customer_email"
    db.session.refresh(silent)
    assert silent.status == "unpaid"  # the whole unit is rolled back: nothing stored
    with pytest.raises(lifecycle.Refused):
        cancel(new_order(card_merchant, "AK-6"), "fax")


def test_a_notice_to_an_order_not_cancelled_is_refused(card_merchant):
    order = new_order(card_merchant, "AK-7")
    with pytest.raises(lifecycle.Refused) as refused:
        notices.send_cancellation_notice(order, "email", ACTOR)
    assert refused.value.reason.code == "status"


def test_a_cancellation_letter_needs_an_address_and_becomes_a_letter(card_merchant):
    with pytest.raises(print_runs.Refused) as refused:
        cancel(new_order(card_merchant, "AK-8"), "letter")
    assert refused.value.reason.code == "no_postal_address"
    order = new_order(card_merchant, "AK-9", address="Hauptstr. 1\n10115 Berlin")
    message = cancel(order, "letter")
    assert (message.kind, message.purpose) == ("letter", "cancellation")
    assert message.recipient == "Kunde AK-9\nHauptstr. 1\n10115 Berlin"
    assert audits(order, "order.cancellation_notice")[0].detail["how"] == "letter"
    assert jobs.deliver(message.id) == "sent"
    letter = db.session.scalar(select(Letter).where(Letter.message_id == message.id))
    assert letter.kind == "cancellation" and letter.state == "created"
    with pytest.raises(print_runs.Refused):  # request_letter stays closed to other kinds
        print_runs.request_letter(order, "cancellation", ACTOR)


def test_a_reactivated_or_paid_order_gets_no_cancellation_notice(card_merchant, pay):
    paid = new_order(card_merchant, "AK-10")
    message = cancel(paid, "email")
    pay(lifecycle.lock(paid))  # a payment after the cancellation, before the mail went out
    db.session.commit()
    assert jobs.deliver(message.id) == "cancelled"
    db.session.refresh(message)
    assert message.state == "cancelled" and "paid already" in message.last_error

    order = new_order(card_merchant, "AK-11", address="Hauptstr. 1\n10115 Berlin")
    mail, letter_message = cancel(order, "email"), None
    letter_message = lifecycle.retrying(
        lambda: notices.send_cancellation_notice(lifecycle.lock(order), "letter", ACTOR)
    )
    assert jobs.deliver(letter_message.id) == "sent"  # the letter waits for a print run
    pay(lifecycle.lock(order))
    db.session.commit()
    lifecycle.retrying(lambda: lifecycle.reactivate(lifecycle.lock(order), cause()))
    assert lifecycle.may_message(order, "cancellation").code == "status"
    assert jobs.deliver(mail.id) == "cancelled"
    run = print_runs.start_print_run(card_merchant, DAY0, ACTOR)  # the last look before print
    db.session.commit()
    assert run is None  # the only waiting letter was withdrawn
    letter = db.session.scalar(select(Letter).where(Letter.message_id == letter_message.id))
    assert letter.state == "cancelled"


# --- payment received ------------------------------------------------------------------------


def wants_mail(merchant, on=True):
    merchant.payment_received_mail = on
    db.session.commit()


def test_a_payment_settling_the_order_sends_one_confirmation(card_merchant, pay):
    wants_mail(card_merchant)
    order = new_order(card_merchant, "AK-20")
    pay(order)
    db.session.commit()
    [message] = messages_of(order, "payment_received")
    assert (message.kind, message.recipient, message.state) == (
        "email", "ak-20@example.de", "pending",
    )  # fmt: skip
    assert message.subject == "Zahlungseingang zu Ihrer Bestellung AK-20"
    assert "Ihre Zahlung über 80,00" in message.body and "am 01.10.2026" in message.body
    assert "vollständig bezahlt" in message.body
    assert message.id in outbox.due_ids(message.created_at + outbox.LEASE)  # the sweep sends it
    assert jobs.deliver(message.id) == "sent"


def test_a_confirmation_waiting_is_not_sent_once_the_payment_is_undone_or_unsubscribed(
    card_merchant, pay
):
    """The last look: a payment marked by mistake and undone before the sweep sends its mail,
    or a customer who unsubscribed meanwhile, gets no "fully paid" mail."""
    wants_mail(card_merchant)
    undone, unsubscribed = new_order(card_merchant, "AK-21"), new_order(card_merchant, "AK-22")
    entry, _ = pay(undone)
    pay(unsubscribed)
    db.session.commit()
    lifecycle.retrying(lambda: lifecycle.reverse_payment(undone, entry, cause()))
    order_messages.unsubscribe(unsubscribed, ACTOR)
    db.session.commit()
    for order in (undone, unsubscribed):
        [message] = messages_of(order, "payment_received")
        assert jobs.deliver(message.id) == "cancelled"
    assert "unsubscribed" in messages_of(unsubscribed, "payment_received")[0].last_error


def test_no_confirmation_when_off_unsubscribed_partial_or_without_email(card_merchant, pay):
    off = new_order(card_merchant, "AK-21")
    pay(off)
    wants_mail(card_merchant)
    unsubscribed = new_order(card_merchant, "AK-22")
    order_messages.unsubscribe(unsubscribed, ACTOR)
    db.session.commit()
    pay(unsubscribed)
    partial = new_order(card_merchant, "AK-23")
    pay(partial, amount="30.00")
    silent = new_order(card_merchant, "AK-24", email=False)
    pay(silent)
    db.session.commit()
    for order in (off, unsubscribed, partial, silent):
        db.session.refresh(order)
        assert messages_of(order, "payment_received") == [], order.number
    assert partial.status == "partially_paid"
    pay(partial, amount="50.00")  # the rest settles it: now one
    db.session.commit()
    [message] = messages_of(partial, "payment_received")
    assert "Ihre Zahlung über 50,00" in message.body


def test_a_bank_import_paying_two_orders_sends_two_confirmations(card_merchant):
    wants_mail(card_merchant)
    first, second = new_order(card_merchant, "AK-30"), new_order(card_merchant, "AK-31")
    third = new_order(card_merchant, "AK-32")  # paid in part: no mail
    bookings = [
        Booking(Decimal("80.00"), DAY0, name="Kunde AK-30", remittance="AK-30"),
        Booking(Decimal("80.00"), DAY0, name="Kunde AK-31", remittance="AK-31"),
        Booking(Decimal("20.00"), DAY0, name="Kunde AK-32", remittance="AK-32"),
    ]
    importing.import_file(
        card_merchant, camt053(OWN_IBAN, bookings), "s.xml", "upload", ACTOR, DAY0
    )
    db.session.commit()
    for order in (first, second, third):
        db.session.refresh(order)
    assert (first.status, second.status, third.status) == ("paid", "paid", "partially_paid")
    assert len(messages_of(first, "payment_received")) == 1
    assert len(messages_of(second, "payment_received")) == 1
    assert messages_of(third, "payment_received") == []


def test_the_batch_queues_the_confirmation_once_per_order(card_merchant):
    wants_mail(card_merchant)
    order = new_order(card_merchant, "AK-33")
    batch = lifecycle.PaymentBatch()
    [locked] = lifecycle.lock_many([order.id])
    batch.expect([order.id], "bank", ["t1", "t2"])
    bank = lifecycle.Cause("test", "bank", DAY0)
    for reference, amount in (("t1", "30.00"), ("t2", "50.00")):
        lifecycle.record_payment(locked, Decimal(amount), DAY0, bank, reference, batch=batch)
    assert messages_of(order, "payment_received") == []  # queued when the batch finishes
    batch.finish()
    db.session.commit()
    [message] = messages_of(order, "payment_received")
    assert "Ihre Zahlung über 50,00" in message.body


# --- payment information on request ----------------------------------------------------------


def test_payment_information_goes_on_request_whatever_the_setting(card_merchant, pay):
    card_merchant.payment_info_on_change = False
    db.session.commit()
    order = new_order(card_merchant, "AK-40")
    message = notices.send_payment_info(order, ACTOR)
    db.session.commit()
    assert (message.kind, message.purpose, message.recipient) == (
        "email", "payment_info", "ak-40@example.de",
    )  # fmt: skip
    assert "Zahlungsinformationen" in message.subject and "80,00" in message.body
    assert audits(order, "order.payment_info_resent")[0].detail["message"] == message.id
    pay(order)
    db.session.commit()
    with pytest.raises(lifecycle.Refused) as refused:
        notices.send_payment_info(order, ACTOR)
    assert refused.value.reason.code == "status"
    silent = new_order(card_merchant, "AK-41", email=False)
    assert notices.why_not_payment_info(silent).code == "no_customer_email"
    with pytest.raises(lifecycle.Refused):
        notices.send_payment_info(silent, ACTOR)
