"""The audit trail: who did what to which order, kept with the data it explains."""

from __future__ import annotations

from ledger import bulk
from ledger.db import db
from ledger.models import AuditEntry


def record(merchant_id: int, actor: str, action: str, order_id: int | None = None, **detail):
    return add(values(merchant_id, actor, action, order_id, **detail))


def add(row: dict) -> AuditEntry:
    """One entry from its columns (`values`)."""
    entry = AuditEntry(**row)
    db.session.add(entry)
    return entry


def values(merchant_id: int, actor: str, action: str, order_id: int | None = None, **detail):
    """An audit entry's columns, for `record_many`."""
    return {
        "merchant_id": merchant_id,
        "order_id": order_id,
        "actor": actor,
        "action": action,
        "detail": detail,
    }


def record_many(rows: list[dict]) -> None:
    """Many entries (`values`) in one go, without an object each (the bank matcher books
    thousands of payments per import)."""
    # the table, not the entity: no ORM machinery; COPY on PostgreSQL (ledger.bulk)
    bulk.insert_rows(AuditEntry.__table__, rows, ids=False)
