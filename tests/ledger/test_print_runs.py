"""The letters' life (ledger/documents/print_runs.py) on real PDFs: letters made from outbox
messages by the worker's delivery, print runs that take each waiting letter once, a merged PDF
and manifest without the cancelled ones (read back with pypdf and poppler's pdftotext)."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from ledger import dunning, lifecycle, orders, rulesets
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.documents import invoices, print_runs
from ledger.models import (
    AuditEntry,
    Letter,
    LetterState,
    MessageState,
    OutboxMessage,
    PrintRun,
    PrintRunState,
)
from ledger.refusals import Refused
from tests.conftest import DAY0
from worker import jobs

ACTOR = "user:owner@alpenkiste.example"
TOWNS = ["10115 Berlin", "80331 München", "20095 Hamburg", "50667 Köln", "01067 Dresden"]


def order_with_address(merchant, number: str, town: str | None = "10115 Berlin", **customer):
    body = {
        "number": number,
        "customer": {
            "name": f"Kunde {number}",
            "email": f"{number.lower()}@example.de",
            "country": "DE",
            "language": "de",
            "type": "b2c",
            **({"address": f"Hauptstraße 5\n{town}"} if town else {}),
            **customer,
        },
        "amount": "80.00",
        "currency": "EUR",
        "payment_method": "prepayment",
        "ordered_on": DAY0.isoformat(),
    }
    order = orders.upsert_order(merchant, orders.parse_order(body), "test")[0]
    db.session.commit()
    return order


def letter_for(order) -> Letter:
    """Payment information asked for on the order page, delivered by the worker."""
    message = print_runs.request_letter(order, "payment_info", ACTOR)
    db.session.commit()
    assert jobs.deliver(message.id) == "sent"
    return db.session.scalar(select(Letter).where(Letter.message_id == message.id))


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "run.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def shop(card_merchant):
    return card_merchant


def test_a_delivered_letter_message_is_a_waiting_letter_with_its_pdf(shop):
    order = order_with_address(shop, "AK-1")
    letter = letter_for(order)
    assert letter.state == LetterState.CREATED and letter.kind == "payment_info"
    assert letter.order_id == order.id and letter.merchant_id == shop.id
    assert letter.recipient.splitlines() == ["Kunde AK-1", "Hauptstraße 5", "10115 Berlin"]
    reader = PdfReader(io.BytesIO(letter.pdf))
    assert len(reader.pages) == letter.pages >= 1
    message = db.session.get(OutboxMessage, letter.message_id)
    assert message.state == MessageState.SENT  # handed to the print run


def test_a_redelivered_message_finds_its_letter(shop):
    letter = letter_for(order_with_address(shop, "AK-1"))
    message = db.session.get(OutboxMessage, letter.message_id)
    again = print_runs.create_letter(message, shop)  # the worker died before `sent` was kept
    assert again.id == letter.id
    assert db.session.scalar(select(func.count(Letter.id))) == 1


def test_no_postal_address_fails_the_message_with_the_reason_and_makes_no_letter(shop):
    order = order_with_address(shop, "AK-1", town=None)
    with pytest.raises(Refused) as refused:  # the order page refuses to ask for it
        print_runs.request_letter(order, "payment_info", ACTOR)
    assert refused.value.code == "no_postal_address"
    # A reminder letter the rules wrote anyway (the address went missing): failed, not sent.
    rulesets.save_and_activate(shop, "vorkasse after 14 days: remind by letter\n", "test")
    db.session.commit()
    dunning.execute(shop, DAY0 + timedelta(days=14))
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "letter"))
    assert jobs.deliver(message.id) == "failed"
    db.session.refresh(message)
    assert message.state == MessageState.FAILED
    assert "no postal address" in message.last_error
    assert db.session.scalar(select(func.count(Letter.id))) == 0


def test_a_reminder_by_letter_carries_its_level(shop):
    rulesets.save_and_activate(shop, "vorkasse after 14 days: remind by letter\n", "test")
    db.session.commit()
    order_with_address(shop, "AK-1")
    dunning.execute(shop, DAY0 + timedelta(days=14))
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "letter"))
    assert jobs.deliver(message.id) == "sent"
    letter = db.session.scalar(select(Letter))
    assert (letter.kind, letter.level) == ("reminder", 1)


def test_cancel_before_the_run_keeps_the_letter_out_of_it(shop):
    kept = letter_for(order_with_address(shop, "AK-1"))
    stopped = letter_for(order_with_address(shop, "AK-2"))
    print_runs.cancel_letter(stopped, ACTOR, "customer phoned")
    db.session.commit()
    run = print_runs.start_print_run(shop, DAY0, ACTOR)
    db.session.commit()
    assert [letter.id for letter in print_runs.letters_of(run)] == [kept.id]
    assert stopped.state == LetterState.CANCELLED and stopped.print_run_id is None
    assert stopped.cancel_reason == "customer phoned" and stopped.cancelled_by == ACTOR
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letter.cancelled"))
    assert entry.detail == {"letter": stopped.id, "reason": "customer phoned"}


def test_the_merged_pdf_has_all_and_only_the_uncancelled_letters(shop, tmp_path):
    made = [letter_for(order_with_address(shop, f"AK-{n}", town)) for n, town in enumerate(TOWNS)]
    run = print_runs.start_print_run(shop, DAY0, ACTOR)
    db.session.commit()
    assert {letter.state for letter in made} == {LetterState.IN_PRINT_RUN}
    print_runs.cancel_letter(made[2], ACTOR, "paid at the counter")  # after the run was made
    db.session.commit()
    pdf = print_runs.merged_pdf(run)
    kept = [letter for letter in made if letter is not made[2]]
    assert len(PdfReader(io.BytesIO(pdf)).pages) == sum(letter.pages for letter in kept)
    text = pdftotext(pdf, tmp_path)
    for letter in kept:
        assert letter.order.number in text and town_of(letter) in text
    assert "Kunde AK-2" not in text and "Hamburg" not in text
    rows = list(csv.DictReader(io.StringIO(print_runs.manifest_csv(run))))
    assert [int(row["letter"]) for row in rows] == [letter.id for letter in kept]
    assert [row["position"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0]["recipient"] == "Kunde AK-0" and rows[0]["town"] == "10115 Berlin"
    assert rows[0]["kind"] == "payment_info" and rows[0]["order"] == "AK-0"
    first = 1
    for row, letter in zip(rows, kept, strict=True):
        assert int(row["first_page"]) == first and int(row["pages"]) == letter.pages
        first += letter.pages


def town_of(letter: Letter) -> str:
    return letter.recipient.splitlines()[-1]


def test_two_print_runs_never_take_a_letter_twice(shop):
    made = [letter_for(order_with_address(shop, f"AK-{n}")) for n in range(3)]
    first = print_runs.start_print_run(shop, DAY0, ACTOR)
    second = print_runs.start_print_run(shop, DAY0, ACTOR)  # the second click
    db.session.commit()
    assert second is None
    assert [letter.id for letter in print_runs.letters_of(first)] == [m.id for m in made]
    assert db.session.scalar(select(func.count(PrintRun.id))) == 1
    later = letter_for(order_with_address(shop, "AK-9"))
    third = print_runs.start_print_run(shop, DAY0 + timedelta(days=1), ACTOR)
    db.session.commit()
    assert [letter.id for letter in print_runs.letters_of(third)] == [later.id]


def test_a_run_started_meanwhile_leaves_nothing_to_take(shop, monkeypatch):
    """The race: both clicks saw waiting letters; the other click's UPDATE lands first, ours
    takes none and leaves no empty run behind."""
    letter = letter_for(order_with_address(shop, "AK-1"))
    other = PrintRun(merchant_id=shop.id, day=DAY0, state=PrintRunState.OPEN, created_by="x")
    db.session.add(other)
    db.session.flush()
    real_move = print_runs._move

    def other_click_first(what, move, *conditions, **values):
        if move == "take":
            real_move(what, move, Letter.merchant_id == shop.id, print_run_id=other.id)
        return real_move(what, move, *conditions, **values)

    monkeypatch.setattr(print_runs, "_move", other_click_first)
    assert print_runs.start_print_run(shop, DAY0, ACTOR) is None
    db.session.commit()
    assert db.session.scalar(select(PrintRun.id)) == other.id
    db.session.refresh(letter)
    assert letter.print_run_id == other.id


def test_printed_then_posted_and_a_posted_letter_cannot_be_cancelled(shop):
    made = [letter_for(order_with_address(shop, f"AK-{n}")) for n in range(2)]
    run = print_runs.start_print_run(shop, DAY0, ACTOR)
    with pytest.raises(Refused) as refused:
        print_runs.mark_posted(run, ACTOR)  # not printed yet
    assert refused.value.code == "print_run_state"
    print_runs.mark_printed(run, ACTOR)
    print_runs.cancel_letter(made[1], ACTOR, "returned")  # printed, not posted: still possible
    print_runs.mark_posted(run, ACTOR)
    db.session.commit()
    for letter in made:
        db.session.refresh(letter)
    assert run.state == PrintRunState.POSTED and run.posted_at is not None
    assert made[0].state == LetterState.POSTED and made[0].posted_at is not None
    assert made[0].printed_at is not None
    assert made[1].state == LetterState.CANCELLED and made[1].posted_at is None
    with pytest.raises(Refused) as refused:
        print_runs.cancel_letter(made[0], ACTOR, "too late")
    assert refused.value.code == "letter_state" and str(refused.value) == "the letter is posted"
    with pytest.raises(Refused):
        print_runs.cancel_letter(made[1], ACTOR, "twice")
    db.session.rollback()
    assert db.session.get(Letter, made[0].id).state == LetterState.POSTED
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("print_run.")] == [
        "print_run.started", "print_run.printed", "print_run.posted",
    ]  # fmt: skip


def test_nothing_waiting_makes_no_run(shop):
    assert print_runs.start_print_run(shop, DAY0, ACTOR) is None
    assert db.session.scalar(select(func.count(PrintRun.id))) == 0


def test_a_waiting_reminder_to_a_paid_order_is_not_printed(shop, pay):
    rulesets.save_and_activate(shop, "vorkasse after 14 days: remind by letter\n", "test")
    db.session.commit()
    order = order_with_address(shop, "AK-1")
    dunning.execute(shop, DAY0 + timedelta(days=14))
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "letter"))
    jobs.deliver(message.id)
    pay(order, "80.00", DAY0 + timedelta(days=15))
    db.session.commit()
    assert print_runs.start_print_run(shop, DAY0 + timedelta(days=16), ACTOR) is None
    letter = db.session.scalar(select(Letter))
    assert letter.state == LetterState.CANCELLED and letter.cancelled_by == "system"
    assert "paid" in letter.cancel_reason


def test_waiting_payment_information_prints_for_a_blocked_order_not_a_cancelled_one(shop):
    blocked, cancelled = order_with_address(shop, "AK-1"), order_with_address(shop, "AK-2")
    first, second = letter_for(blocked), letter_for(cancelled)
    today = DAY0 + timedelta(days=3)
    lifecycle.block(blocked, lifecycle.Cause(ACTOR, "manual", today, reason="Rückfrage"))
    lifecycle.cancel(cancelled, lifecycle.Cause(ACTOR, "manual", today))
    db.session.commit()
    run = print_runs.start_print_run(shop, today, ACTOR)
    assert [letter.id for letter in print_runs.letters_of(run)] == [first.id]
    db.session.refresh(second)
    assert second.state == LetterState.CANCELLED and "cancelled" in second.cancel_reason


def test_other_merchants_letters_stay_out(shop, make_merchant):
    other = find_merchant(make_merchant("Bergladen AG")["name"])
    mine = letter_for(order_with_address(shop, "AK-1"))
    letter_for(order_with_address(other, "BL-1"))
    run = print_runs.start_print_run(shop, DAY0, ACTOR)
    assert [letter.id for letter in print_runs.letters_of(run)] == [mine.id]


def small_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_invoice_letter_prints_the_shops_invoice_first(shop, tmp_path):
    order = order_with_address(shop, "AK-1")
    with pytest.raises(Refused) as refused:
        print_runs.request_letter(order, "invoice", ACTOR)
    assert refused.value.code == "no_invoice"
    invoices.store_invoice(order, "RE-1.pdf", small_pdf(2), ACTOR)
    message = print_runs.request_letter(order, "invoice", ACTOR)
    db.session.commit()
    assert jobs.deliver(message.id) == "sent"
    letter = db.session.scalar(select(Letter))
    assert letter.kind == "invoice" and letter.pages >= 3  # the invoice's two, then the slip


def test_invoice_uploads_are_checked_and_replace_the_one_before(shop):
    order = order_with_address(shop, "AK-1")
    for data, code in [
        (b"<html><body>Rechnung</body></html>", "not_a_pdf"),
        (b"%PDF-1.7\nnot really", "not_a_pdf"),
        (b"%PDF-" + b"0" * invoices.MAX_BYTES, "file_too_big"),
    ]:
        with pytest.raises(Refused) as refused:
            invoices.store_invoice(order, "x.pdf", data, ACTOR)
        assert refused.value.code == code
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("secret")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(Refused) as refused:
        invoices.store_invoice(order, "x.pdf", locked.getvalue(), ACTOR)
    assert refused.value.code == "pdf_encrypted"
    assert invoices.invoice_of(order) is None
    first = invoices.store_invoice(order, "RE-1.pdf", small_pdf(1), ACTOR)
    second = invoices.store_invoice(order, "RE-1b.pdf", small_pdf(3), ACTOR)
    db.session.commit()
    assert first.id == second.id and (second.filename, second.pages) == ("RE-1b.pdf", 3)
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "invoice.stored")
    ).all()
    assert [d["replaced"] for d in details] == [False, True]


def test_print_run_day_is_kept(shop):
    letter_for(order_with_address(shop, "AK-1"))
    run = print_runs.start_print_run(shop, date(2026, 10, 2), ACTOR)
    assert run.day == date(2026, 10, 2) and run.created_by == ACTOR


def test_the_command_line_starts_a_run_and_writes_its_files(app, shop, tmp_path):
    made = [letter_for(order_with_address(shop, f"AK-{n}")) for n in range(2)]
    pages = sum(letter.pages for letter in made)
    runner = app.test_cli_runner()
    out, manifest = tmp_path / "run.pdf", tmp_path / "run.csv"
    args = ["letter", "print-run", "--merchant", shop.name]
    result = runner.invoke(args=[*args, "--out", str(out), "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert f"2 letters, {pages} pages" in result.output
    assert len(PdfReader(out).pages) == pages
    assert len(manifest.read_text(encoding="utf-8").splitlines()) == 3
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "nothing to print" in again.output
    unknown = runner.invoke(args=["letter", "print-run", "--merchant", "Nobody"])
    assert unknown.exit_code != 0 and "no merchant named 'Nobody'" in unknown.output


def test_erasing_the_customer_stops_the_letter_and_drops_every_pdf(shop):
    from ledger import manual

    waiting = order_with_address(shop, "AK-900")
    letter = letter_for(waiting)
    data = _small_pdf()
    invoices.store_invoice(waiting, "Rechnung Kunde AK-900.pdf", data, ACTOR)
    db.session.commit()
    manual.erase_personal_data(waiting, ACTOR, DAY0)
    db.session.commit()
    db.session.refresh(letter)
    assert letter.state == LetterState.CANCELLED
    assert letter.pdf is None and "Kunde" not in letter.recipient
    invoice = invoices.invoice_of(waiting)
    assert invoice.pdf is None and "Kunde" not in invoice.filename
    assert invoice.sha256 and invoice.pages == 1  # what the books need stays
    assert print_runs.start_print_run(shop, DAY0, ACTOR) is None  # nothing left to print


def _small_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
