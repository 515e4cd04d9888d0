"""The order's money ledger: append-only entries, and the sums every page and message shows.

Every amount an order owes or has paid is an entry (ledger.models.LedgerEntry). The order keeps
cached sums of them (amount, paid_total, fees_total, interest_total, adjustments_total), written
in the same transaction as the entry by `post`, the one function that writes entries; `verify`
recomputes them from the entries. Only ledger/lifecycle.py calls `post`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from ledger import bulk
from ledger.db import db
from ledger.models import EntryKind, LedgerEntry, Order, utcnow
from ledger.money import ZERO

# Which cached sum an entry kind moves, and in which direction.
CACHE = {
    EntryKind.CHARGE: ("amount", 1),
    EntryKind.PAYMENT: ("paid_total", 1),
    EntryKind.PAYMENT_REVERSAL: ("paid_total", -1),
    EntryKind.FEE: ("fees_total", 1),
    EntryKind.INTEREST: ("interest_total", 1),
    EntryKind.DISCOUNT: ("adjustments_total", 1),
    EntryKind.WRITE_OFF: ("adjustments_total", 1),
    EntryKind.REFUND: ("adjustments_total", -1),
}
CACHED_FIELDS = ("amount", "paid_total", "fees_total", "interest_total", "adjustments_total")


def post(
    order: Order,
    kind: EntryKind,
    amount: Decimal,
    booked_on: date,
    source: str,
    actor: str,
    reference: str | None = None,
    note: str | None = None,
    reverses: LedgerEntry | None = None,
    event_id: int | None = None,
    into: list[LedgerEntry] | None = None,
) -> LedgerEntry:
    """Append an entry and move the order's cached sum with it (same transaction). `into`:
    collect the entry there instead of adding it to the session; `write_many` inserts it."""
    entry = LedgerEntry(
        merchant_id=order.merchant_id,
        order_id=order.id,
        kind=kind,
        amount=amount,
        currency=order.currency,
        booked_on=booked_on,
        source=source,
        reference=reference,
        note=note,
        reverses_id=reverses.id if reverses else None,
        event_id=event_id,
        actor=actor,
    )
    if into is None:
        db.session.add(entry)
    else:
        into.append(entry)
    field, sign = CACHE[EntryKind(kind)]
    setattr(order, field, (getattr(order, field) or ZERO) + sign * amount)
    return entry


def write_many(pending: list[LedgerEntry]) -> None:
    """Insert the entries `post(..., into=…)` collected, in one go (ledger.bulk: COPY on
    PostgreSQL, one executemany on SQLite), without the ORM's unit of work; each entry gets its
    id. They stay out of the session: whoever needs them as rows reads them back. Defaults are
    applied here (created_at)."""
    if not pending:
        return
    table = LedgerEntry.__table__
    columns = [column.key for column in table.columns if column.key != "id"]
    now = utcnow()
    for entry in pending:
        entry.created_at = entry.created_at or now
    ids = bulk.insert_rows(
        table, [{key: getattr(entry, key) for key in columns} for entry in pending]
    )
    for entry, entry_id in zip(pending, ids, strict=True):
        entry.id = entry_id


def total(order_id: int, kind: EntryKind) -> Decimal:
    """The sum of one kind of the order's entries."""
    found = db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.order_id == order_id, LedgerEntry.kind == kind
        )
    )
    return Decimal(found or 0)


def entries_of(order_id: int) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.order_id == order_id).order_by(LedgerEntry.id)
        )
    )


def sums_from_entries(order_ids=None, merchant_id: int | None = None) -> dict[int, dict]:
    """Each order's sums recomputed from its entries, in one grouped query."""
    query = select(LedgerEntry.order_id, LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(
        LedgerEntry.order_id, LedgerEntry.kind
    )
    if order_ids is not None:
        query = query.where(LedgerEntry.order_id.in_(order_ids))
    if merchant_id is not None:
        query = query.where(LedgerEntry.merchant_id == merchant_id)
    sums: dict[int, dict] = defaultdict(lambda: dict.fromkeys(CACHED_FIELDS, ZERO))
    for order_id, kind, total in db.session.execute(query):
        field, sign = CACHE[EntryKind(kind)]
        sums[order_id][field] += sign * Decimal(total)
    return sums


@dataclass(frozen=True)
class Difference:
    order_id: int
    number: str
    field: str
    cached: Decimal
    from_entries: Decimal


def verify(merchant_id: int | None = None, batch_size: int = 2000) -> list[Difference]:
    """Every order whose cached sums differ from its entries (empty when the books agree)."""
    found: list[Difference] = []
    last_id = 0
    while True:
        query = select(Order).where(Order.id > last_id).order_by(Order.id).limit(batch_size)
        if merchant_id is not None:
            query = query.where(Order.merchant_id == merchant_id)
        orders = list(db.session.scalars(query))
        if not orders:
            return found
        sums = sums_from_entries([o.id for o in orders])
        for order in orders:
            recomputed = sums.get(order.id) or dict.fromkeys(CACHED_FIELDS, ZERO)
            for field in CACHED_FIELDS:
                cached = getattr(order, field) or ZERO
                if cached != recomputed[field]:
                    found.append(
                        Difference(order.id, order.number, field, cached, recomputed[field])
                    )
        last_id = orders[-1].id
