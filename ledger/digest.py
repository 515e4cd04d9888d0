"""The accounting digest: one email per recipient and run, listing every order a step asked
to notify them about, and every payment that came in after its order was cancelled."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import aliased, selectinload

from ledger import outbox
from ledger.db import db
from ledger.messages import digest, done_word
from ledger.models import DunningEvent, Merchant
from ledger.money import format_money
from rules.actions import SPECS

# The steps whose actions the digest's "what" column names ("storniert, benachrichtigt").
DONE_KINDS = [kind for kind in SPECS if kind != "notify"]
PAID_AFTER_CANCELLATION = "paid_after_cancellation/"


def _special(event: DunningEvent, language: str | None) -> str:
    if event.step_key.startswith(PAID_AFTER_CANCELLATION):
        return done_word("paid_after_cancellation", language)
    return done_word("notify", language)


DIGEST_PURPOSE = "accounting_digest"
DIGEST_PURPOSES = (DIGEST_PURPOSE,)  # bulk mail (the channel says so: Precedence: bulk)
ROWS_IN_BODY = 200  # a longer digest lists these and carries every row as a CSV attachment


def write_digests(merchant: Merchant, today: date, run_id: int | None) -> list[int]:
    """One email per recipient listing every order whose step asked to notify them (and every
    payment that came in after a cancellation), including notifications an interrupted earlier
    run left unsent. Returns the new messages' ids.

    Each digest claims its events in one statement (`UPDATE … SET digest_message_id = :id WHERE
    digest_message_id IS NULL`): of two runs writing digests at once, one gets the events and
    the other an empty claim, whose message it drops. No statement binds one parameter per
    order, so any number of events fits."""
    recipients = db.session.scalars(
        select(DunningEvent.recipient)
        .where(*_unsent(merchant.id))
        .group_by(DunningEvent.recipient)
        .order_by(DunningEvent.recipient)
    ).all()
    written = []
    for recipient in recipients:
        message = outbox.add(merchant.id, "email", DIGEST_PURPOSE, recipient, run_id=run_id)
        db.session.flush()
        claimed = db.session.execute(
            update(DunningEvent)
            .where(*_unsent(merchant.id), DunningEvent.recipient == recipient)
            .values(digest_message_id=message.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.delete(message)
            continue
        rows = _rows(merchant, message.id)
        subject, body = digest(merchant, today, rows[:ROWS_IN_BODY], total=len(rows))
        message.subject, message.body = subject, body
        message.payload = {"orders": [r["number"] for r in rows]}
        if len(rows) > ROWS_IN_BODY:
            message.payload["attachment"] = {
                "filename": f"mahnwerk-{today.isoformat()}.csv",
                "content_type": "text/csv",
                "text": _csv(rows),
            }
        written.append(message.id)
    db.session.flush()
    return written


def _unsent(merchant_id: int):
    """The notifications no digest carried yet (an index serves exactly these)."""
    return (
        DunningEvent.merchant_id == merchant_id,
        DunningEvent.action == "notify",
        DunningEvent.digest_message_id.is_(None),
    )


def _rows(merchant: Merchant, message_id: int) -> list[dict]:
    """The digest's rows: its events, each with what its step did (one joined query)."""
    claimed = aliased(DunningEvent)
    done: dict[tuple[int, str], list[str]] = defaultdict(list)  # (order, step) -> actions
    for order_id, step_key, action in db.session.execute(
        select(DunningEvent.order_id, DunningEvent.step_key, DunningEvent.action)
        .join(
            claimed,
            (claimed.order_id == DunningEvent.order_id)
            & (claimed.step_key == DunningEvent.step_key),
        )
        .where(claimed.digest_message_id == message_id, DunningEvent.action.in_(DONE_KINDS))
        .order_by(DunningEvent.id)
    ):
        done[(order_id, step_key)].append(done_word(action, merchant.language))
    events = db.session.scalars(
        select(DunningEvent)
        .where(DunningEvent.digest_message_id == message_id)
        .options(selectinload(DunningEvent.order))
        .order_by(DunningEvent.id)
    ).all()
    return [_digest_row(merchant, e, done) for e in events]


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _digest_row(merchant: Merchant, event: DunningEvent, what: dict) -> dict:
    order = event.order
    return {
        "number": order.number,
        "customer": order.customer_name,
        "amount": format_money(order.amount, order.currency, merchant.language),
        "days_unpaid": (event.decided_on - order.ordered_on).days,
        "what": ", ".join(what[(order.id, event.step_key)]) or _special(event, merchant.language),
    }
