"""The dashboard's figures for one merchant: what is open (by payment method, by days past due,
overdue, in collection), how much each dunning level recovers, cancelled unpaid prepayment
orders against sales per month, and the work waiting.

Why a snapshot: the book-wide figures aggregate every order of the merchant; at a million
orders that takes about a second or more on SQLite and PostgreSQL alike, far too slow for the
first page after login. `compute` does it in four grouped queries (no per-order Python), and
`refresh` stores the result as the merchant's `DashboardFigures` row. A worker job recomputes
it after each daily run and bank import, when the merchant's day changes (nightly) and on
request; the page reads the row and says "as of". The small, fast-changing counts of the work
waiting (`live`) come from indexed queries on every request.

Every amount is per currency (EUR and CHF are never added); counts are of orders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import Date, and_, case, func, literal, not_, select

from ledger.bank.inbox import WAITING
from ledger.db import db
from ledger.models import (
    OPEN_STATUSES,
    PAYMENT_METHODS,
    BankAccount,
    BankImport,
    BankTransaction,
    DashboardFigures,
    DunningEvent,
    DunningRun,
    EntryKind,
    LedgerEntry,
    Merchant,
    MessageState,
    Method,
    Order,
    OutboxMessage,
    Status,
    utcnow,
)
from ledger.money import CENT

log = logging.getLogger(__name__)

# Days past due: (name, the most days past due it takes); not yet due is < 0.
AGE_BUCKETS = (
    ("not_due", -1),
    ("0_14", 14),
    ("15_30", 30),
    ("31_60", 60),
    ("61_90", 90),
    ("over_90", None),
)
RECOVERY_DAYS = 14
MONTHS = 12
STALE_BANK_DAYS = 3  # bank data older than this: the dashboard warns
LAST_RUNS = 5


@dataclass
class Tally:
    """A count of orders and their amounts, per currency."""

    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, count: int, currency: str, amount) -> None:
        self.count += count
        self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + _money(amount)

    def as_json(self) -> dict:
        return {"count": self.count, "amounts": {c: str(a) for c, a in self.amounts.items()}}


def _money(value) -> Decimal:
    """A database sum as Decimal cents (SQLite sums NUMERIC columns as floats)."""
    return Decimal(str(value or 0)).quantize(CENT)


def currency_order(currencies) -> list[str]:
    """EUR first, then the others alphabetically."""
    return sorted(set(currencies), key=lambda c: (c != "EUR", c))


# --- the book-wide figures (the snapshot) ---------------------------------------------------


def _age_bucket(today: date):
    """SQL: the index in AGE_BUCKETS of an order's days past due on `today`."""
    whens = [  # the days inline (not bound twice): PostgreSQL must see SELECT = GROUP BY
        (Order.due_on >= literal(today - timedelta(days=most), Date, literal_execute=True), index)
        for index, (_name, most) in enumerate(AGE_BUCKETS)
        if most is not None
    ]
    return case(*whens, else_=len(AGE_BUCKETS) - 1)


def open_figures(merchant_id: int, today: date) -> dict:
    """The open orders (statuses unpaid, partially paid, overdue, in collection) and their
    open amount (Order.open_amount_sql, equal to the money ledger's) by payment method, by age
    bucket of days past due on `today`, and by status. One grouped query (the merchant/status
    index finds the open orders)."""
    bucket = _age_bucket(today)
    rows = db.session.execute(
        select(
            Order.currency,
            Order.payment_method,
            Order.status,
            bucket,
            func.count(Order.id),
            func.sum(Order.open_amount_sql()),
        )
        .where(Order.merchant_id == merchant_id, Order.status.in_(OPEN_STATUSES))
        .group_by(Order.currency, Order.payment_method, Order.status, bucket)
    ).all()
    total = Tally()
    by_method = {str(m): Tally() for m in PAYMENT_METHODS}
    by_age = {name: Tally() for name, _most in AGE_BUCKETS}
    by_status = {str(s): Tally() for s in OPEN_STATUSES}
    for currency, method, status, index, count, amount in rows:
        total.add(count, currency, amount)
        by_method.setdefault(method, Tally()).add(count, currency, amount)
        by_age[AGE_BUCKETS[index][0]].add(count, currency, amount)
        by_status[status].add(count, currency, amount)
    return {
        "total": total.as_json(),
        "by_method": {k: v.as_json() for k, v in by_method.items()},
        "by_age": {k: v.as_json() for k, v in by_age.items()},
        "by_status": {k: v.as_json() for k, v in by_status.items()},
    }


def _days_after(later, earlier):
    """SQL: whole days from `earlier` to `later` (dates)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return later - earlier
    return func.julianday(later) - func.julianday(earlier)


def recovery(merchant_id: int) -> list[dict]:
    """Recovery by dunning level. For each level N:

    - *reminded*: the orders that got a reminder of level N (a `remind` dunning event with
      level N, written by the rules or by "remind now"); the reminder day R is the first such
      event's day;
    - *paid*: of those, the orders whose status is paid now and whose last payment in the
      money ledger was booked from R to R + 14 days (a payment booked before R — by a bank's
      booking date — was not brought in by the reminder and does not count);
    - *recovered*: the payments less payment reversals booked from R to R + 14 days on all
      orders reminded at level N, per currency (part payments count too);
    - *rate*: paid / reminded (None without reminders).

    Two grouped queries in one: per reminded order, then per level and currency."""
    reminders = (
        select(
            DunningEvent.order_id,
            DunningEvent.level,
            func.min(DunningEvent.decided_on).label("reminded_on"),
        )
        .where(
            DunningEvent.merchant_id == merchant_id,
            DunningEvent.action == "remind",
            DunningEvent.level.is_not(None),
        )
        .group_by(DunningEvent.order_id, DunningEvent.level)
        .subquery("reminders")
    )
    after = _days_after(LedgerEntry.booked_on, reminders.c.reminded_on)
    in_window = and_(after >= 0, after <= RECOVERY_DAYS)
    signed = case(
        (LedgerEntry.kind == EntryKind.PAYMENT, LedgerEntry.amount), else_=-LedgerEntry.amount
    )
    per_order = (
        select(
            reminders.c.level,
            Order.currency,
            Order.status,
            func.sum(case((in_window, signed), else_=0)).label("recovered"),
            func.max(case((LedgerEntry.kind == EntryKind.PAYMENT, after))).label("last_paid"),
        )
        .select_from(reminders)
        .join(Order, Order.id == reminders.c.order_id)
        .outerjoin(
            LedgerEntry,
            and_(
                LedgerEntry.order_id == reminders.c.order_id,
                LedgerEntry.kind.in_([EntryKind.PAYMENT, EntryKind.PAYMENT_REVERSAL]),
            ),
        )
        .group_by(reminders.c.order_id, reminders.c.level, Order.currency, Order.status)
        .subquery("per_order")
    )
    paid_in_time = and_(
        per_order.c.status == Status.PAID,
        per_order.c.last_paid >= 0,
        per_order.c.last_paid <= RECOVERY_DAYS,
    )
    rows = db.session.execute(
        select(
            per_order.c.level,
            per_order.c.currency,
            func.count(),
            func.sum(case((paid_in_time, 1), else_=0)),
            func.sum(per_order.c.recovered),
        )
        .group_by(per_order.c.level, per_order.c.currency)
        .order_by(per_order.c.level)
    ).all()
    levels: dict[int, dict] = {}
    for level, currency, reminded, paid, recovered in rows:
        entry = levels.setdefault(level, {"level": level, "reminded": 0, "paid": 0, "amounts": {}})
        entry["reminded"] += reminded
        entry["paid"] += int(paid or 0)
        entry["amounts"][currency] = str(_money(recovered))
    for entry in levels.values():
        entry["rate"] = entry["paid"] / entry["reminded"] if entry["reminded"] else None
    return [levels[level] for level in sorted(levels)]


def first_month(today: date) -> date:
    """The first day of the month MONTHS - 1 months before today's."""
    index = today.year * 12 + today.month - 1 - (MONTHS - 1)
    return date(index // 12, index % 12 + 1, 1)


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months(merchant_id: int, today: date) -> list[dict]:
    """The last MONTHS months (this one included), oldest first:

    - *cancelled*: prepayment orders cancelled that month (by their cancellation day) with
      nothing paid (paid_total 0): count and order amount per currency;
    - *sales*: orders taken that month (by their order day) that are not cancelled unpaid
      (of any payment method): count and amount per currency.

    Two grouped queries, by day (portable; twelve months fold in Python)."""
    start = first_month(today)
    cancelled_unpaid = and_(Order.status == Status.CANCELLED, Order.paid_total == 0)
    cancelled = db.session.execute(
        select(Order.cancelled_on, Order.currency, func.count(Order.id), func.sum(Order.amount))
        .where(
            Order.merchant_id == merchant_id,
            cancelled_unpaid,
            Order.payment_method == Method.PREPAYMENT,
            Order.cancelled_on >= start,
            Order.cancelled_on <= today,
        )
        .group_by(Order.cancelled_on, Order.currency)
    ).all()
    sales = db.session.execute(
        select(Order.ordered_on, Order.currency, func.count(Order.id), func.sum(Order.amount))
        .where(
            Order.merchant_id == merchant_id,
            Order.ordered_on >= start,
            Order.ordered_on <= today,
            not_(cancelled_unpaid),
        )
        .group_by(Order.ordered_on, Order.currency)
    ).all()
    keys = []
    day = start
    while day <= today:
        keys.append(_month_key(day))
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    table = {key: {"cancelled": Tally(), "sales": Tally()} for key in keys}
    for kind, rows in (("cancelled", cancelled), ("sales", sales)):
        for day, currency, count, amount in rows:
            table[_month_key(_as_date(day))][kind].add(count, currency, amount)
    return [
        {"month": key, "cancelled": v["cancelled"].as_json(), "sales": v["sales"].as_json()}
        for key, v in table.items()
    ]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def compute(merchant_id: int, today: date) -> dict:
    """Every book-wide figure of the dashboard, as JSON (amounts as decimal strings)."""
    figures = {
        "today": today.isoformat(),
        "open": open_figures(merchant_id, today),
        "recovery": recovery(merchant_id),
        "months": months(merchant_id, today),
    }
    seen = set(figures["open"]["total"]["amounts"])
    for month in figures["months"]:
        seen |= set(month["cancelled"]["amounts"]) | set(month["sales"]["amounts"])
    for level in figures["recovery"]:
        seen |= set(level["amounts"])
    figures["currencies"] = currency_order(seen or {"EUR"})
    return figures


def refresh(merchant: Merchant, today: date) -> DashboardFigures:
    """Compute the figures and store them as the merchant's snapshot (the caller commits)."""
    started = utcnow()  # the figures are as of their queries' start
    figures = compute(merchant.id, today)
    row = snapshot(merchant.id)
    if row is None:
        row = DashboardFigures(merchant_id=merchant.id)
        db.session.add(row)
    row.figures = figures
    row.computed_at = started
    return row


def snapshot(merchant_id: int) -> DashboardFigures | None:
    return db.session.scalar(
        select(DashboardFigures).where(DashboardFigures.merchant_id == merchant_id)
    )


def pending(row: DashboardFigures | None) -> bool:
    """A recompute was asked for and has not finished yet."""
    return bool(row and row.requested_at and row.requested_at > row.computed_at)


def needs_refresh(merchant: Merchant, today: date) -> bool:
    """No snapshot, one of an earlier day (its ages are out of date: the nightly recompute),
    one older than the newest bank import or finished run, or one a user asked to recompute
    (a job's trigger got lost, Redis was away)."""
    row = snapshot(merchant.id)
    if row is None or row.figures.get("today") != today.isoformat() or pending(row):
        return True
    newest_import = db.session.scalar(
        select(func.max(BankImport.created_at)).where(BankImport.merchant_id == merchant.id)
    )
    newest_run = db.session.scalar(
        select(func.max(DunningRun.finished_at)).where(DunningRun.merchant_id == merchant.id)
    )
    return any(when and when > row.computed_at for when in (newest_import, newest_run))


def schedule_refresh(merchant_id: int) -> bool:
    """Ask the worker to recompute the merchant's snapshot (worker.jobs.refresh_dashboard, by
    name: the ledger imports no worker code). One job per merchant waits at a time. With Redis
    away nothing fails: the scheduler's dispatch finds the stale snapshot (needs_refresh)."""
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow

    queue = current_app.extensions["job_queue"]
    job_id = queue.job_id("dashboard", merchant_id)
    try:
        # One at a time, running ones included: a button any role may press must not be able
        # to keep the queue (which also delivers mail) busy with recomputes.
        if queue.alive(job_id):
            return False
        queue.enqueue("worker.jobs.refresh_dashboard", merchant_id, job_id=job_id)
        return True
    except (RedisDown, RedisSlow) as exc:
        log.warning("Redis is not answering (%s): the dispatch will refresh the dashboard", exc)
        return False


def request_refresh(merchant_id: int) -> None:
    """The "Recompute now" button: mark the snapshot as awaited (the page shows it), commit
    (before the job can finish), and ask the worker."""
    row = snapshot(merchant_id)
    if row is not None:
        row.requested_at = utcnow()
        db.session.commit()
    schedule_refresh(merchant_id)


# --- the work waiting (live, indexed) -----------------------------------------------------


@dataclass
class Live:
    claims: int  # open orders whose customer says they paid
    inbox: int  # bank payments neither matched nor set aside
    bank_data_as_of: date | None
    bank_data_days: int | None
    failed_messages: int
    runs: list[DunningRun]

    @property
    def bank_data_stale(self) -> bool:
        return self.bank_data_days is None or self.bank_data_days > STALE_BANK_DAYS


def live(merchant: Merchant, today: date) -> Live:
    """The counts that change all day, each from an index (no scan of the order book)."""
    mid = merchant.id
    claims = db.session.scalar(
        select(func.count(Order.id)).where(
            Order.merchant_id == mid,
            Order.payment_claimed_on.is_not(None),
            Order.status.in_(OPEN_STATUSES),
        )
    )
    inbox = db.session.scalar(
        select(func.count(BankTransaction.id)).where(
            BankTransaction.merchant_id == mid, BankTransaction.state.in_(WAITING)
        )
    )
    accounts_as_of = db.session.scalar(
        select(func.max(BankAccount.data_as_of)).where(BankAccount.merchant_id == mid)
    )
    dates = [d for d in (_as_date(accounts_as_of) if accounts_as_of else None,
                         merchant.bank_data_as_of) if d]  # fmt: skip
    as_of = max(dates) if dates else None
    failed = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.merchant_id == mid, OutboxMessage.state == MessageState.FAILED
        )
    )
    runs = list(
        db.session.scalars(
            select(DunningRun)
            .where(DunningRun.merchant_id == mid)
            .order_by(DunningRun.id.desc())
            .limit(LAST_RUNS)
        )
    )
    return Live(
        claims=claims or 0,
        inbox=inbox or 0,
        bank_data_as_of=as_of,
        bank_data_days=(today - as_of).days if as_of else None,
        failed_messages=failed or 0,
        runs=runs,
    )


__all__ = [
    "AGE_BUCKETS",
    "Live",
    "compute",
    "live",
    "needs_refresh",
    "refresh",
    "schedule_refresh",
    "snapshot",
]
