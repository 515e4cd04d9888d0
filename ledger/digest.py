"""The accounting digest: one email per recipient and run, listing every order a step asked
to notify them about, and every payment that came in after its order was cancelled."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledger import outbox
from ledger.db import db
from ledger.messages import digest
from ledger.models import DunningEvent, Merchant
from ledger.money import format_money
from rules.actions import SPECS

# What the digest's "what" column says a step did ("cancelled, notified").
DONE_WORDS = {kind: spec.done for kind, spec in SPECS.items() if kind != "notify"}
PAID_AFTER_CANCELLATION = "paid_after_cancellation/"


def _special(event: DunningEvent) -> str:
    if event.step_key.startswith(PAID_AFTER_CANCELLATION):
        return "paid after cancellation: reactivate the order or refund the payment"
    return "notified"


def write_digests(merchant: Merchant, today: date, run_id: int | None) -> int:
    """One email per recipient listing every order whose step asked to notify them (and every
    payment that came in after a cancellation). Picks up notifications an interrupted earlier
    run left unsent, too. Returns the number of digests written."""
    pending = db.session.scalars(
        select(DunningEvent)
        .where(
            DunningEvent.merchant_id == merchant.id,
            DunningEvent.action == "notify",
            DunningEvent.digest_message_id.is_(None),
        )
        .options(selectinload(DunningEvent.order))
        .order_by(DunningEvent.id)
    ).all()
    by_recipient: dict[str, list[DunningEvent]] = defaultdict(list)
    for event in pending:
        by_recipient[event.recipient].append(event)
    what = _actions_by_step([e.order_id for e in pending])
    for recipient, events in by_recipient.items():
        rows = [_digest_row(merchant, e, what) for e in events]
        subject, body = digest(merchant, today, rows)
        message = outbox.add(
            merchant.id,
            "email",
            "accounting_digest",
            recipient,
            run_id=run_id,
            subject=subject,
            body=body,
            payload={"orders": [r["number"] for r in rows]},
        )
        for event in events:
            event.digest_message = message
    return len(by_recipient)


def _actions_by_step(order_ids: list[int]) -> dict[tuple[int, str], list[str]]:
    """What each (order, step) did, for the digest's "what" column, in one query."""
    done: dict[tuple[int, str], list[str]] = defaultdict(list)
    if order_ids:
        rows = db.session.execute(
            select(DunningEvent.order_id, DunningEvent.step_key, DunningEvent.action)
            .where(
                DunningEvent.order_id.in_(set(order_ids)),
                DunningEvent.action.in_(list(DONE_WORDS)),
            )
            .order_by(DunningEvent.id)
        )
        for order_id, step_key, action in rows:
            done[(order_id, step_key)].append(DONE_WORDS[action])
    return done


def _digest_row(merchant: Merchant, event: DunningEvent, what: dict) -> dict:
    order = event.order
    return {
        "number": order.number,
        "customer": order.customer_name,
        "amount": format_money(order.amount, order.currency, merchant.language),
        "days_unpaid": (event.decided_on - order.ordered_on).days,
        "what": ", ".join(what[(order.id, event.step_key)]) or _special(event),
    }
