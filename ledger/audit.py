"""The audit trail: who did what to which order, kept with the data it explains."""

from __future__ import annotations

from ledger.db import db
from ledger.models import AuditEntry


def record(merchant_id: int, actor: str, action: str, order_id: int | None = None, **detail):
    entry = AuditEntry(
        merchant_id=merchant_id, order_id=order_id, actor=actor, action=action, detail=detail
    )
    db.session.add(entry)
    return entry
