"""API requests sent with an Idempotency-Key: the first answer is stored with the effect (one
transaction), and a retry of the same request gets it again instead of a second effect."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from ledger.db import db
from ledger.models import IdempotentRequest

MAX_KEY = 200


class KeyReused(ValueError):
    """The key was sent before with a different request."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY and key.isprintable() and key.isascii()


def replay(merchant_id: int, key: str, print_: str) -> tuple[int, dict] | None:
    """The stored (status, body) for this key, None for a new key; KeyReused when the key came
    with another request."""
    stored = db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.merchant_id == merchant_id, IdempotentRequest.key == key
        )
    )
    if stored is None:
        return None
    if stored.fingerprint != print_:
        raise KeyReused("this Idempotency-Key was used before with a different request")
    return stored.status_code, stored.response


def store(merchant_id: int, key: str, print_: str, status: int, body: dict) -> None:
    db.session.add(
        IdempotentRequest(
            merchant_id=merchant_id, key=key, fingerprint=print_, status_code=status, response=body
        )
    )
