"""The watched bank inbox: statement files a bank-sync tool or an accountant drops into
`BANK_INBOX_DIR/<merchant>/` are imported by the worker (the scheduler's dispatch, every few
minutes, before it starts the daily runs) and moved to `done/` or `refused/` (with the reason
in a `.reason.txt` next to the file). The same import service as the upload page and the API.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ledger.bank import importing, matching
from ledger.clock import today_for
from ledger.db import db
from ledger.models import BankTransaction, Merchant, TransactionState, utcnow

log = logging.getLogger(__name__)
SETTLE_SECONDS = 5  # a file changed this recently may still be being written
WORKING = ".importing"  # a file is claimed by moving it here (one rename: one worker wins)
STALE_CLAIM = 600  # seconds: a claimed file still there after this goes back to the inbox


def folder_name(merchant: Merchant) -> str:
    """The merchant's folder under BANK_INBOX_DIR: its name in lowercase letters, digits and
    dashes ("Alpenkiste GmbH" → "alpenkiste-gmbh")."""
    return re.sub(r"[^a-z0-9]+", "-", merchant.name.lower()).strip("-") or f"merchant-{merchant.id}"


def inbox_of(merchant: Merchant) -> Path:
    return Path(current_app.config["BANK_INBOX_DIR"]) / folder_name(merchant)


def sweep_bank_inboxes(now: float | None = None) -> dict[str, str]:
    """Import every settled file in every merchant's inbox folder; returns file → outcome."""
    outcomes: dict[str, str] = {}
    for merchant in db.session.scalars(select(Merchant).order_by(Merchant.id)).all():
        folder = inbox_of(merchant)
        if folder.is_dir():
            outcomes |= _sweep(merchant, folder, now or time.time())
    return outcomes


def match_stranded(older_than: timedelta = timedelta(minutes=2)) -> int:
    """Transactions stored but never examined (the import's matching failed or its process
    died between storing and matching): match them now. Returns how many."""
    cutoff = utcnow() - older_than
    rows = db.session.execute(
        select(BankTransaction.id, BankTransaction.merchant_id)
        .where(BankTransaction.state == TransactionState.NEW, BankTransaction.created_at < cutoff)
        .order_by(BankTransaction.id)
    ).all()
    by_merchant: dict[int, list[int]] = {}
    for transaction_id, merchant_id in rows:
        by_merchant.setdefault(merchant_id, []).append(transaction_id)
    for merchant_id, ids in by_merchant.items():
        merchant = db.session.get(Merchant, merchant_id)
        matching.match_new(ids, "matcher", today_for(merchant))
    return len(rows)


def _waiting_files(folder: Path, now: float) -> list[Path]:
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix == ".part":
            continue
        try:
            if now - path.stat().st_mtime < SETTLE_SECONDS:
                continue
        except FileNotFoundError:  # taken by another worker meanwhile
            continue
        found.append(path)
    return found


def _sweep(merchant: Merchant, folder: Path, now: float) -> dict[str, str]:
    outcomes = {}
    working = folder / WORKING
    working.mkdir(exist_ok=True)
    for claimed in working.iterdir():  # a worker died while importing it: back to the inbox
        try:
            if (
                claimed.is_file() and now - claimed.stat().st_ctime > STALE_CLAIM
            ):  # ctime: the rename
                claimed.rename(folder / claimed.name)
        except FileNotFoundError:
            continue
    for path in _waiting_files(folder, now):
        claimed = working / path.name
        try:
            path.rename(claimed)
        except FileNotFoundError:
            continue  # another worker claimed it first
        outcomes[str(path)] = _import(merchant, folder, claimed)
    return outcomes


def _import(merchant: Merchant, folder: Path, claimed: Path) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    try:
        summary = importing.import_file(
            merchant, claimed.read_bytes(), claimed.name, "inbox", "inbox", today_for(merchant)
        )
    except Exception as exc:  # noqa: BLE001 - refused, or a bug: the file is kept with why
        db.session.rollback()
        if not isinstance(exc, importing.ImportRefused):
            log.exception("bank inbox of %s: %s failed", merchant.name, claimed.name)
            exc = f"could not be imported ({type(exc).__name__}: {exc}); drop it in again later"
        target = _move(claimed, folder / "refused", stamp)
        target.with_name(target.name + ".reason.txt").write_text(f"{exc}\n", encoding="utf-8")
        log.warning("bank inbox of %s: %s refused: %s", merchant.name, claimed.name, exc)
        return f"refused: {exc}"
    _move(claimed, folder / "done", stamp)
    log.info("bank inbox of %s: %s", merchant.name, summary.line())
    return summary.line()


def _move(path: Path, to: Path, stamp: str) -> Path:
    to.mkdir(exist_ok=True)
    target = to / f"{stamp}-{path.name}"
    path.rename(target)
    return target
