"""The letters' life after rendering: a letter waits (`created`), a print run takes the waiting
letters of a merchant into one merged PDF with a CSV manifest, a person prints and posts it.

One table (`MOVES`) says which move takes a letter or a run from which states to which: every
move is one conditional UPDATE (… WHERE state IN the allowed ones), so two clicks, or a worker
and a person, never move the same letter twice — two print runs cannot share a letter. A letter
can be cancelled until it is posted; a cancelled letter drops out of its run's PDF and manifest,
which are made on request from the stored PDFs.

Letters come from outbox messages of kind `letter` (worker.channels.letter): one letter per
message, so a message delivered again after a crash finds its letter instead of making another.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from pypdf import PdfReader, PdfWriter
from sqlalchemy import select, update

from ledger import audit, lifecycle, outbox
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import invoices, letters
from ledger.models import (
    Letter,
    LetterState,
    Merchant,
    Order,
    OutboxMessage,
    PrintRun,
    PrintRunState,
    utcnow,
)

# The outbox purposes a letter is made for (the letter's kind).
KINDS = letters.KINDS
# Letters a person may ask for from the order page (request_letter).
ON_REQUEST = ("payment_info", "invoice")

L, R = LetterState, PrintRunState
# (what, move) → (the states it may start from, the state it ends in)
MOVES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("letter", "take"): ((L.CREATED,), L.IN_PRINT_RUN),
    ("letter", "print"): ((L.IN_PRINT_RUN,), L.PRINTED),
    ("letter", "post"): ((L.PRINTED,), L.POSTED),
    ("letter", "cancel"): ((L.CREATED, L.IN_PRINT_RUN, L.PRINTED), L.CANCELLED),
    ("run", "print"): ((R.OPEN,), R.PRINTED),
    ("run", "post"): ((R.PRINTED,), R.POSTED),
}


class Refused(lifecycle.Refused):
    """A move the table does not allow (or a letter nobody can send); nothing was changed."""


def can(thing: Letter | PrintRun, move: str) -> bool:
    """For the pages: whether the table allows the move from the thing's state now."""
    what = "letter" if isinstance(thing, Letter) else "run"
    return thing.state in MOVES[(what, move)][0]


def _move(what: str, move: str, *conditions, **values) -> int:
    """One conditional UPDATE of the letters or runs meeting `conditions` and in a state the move
    starts from; returns how many moved."""
    model = Letter if what == "letter" else PrintRun
    starts, ends = MOVES[(what, move)]
    return db.session.execute(
        update(model)
        .where(*conditions, model.state.in_(starts))
        .values(state=ends, **values)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- letters ---------------------------------------------------------------------------------


def create_letter(message: OutboxMessage, merchant: Merchant) -> Letter:
    """Render the letter an outbox message asks for and keep it for the next print run. The
    letter of a message delivered before (a redelivery after a crash) is returned as it is.
    letters.LetterError (no postal address, no invoice, …) goes to the caller: nothing stored."""
    existing = db.session.scalar(select(Letter).where(Letter.message_id == message.id))
    if existing is not None:
        return existing
    kind = message.purpose
    if kind not in KINDS:
        raise letters.LetterError(f"there is no letter for {kind!r}")
    order = message.order
    if order is None:
        raise letters.LetterError("a letter needs an order")
    payload = message.payload or {}
    event = message.event
    level = payload.get("level") or (event.level if event else None)
    fee = event.fee if event else None
    invoice = invoices.invoice_of(order) if kind == "invoice" else None
    rendered = letters.render(
        order,
        merchant,
        kind,
        level=level,
        fee=fee,
        today=today_for(merchant),
        invoice_pdf=invoice.pdf if invoice else None,
    )
    letter = Letter(
        merchant_id=merchant.id,
        order_id=order.id,
        message_id=message.id,
        kind=kind,
        level=level if kind == "reminder" else None,
        locale=rendered.locale,
        recipient=rendered.recipient,
        pages=rendered.pages,
        pdf=rendered.pdf,
        state=LetterState.CREATED,
    )
    db.session.add(letter)
    db.session.flush()
    return letter


def cancel_letter(letter: Letter, actor: str, reason: str | None = None) -> Letter:
    """Stop a letter that is not posted yet (waiting, in a print run, or printed but not in the
    post): it drops out of its run's PDF and manifest. Posted or cancelled: refused."""
    moved = _move(
        "letter",
        "cancel",
        Letter.id == letter.id,
        cancelled_at=utcnow(),
        cancelled_by=actor[:254],
        cancel_reason=(reason or None) and reason[:500],
    )
    db.session.refresh(letter)
    if not moved:
        raise Refused("letter_state", state=letter.state)
    audit.record(
        letter.merchant_id, actor, "letter.cancelled", letter.order_id, letter=letter.id,
        reason=letter.cancel_reason,
    )  # fmt: skip
    return letter


def request_letter(order: Order, kind: str, actor: str) -> OutboxMessage:
    """A letter asked for on the order page (payment information, or the shop's invoice with a
    payment slip): an outbox message the worker turns into a letter for the next print run.
    Refused for an order not owed (paid, cancelled, erased: lifecycle.may_message), without a
    postal address, and an invoice letter without a stored invoice."""
    if kind not in ON_REQUEST:
        raise Refused("unknown_choice", choice=kind)
    if reason := lifecycle.may_message(order, kind):  # they ask for money: open orders only
        raise Refused(reason)
    if not (order.postal_address or "").strip():
        raise Refused("no_postal_address")
    if kind == "invoice" and invoices.invoice_of(order) is None:
        raise Refused("no_invoice")
    message = _letter_message(order, kind)
    audit.record(
        order.merchant_id, actor, "letter.requested", order.id, kind=kind, message=message.id
    )
    return message


def cancellation_letter(order: Order) -> OutboxMessage:
    """The cancellation notice by letter (ledger.notices audits it): only for a cancelled
    order with a postal address; the last look before printing withdraws it when the order is
    no longer cancelled (lifecycle.may_message)."""
    if reason := lifecycle.may_message(order, "cancellation"):
        raise Refused(reason)
    if not (order.postal_address or "").strip():
        raise Refused("no_postal_address")
    return _letter_message(order, "cancellation")


def _letter_message(order: Order, kind: str) -> OutboxMessage:
    """The outbox message the worker turns into a letter of `kind` for the next print run."""
    recipient = "\n".join(filter(None, [order.customer_name, order.postal_address]))
    message = outbox.add(
        order.merchant_id,
        "letter",
        kind,
        recipient[:500],
        order_id=order.id,
        payload={"language": order.language, "manual": True},
    )
    db.session.flush()
    return message


def _withdraw_unwanted(merchant_id: int) -> None:
    """The last look before printing, as the worker's before an email: a waiting reminder to an
    order paid, cancelled or blocked meanwhile, payment information or an invoice with its
    slip to one paid or cancelled, or a cancellation notice to one no longer cancelled, is
    cancelled, never printed."""
    waiting = db.session.scalars(
        select(Letter).where(
            Letter.merchant_id == merchant_id,
            Letter.state == LetterState.CREATED,
            Letter.kind.in_(outbox.LAST_LOOK_PURPOSES),
        )
    ).all()
    for letter in waiting:
        reason = lifecycle.may_message(letter.order, letter.kind)
        if reason:
            cancel_letter(letter, "system", str(reason))


# --- print runs ------------------------------------------------------------------------------


def start_print_run(merchant: Merchant, day: date, actor: str) -> PrintRun | None:
    """Take every waiting letter of the merchant into a new print run (None: nothing to print).
    The letters are taken by one conditional UPDATE: a second click at the same time finds
    none left and makes no run."""
    _withdraw_unwanted(merchant.id)
    last = db.session.scalar(
        select(Letter.id)
        .where(Letter.merchant_id == merchant.id, Letter.state == LetterState.CREATED)
        .order_by(Letter.id.desc())
        .limit(1)
    )
    if last is None:
        return None
    run = PrintRun(merchant_id=merchant.id, day=day, state=PrintRunState.OPEN, created_by=actor)
    db.session.add(run)
    db.session.flush()
    taken = _move(
        "letter",
        "take",
        Letter.merchant_id == merchant.id,
        Letter.id <= last,
        print_run_id=run.id,
    )
    if not taken:  # another click took them first
        db.session.delete(run)
        db.session.flush()
        return None
    audit.record(merchant.id, actor, "print_run.started", run=run.id, letters=taken)
    return run


def letters_of(run: PrintRun, *, printable: bool = True) -> list[Letter]:
    """The run's letters in manifest order (by letter id); printable: without the cancelled
    ones and those whose PDF is gone (erased)."""
    query = select(Letter).where(Letter.print_run_id == run.id).order_by(Letter.id)
    if printable:
        query = query.where(Letter.state != LetterState.CANCELLED, Letter.pdf.is_not(None))
    return list(db.session.scalars(query))


def merged_pdf(run: PrintRun) -> bytes | None:
    """The run's printable letters as one PDF, in manifest order (None: none is left)."""
    chosen = letters_of(run)
    if not chosen:
        return None
    writer = PdfWriter()
    for letter in chosen:
        writer.append(PdfReader(io.BytesIO(letter.pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


MANIFEST_HEADER = [
    "position", "letter", "order", "kind", "level", "recipient", "town", "pages", "first_page",
]  # fmt: skip
_POSTCODE = re.compile(r"(^|\s|-)\d{4,5}(\s|$)")


def town_line(recipient: str) -> str:
    """The address line with the postcode (the last one that has one; else the last line)."""
    lines = [line.strip() for line in (recipient or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if _POSTCODE.search(line):
            return line
    return lines[-1] if lines else ""


def manifest_csv(run: PrintRun) -> str:
    """One row per printable letter, in the merged PDF's order, with the page it starts on."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MANIFEST_HEADER)
    page = 1
    for position, letter in enumerate(letters_of(run), start=1):
        lines = (letter.recipient or "").splitlines()
        writer.writerow(
            [
                position,
                letter.id,
                letter.order.number if letter.order else "",
                letter.kind,
                letter.level or "",
                lines[0] if lines else "",
                town_line(letter.recipient),
                letter.pages,
                page,
            ]
        )
        page += letter.pages
    return out.getvalue()


def mark_printed(run: PrintRun, actor: str) -> PrintRun:
    return _advance(run, "print", actor, printed_at=utcnow())


def mark_posted(run: PrintRun, actor: str) -> PrintRun:
    return _advance(run, "post", actor, posted_at=utcnow())


def _advance(run: PrintRun, move: str, actor: str, **stamp) -> PrintRun:
    """The run and its letters that are not cancelled move on together."""
    if not _move("run", move, PrintRun.id == run.id, **stamp):
        db.session.refresh(run)
        raise Refused("print_run_state", state=run.state)
    moved = _move("letter", move, Letter.print_run_id == run.id, **stamp)
    db.session.refresh(run)
    action = "print_run.printed" if move == "print" else "print_run.posted"
    audit.record(run.merchant_id, actor, action, run=run.id, letters=moved)
    return run
