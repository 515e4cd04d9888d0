"""Retention: emails and letters are kept 36 months, then their content goes.

A monthly job (worker.jobs.purge_old_messages) empties every finished outbox message older
than that — subject, text, HTML, payload (a digest's CSV, a link), recipient — and the PDF and
address of its letters, and stamps purged_at. The row stays as a tombstone with its date, kind,
purpose (and a reminder's level) for the books: that a reminder went out on a day is still
known, not to whom or what it said. Messages still waiting to go are never purged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select, update

from ledger.db import db
from ledger.models import Letter, MessageState, OutboxMessage, utcnow

MONTHS = 36
FINISHED = (MessageState.SENT, MessageState.FAILED, MessageState.CANCELLED)


def cutoff(today: date) -> datetime:
    """The start of the day 36 months before today (the 29th of February: the 28th)."""
    year = today.year - MONTHS // 12
    day = today.day if not (today.month == 2 and today.day == 29) else 28
    return datetime(year, today.month, day)


def purge(now: datetime | None = None) -> int:
    """Purge what is past retention; the number of messages purged. Commits nothing."""
    now = now or utcnow()
    before = cutoff(now.date())
    old = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.created_at < before,
            OutboxMessage.purged_at.is_(None),
            OutboxMessage.state.in_(FINISHED),
        )
    ).all()
    for message in old:
        level = (message.payload or {}).get("level")
        message.subject = message.body = message.html = message.last_error = None
        message.recipient = ""
        message.payload = {"level": level} if level is not None else {}
        message.purged_at = now
    ids = [message.id for message in old]
    db.session.execute(
        update(Letter)
        .where(
            or_(Letter.message_id.in_(ids), Letter.created_at < before),
            or_(Letter.pdf.is_not(None), Letter.recipient != ""),
        )
        .values(pdf=None, recipient="")
        .execution_options(synchronize_session=False)
    )
    return len(old)
