"""Login throttling: failed logins counted per account and per client address, in the database,
so a lockout survives a restart and holds across every portal process.

The policy:

- an account (the email address as typed, lowercased, whether or not such a user exists) is
  locked for 15 minutes after 5 failed logins within 15 minutes; each further lock in a row
  lasts twice as long as the one before (30 min, 1 h, 2 h, …), at most 24 hours. A successful
  login forgets the account's failures and lockouts, and so does a day without a lock;
- a client address is locked for 15 minutes after 20 failed logins within 15 minutes (whatever
  accounts they were for), doubling the same way;
- while either is locked, every login is refused without looking at the password (the right
  one too), with the time the lock ends. Unknown accounts are counted and locked exactly like
  known ones, so the answer never tells whether an account exists.

Each lock is written to the account's merchant's audit trail (action "login.locked"); for an
address or an unknown account there is no merchant, and the lock goes to the log instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ledger import audit
from ledger.db import db
from ledger.models import LoginThrottle, User, utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
KEY_LENGTH = 300


@dataclass(frozen=True)
class Lock:
    key: str
    until: datetime

    @property
    def scope(self) -> str:
        return self.key.split(":", 1)[0]


def _clean(value: str) -> str:
    """Something a database can store and a log can show: no control characters, no lone
    surrogates, bounded."""
    return "".join(c if c.isprintable() else "?" for c in value)


def account_key(email: str) -> str:
    return ("account:" + _clean(email.strip().lower()))[:KEY_LENGTH]


def address_key(address: str | None) -> str:
    return ("address:" + _clean(address or "unknown"))[:KEY_LENGTH]


def _limit(key: str) -> int:
    return ACCOUNT_FAILURES if key.startswith("account:") else ADDRESS_FAILURES


def lock_length(lockouts: int) -> timedelta:
    """How long the n-th lock in a row lasts: 15 min, 30 min, 1 h, … at most 24 h."""
    length = FIRST_LOCK * 2 ** min(max(lockouts - 1, 0), 16)
    return min(length, LONGEST_LOCK)


def _row(key: str) -> LoginThrottle:
    """The key's row, locked for this transaction (PostgreSQL; SQLite writes one at a time)."""
    query = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = db.session.scalar(query)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = LoginThrottle(key=key, failures=0, lockouts=0)
            db.session.add(row)
        return row
    except IntegrityError:  # a concurrent first attempt made it
        return db.session.scalar(query)


def _rows(email: str, address: str | None) -> list[LoginThrottle]:
    # Always the account first, then the address: one locking order, no deadlocks.
    return [_row(account_key(email)), _row(address_key(address))]


def begin_attempt(email: str, address: str | None, now: datetime | None = None) -> Lock | None:
    """Before a password is checked: the lock that refuses this attempt, or None, and then the
    attempt is counted as a failure in advance, so that parallel guesses cannot outrun the
    count (record_success takes it back). The caller commits before checking the password."""
    now = now or utcnow()
    rows = _rows(email, address)
    locks = [Lock(r.key, r.locked_until) for r in rows if r.locked_until and r.locked_until > now]
    if locks:
        return max(locks, key=lambda lock: lock.until)
    for row in rows:
        if row.locked_until and now - row.locked_until >= LONGEST_LOCK:
            row.lockouts = 0  # a day without a lock: the next one is the shortest again
        if row.window_started_at is None or now - row.window_started_at >= WINDOW:
            row.failures = 0
            row.window_started_at = now
        if row.failures >= _limit(row.key):
            # As many attempts as the limit allows are being checked right now.
            return Lock(row.key, row.window_started_at + WINDOW)
    for row in rows:
        row.failures += 1
    return None


def record_failure(email: str, address: str | None, now: datetime | None = None) -> Lock | None:
    """The password was wrong (the attempt is counted already): lock what reached its limit,
    audit and log it. Returns the longest new lock, if any. The caller commits."""
    now = now or utcnow()
    new_locks = []
    for row in _rows(email, address):
        if row.failures < _limit(row.key) or (row.locked_until and row.locked_until > now):
            continue
        row.lockouts += 1
        row.locked_until = now + lock_length(row.lockouts)
        row.failures = 0
        row.window_started_at = None
        new_locks.append(Lock(row.key, row.locked_until))
    if not new_locks:
        return None
    user = _user(email) if email.isprintable() else None
    for lock in new_locks:
        detail = {
            "scope": lock.scope,
            "key": lock.key,
            "address": _clean(address or "unknown"),
            "locked_until": lock.until.isoformat(timespec="seconds"),
        }
        log.warning("login locked: %s until %s UTC (from %s)", lock.key, lock.until, address)
        if user is not None:
            audit.record(user.merchant_id, f"login:{detail['address']}", "login.locked", **detail)
    return max(new_locks, key=lambda lock: lock.until)


def record_success(email: str, address: str | None, attempts: int = 1) -> None:
    """The password was right: the account's failures and lockouts are forgotten, and the
    address's count of this attempt taken back (of both, password and code, for a login with
    two-factor: attempts=2). The caller commits."""
    account, address_row = _rows(email, address)
    db.session.delete(account)
    address_row.failures = max(address_row.failures - attempts, 0)


def allow_request(key: str, limit: int, now: datetime | None = None) -> bool:
    """A plain rate limit in the same table, for what is not a login (password-reset mails per
    client address): at most `limit` requests per WINDOW for `key`; counts this one when it is
    allowed. `key` must not start with "account:" or "address:". The caller commits."""
    now = now or utcnow()
    row = _row(key[:KEY_LENGTH])
    if row.window_started_at is None or now - row.window_started_at >= WINDOW:
        row.failures = 0
        row.window_started_at = now
    if row.failures >= limit:
        return False
    row.failures += 1
    return True


def refused(lock: Lock, email: str, address: str | None) -> None:
    """A login refused during a lock: logged (not audited, so a flood cannot fill the trail)."""
    log.info(
        "login refused while locked: %s (tried %s from %s) until %s UTC",
        lock.key,
        account_key(email),
        _clean(address or "unknown"),
        lock.until,
    )


def prune(now: datetime | None = None) -> None:
    """Forget rows that no longer count: no lock for a day and no window open (they would be
    reset on their next use anyway). Skips rows another login holds; the caller commits, and
    calls this in a transaction of its own, holding no other rows."""
    now = now or utcnow()
    stale = (
        select(LoginThrottle.id)
        .where(
            (LoginThrottle.locked_until.is_(None))
            | (LoginThrottle.locked_until <= now - LONGEST_LOCK),
            (LoginThrottle.window_started_at.is_(None))
            | (LoginThrottle.window_started_at <= now - WINDOW),
        )
        .with_for_update(skip_locked=True)
    )
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.id.in_(stale)))


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
