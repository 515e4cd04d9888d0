"""What the ledger stores in English for people (ledger.notes: money entries' notes, the
reasons of the dunning events it writes, why a message was withdrawn, a run's notes), a failed
run's error and a bank's return reason code, shown in the user's language on the order, outbox,
runs and bank pages; stored in English all the same."""

from __future__ import annotations

import html
import io
from datetime import date
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from sqlalchemy import select

from bench.camt_file import Booking, camt053
from ledger import notes, refusals
from portal import reasons
from tests.portal.conftest import PORTAL_RULES, order_body
from tests.portal.test_i18n import CATALOG

GERMAN = "de-DE,de;q=0.9"
IBAN = "DE02120300000000202051"  # make_merchant's account

# The common SEPA return reasons the brief of issue 13 names: each has its meaning.
SEPA_RETURN_CODES = [
    "AC01",
    "AC04",
    "AC06",
    "AG01",
    "AG02",
    "AM04",
    "AM05",
    "BE05",
    "CNOR",
    "DNOR",
    "FF01",
    "MD01",
    "MD02",
    "MD06",
    "MD07",
    "MS02",
    "MS03",
    "RC01",
    "RR01",
    "RR02",
    "RR03",
    "RR04",
    "SL01",
    "FOCR",
    "DUPL",
    "TECH",
    "FRAD",
    "CUST",
    "UPAY",
]


@pytest.fixture(scope="module")
def german():
    with CATALOG.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="de") if m.id and not m.fuzzy}


def page(portal, path: str, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = portal.get(path, headers=headers)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


VALUES = {  # every note template's values
    "level": 2,
    "start": "2026-10-15",
    "end": "2026-11-14",
    "law": "§ 288 Abs. 1 BGB",
    "actor": "user:anna@alpenkiste.example",
    "amount": "80.00",
    "currency": "EUR",
    "count": 3,
    "why": "deferred",  # the rules' words: test_why_a_step_waits_…
}


def test_every_note_is_read_back_by_its_code_and_reads_in_german(app, german):
    with app.test_request_context():
        for code in notes.TEXTS:
            stored = notes.text(code, **VALUES)
            assert refusals.parse(stored, notes.TEXTS)[0] == code, stored
            with force_locale("en"):
                assert reasons.stored_text(stored) == stored.replace(
                    "2026-10-15", "Oct 15, 2026"
                ).replace("2026-11-14", "Nov 14, 2026")
            with force_locale("de"):
                assert reasons.stored_text(stored) == german[reasons.NOTES[code]._args[0]] % {
                    **VALUES,
                    "start": "15.10.2026",
                    "end": "14.11.2026",
                    "amount": "80,00",
                }
        with force_locale("de"):
            assert reasons.stored_text("Kunde bestreitet die Rechnung") == (
                "Kunde bestreitet die Rechnung"  # a person's own words stay as they are
            )
            assert reasons.stored_text(str(refusals.Refusal("erased"))) == (
                "die Daten des Kunden wurden gelöscht"
            )
            assert notes.text("marked_paid") == "marked paid by hand"  # stored in English


def test_a_reminder_by_hand_a_payment_by_hand_and_the_withdrawn_reminder(
    app, portal, seed, merchant_info
):
    """Items 1, 2 and 4: the order page's dunning history, money ledger and messages, and the
    outbox page, in German and in English."""
    app.config["MAHNWERK_TODAY"] = "2026-10-20"
    seed(merchant_info["id"], [order_body("AK-1")], PORTAL_RULES)
    assert portal.post("/orders/AK-1/remind").status_code == 200
    assert portal.post("/orders/AK-1/mark-paid").status_code == 200  # withdraws the reminder
    actor = f"user:{merchant_info['email']}"

    deutsch = page(portal, "/orders/AK-1", GERMAN)
    assert f"Zahlungserinnerung von Hand gesendet ({actor})" in deutsch
    assert "(von Hand als bezahlt markiert)" in deutsch and "(Bestellbetrag)" in deutsch
    assert "Zurückgezogen: die Bestellung wurde bezahlt" in deutsch
    for english in ("reminder sent by hand", "marked paid by hand", "the order was paid"):
        assert english not in deutsch
    assert "Zurückgezogen: die Bestellung wurde bezahlt" in page(
        portal, "/outbox?state=cancelled", GERMAN
    )

    english = page(portal, "/orders/AK-1")
    assert f"reminder sent by hand ({actor})" in english
    assert "(marked paid by hand)" in english and "(order amount)" in english
    assert "Withdrawn: the order was paid" in english
    assert "Withdrawn: the order was paid" in page(portal, "/outbox?state=cancelled")

    from ledger.db import db
    from ledger.models import DunningEvent, LedgerEntry

    with app.app_context():  # the rows keep their English
        assert db.session.scalar(select(DunningEvent.reason)) == f"reminder sent by hand ({actor})"
        assert "marked paid by hand" in db.session.scalars(select(LedgerEntry.note)).all()


def test_a_payment_after_the_cancellation_tells_accounting_in_the_users_language(
    app, portal, seed, merchant_info
):
    """Item 3: the notify event of a payment on a cancelled order."""
    from ledger import lifecycle, orders
    from ledger.db import db
    from ledger.models import Merchant, Source

    app.config["MAHNWERK_TODAY"] = "2026-10-20"
    seed(merchant_info["id"], [order_body("AK-2", amount="1234.50")], PORTAL_RULES)
    assert portal.post("/orders/AK-2/cancel", {"reason": "Kunde storniert"}).status_code == 200
    with app.app_context():
        order = orders.find_order(merchant_info["id"], "AK-2")
        cause = lifecycle.Cause("api", Source.API, date(2026, 10, 21))
        lifecycle.record_payment(order, Decimal("1234.50"), date(2026, 10, 21), cause, "P-1")
        db.session.commit()
        assert db.session.get(Merchant, merchant_info["id"]).accounting_email

    deutsch = page(portal, "/orders/AK-2", GERMAN)
    assert "Zahlung von 1.234,50 EUR nach der Stornierung eingegangen" in deutsch
    assert "received after the cancellation" not in deutsch
    assert "payment of 1,234.50 EUR received after the cancellation" in page(portal, "/orders/AK-2")


def test_a_failed_run_says_so_before_its_technical_error(app, portal, merchant_info):
    """Item 5: the runs page keeps the error as the worker caught it, after a lead-in; a run's
    own notes are translated."""
    from ledger import dunning
    from ledger.db import db
    from ledger.models import Merchant

    day = date(2026, 10, 20)
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        failed = dunning.start_run(merchant, day, "portal", "user:anna@alpenkiste.example")
        dunning.finish_run(
            failed, dunning.RunSummary(day), error="OperationalError: database is locked"
        )
        done = dunning.start_run(merchant, day, "portal")
        dunning.finish_run(done, dunning.execute(merchant, day, run=done))  # no rules
        db.session.commit()
        assert done.error == "no active rules"  # stored in English
        failed_id, done_id = failed.id, done.id

    deutsch = page(portal, f"/runs/{failed_id}/progress", GERMAN)
    assert "Der Lauf ist fehlgeschlagen: OperationalError: database is locked" in deutsch
    assert 'title="Der Lauf ist fehlgeschlagen: OperationalError' in deutsch  # the history's !
    assert "keine aktiven Regeln" in page(portal, f"/runs/{done_id}/progress", GERMAN)
    english = page(portal, f"/runs/{failed_id}/progress")
    assert "The run failed: OperationalError: database is locked" in english
    assert "no active rules" in page(portal, f"/runs/{done_id}/progress")


def test_every_common_sepa_return_reason_has_its_meaning_in_both_languages(app, german):
    """Item 6: the table holds the common codes (no more, no fewer), each with a German text."""
    assert sorted(reasons.RETURN_REASONS) == sorted(SEPA_RETURN_CODES)
    for code, meaning in reasons.RETURN_REASONS.items():
        msgid = meaning._args[0]
        assert german.get(msgid) and german[msgid] != msgid, code
    with app.test_request_context():
        with force_locale("de"):
            assert reasons.return_reason("MD06") == (
                "MD06: Erstattung auf Verlangen des Zahlers (Widerspruch)"
            )
            assert reasons.return_reason("XY99") == "XY99"  # unknown: the code alone
            assert reasons.return_reason(None) == ""
        with force_locale("en"):
            assert reasons.return_reason("AC04") == "AC04: account closed"


def test_a_returned_payment_says_what_its_code_means(app, portal, seed, merchant_info):
    """Item 6 on the pages: the transaction page, and the order page's reversal note."""
    from ledger.db import db
    from ledger.models import BankTransaction

    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    seed(merchant_info["id"], [order_body("AK-10009", amount="80.00")])
    day = date(2026, 10, 5)
    paid = Booking(
        Decimal("80.00"), day, name="Kunde AK-10009", remittance="AK-10009", end_to_end="E2E-9"
    )
    back = Booking(Decimal("80.00"), day, credit=False, remittance="Retoure AK-10009",
                   end_to_end="E2E-9", return_reason="AC04")  # fmt: skip
    body = camt053(IBAN, [paid, back], statement_id="STMT-R")
    response = portal.post(
        "/bank/import",
        {"files": [(io.BytesIO(body), "day.xml")], "csrf_token": portal.token},
        htmx=False,
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 302, 303)
    with app.app_context():
        returned = db.session.scalar(
            select(BankTransaction.id).where(BankTransaction.return_reason == "AC04")
        )
    assert returned

    deutsch = page(portal, f"/bank/transactions/{returned}", GERMAN)
    assert "AC04: Konto aufgelöst" in deutsch
    assert "(von der Bank zurückgebucht (AC04: Konto aufgelöst))" in page(
        portal, "/orders/AK-10009", GERMAN
    )
    assert "AC04: account closed" in page(portal, f"/bank/transactions/{returned}")
    assert "(returned by the bank (AC04: account closed))" in page(portal, "/orders/AK-10009")


def test_why_a_step_waits_reads_in_german_on_its_own_and_in_a_runs_note(app):
    """The rules' deferral reasons (rules.evaluator.DEFERRALS): the order page's held step and
    the run's count of held orders, each part translated."""
    from rules import evaluator

    old = evaluator.DEFERRALS["held_old_data"].format(day="27.11.", days=3)
    gap = evaluator.DEFERRALS["min_gap"].format(days=7)
    line = notes.text("run_held", count=2, why=f"{old}; {gap}")
    with app.test_request_context(), force_locale("de"):
        assert reasons.stored_text(old) == "angehalten: Bankdaten vom 27.11., älter als 3 Tage"
        assert reasons.stored_text(line) == (
            "2 Bestellung(en) angehalten: Bankdaten vom 27.11., älter als 3 Tage; "
            "mindestens 7 Tage zwischen Zahlungserinnerungen"
        )
    with app.test_request_context(), force_locale("en"):
        assert reasons.stored_text(line) == line
