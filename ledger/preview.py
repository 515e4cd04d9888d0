"""Dry run of a rules text against the merchant's real open orders, side by side with the
active rules: what each would do today, what changes, and the steps of the next weeks.

Nothing is written. The open orders are read once with plain column queries (no ORM objects:
a preview over 100 000 orders must answer in about a second), and the active rules only look
at the orders their indexed next due date says are due.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, type_coerce
from sqlalchemy.types import NullType

import rules
from ledger import lifecycle, rulesets, scheduling
from ledger.db import db
from ledger.models import OPEN_STATUSES, DunningEvent, Merchant, Order
from ledger.money import CENT
from ledger.rulebook import Rulebook
from rules.actions import SPECS

# What the preview counts, in the order it shows them. "fee" counts reminders that carry one.
KINDS = (
    ("remind", SPECS["remind"].label),
    ("fee", "Reminders with a fee"),
    *((kind, spec.label) for kind, spec in SPECS.items() if kind != "remind"),
)
FORECAST_DAYS = 60
NO_TAGS: frozenset[str] = frozenset()


class OpenOrder:
    """One open order as the preview needs it (a slotted class: there may be 100 000)."""

    __slots__ = (
        "id",
        "number",
        "customer",
        "amount",
        "currency",
        "next_due_on",
        "rules_version_id",
        "facts",
        "history",
    )

    def __init__(self, id, number, customer, amount, currency, next_due_on, rules_version_id,
                 facts, history):  # fmt: skip
        self.id, self.number, self.customer = id, number, customer
        self.amount, self.currency, self.next_due_on = amount, currency, next_due_on
        self.rules_version_id, self.facts, self.history = rules_version_id, facts, history


_paused = 0  # how many _bulk() blocks are open, in any thread
_paused_lock = threading.Lock()
_reenable = False  # whether the collector was on when the first of them began


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while many small objects are made: the collector would walk
    every one of them again and again (it doubled the load time of 40 000 orders). Nothing made
    here forms cycles; the collector runs as usual afterwards. The switch is process-wide and
    the portal serves previews from several threads, so the last block to end turns the
    collector back on, under a lock (two blocks checking and switching it unlocked could leave
    it off for good)."""
    global _paused, _reenable
    with _paused_lock:
        if _paused == 0:
            _reenable = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _reenable:
                gc.enable()


def _open_condition(merchant_id: int):
    return (
        Order.merchant_id == merchant_id,
        Order.status.in_(OPEN_STATUSES),
        Order.dunning_block.is_(False),
        Order.erased_at.is_(None),
    )


# Reading 100 000 rows, SQLAlchemy's per-value result processing (dates parsed by a regular
# expression on SQLite, every JSON decoded) cost more than the query itself. These columns are
# read raw and converted here: PostgreSQL's driver hands over dates and Decimals already,
# SQLite hands over ISO text and numbers.
def _raw(column):
    return type_coerce(column, NullType())


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _money(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)


def _tags(value) -> frozenset[str]:
    if not value or value == "[]":
        return NO_TAGS
    return frozenset(json.loads(value) if isinstance(value, str) else value)


def open_orders(merchant: Merchant) -> list[OpenOrder]:
    """Every order a ruleset could still act on, with its facts and dunning history."""
    rows = db.session.execute(
        select(
            Order.id,
            Order.number,
            Order.customer_name,
            _raw(Order.amount),
            Order.currency,
            _raw(Order.next_due_on),
            Order.rules_version_id,
            Order.payment_method,
            Order.country,
            Order.language,
            Order.customer_type,
            _raw(Order.ordered_on),
            _raw(Order.due_on),
            Order.region,
            _raw(Order.tags),
            Order.status,
            _raw(Order.payment_claimed_on),
        )
        .where(*_open_condition(merchant.id))
        .order_by(Order.id)
    ).all()
    ids = [row[0] for row in rows]
    open_ids = select(Order.id).where(*_open_condition(merchant.id))
    found = scheduling.histories_where(
        DunningEvent.order_id.in_(open_ids), ids, merchant.bank_data_as_of
    )
    orders = []
    for (
        id_,
        number,
        customer,
        amount,
        currency,
        next_due_on,
        rules_version_id,
        method,
        country,
        language,
        customer_type,
        ordered_on,
        due_on,
        region,
        tags,
        status,
        claimed_on,
    ) in rows:
        amount = _money(amount)
        ordered_on, due_on = _day(ordered_on), _day(due_on)
        next_due_on, claimed_on = _day(next_due_on), _day(claimed_on)
        history = found[id_]
        if claimed_on is not None:
            history = dataclasses.replace(history, payment_claimed_on=claimed_on)
        facts = rules.OrderFacts(
            method,
            amount,
            currency,
            country,
            language,
            customer_type,
            ordered_on,
            due_on,
            region,
            _tags(tags),
            status,
        )
        orders.append(
            OpenOrder(
                id_,
                number,
                customer,
                amount,
                currency,
                next_due_on,
                rules_version_id,
                facts,
                history,
            )
        )
    return orders


@dataclass
class Outcome:
    """What one ruleset does today: the orders per kind of action, and the fees it adds."""

    orders: dict[str, list[OpenOrder]] = field(default_factory=lambda: defaultdict(list))
    fees: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))  # per currency
    deferred: int = 0


def outcome_today(
    book: Rulebook, orders: list[OpenOrder], today: date, only_due: bool = False
) -> Outcome:
    """Decide every order as the daily run would today. With only_due, orders whose indexed
    next due date is later are passed over (exact for the active rules, whose dates those are)."""
    result = Outcome()
    only = book.only_program
    for order in orders:
        if only_due and (order.next_due_on is None or order.next_due_on > today):
            continue
        program = only or book.resolve(order.facts.ordered_on, order.rules_version_id)[1]
        if program is None:
            continue
        decision = program.decide(order.facts, order.history, today)
        if decision is None:
            continue
        if decision.deferred_to is not None:
            result.deferred += 1
            continue
        kinds = set()
        for action in decision.step.actions:
            kinds.add(action.kind)
            if action.kind == "remind" and action.fee:
                kinds.add("fee")
                result.fees[action.fee_currency or order.currency] += action.fee
        for kind in kinds:
            result.orders[kind].append(order)
    return result


@dataclass(frozen=True)
class Row:
    kind: str
    label: str
    active: list[OpenOrder]
    candidate: list[OpenOrder]
    added: list[OpenOrder]  # orders the candidate acts on and the active rules do not
    removed: list[OpenOrder]  # and the other way round

    @property
    def delta(self) -> int:
        return len(self.candidate) - len(self.active)


@dataclass(frozen=True)
class Comparison:
    today: date
    open_orders: int
    active_version: object | None
    rows: list[Row]
    active_fees: dict[str, Decimal]  # per currency
    candidate_fees: dict[str, Decimal]
    active_deferred: int
    candidate_deferred: int

    @property
    def changed(self) -> bool:
        return any(row.added or row.removed for row in self.rows)

    @property
    def fee_currencies(self) -> list[str]:
        return sorted(set(self.active_fees) | set(self.candidate_fees))


def candidate_book(merchant: Merchant, text: str) -> Rulebook:
    """A Rulebook for an unsaved text; raises rules.RulesError when the text has errors."""
    return Rulebook(None, rules.compile_rules(text, rulesets.check_context(merchant)))


def compare(merchant: Merchant, text: str, today: date) -> Comparison:
    """What these rules would do if they were active today, next to what the active rules do."""
    candidate = candidate_book(merchant, text)
    active = Rulebook.active(merchant.id)
    fresh = active.version is not None and active.version.recomputed_at is not None
    with _bulk():
        orders = open_orders(merchant)
        now = outcome_today(active, orders, today, only_due=fresh)
        new = outcome_today(candidate, orders, today)
    rows = []
    for kind, label in KINDS:
        before, after = now.orders.get(kind, []), new.orders.get(kind, [])
        if not before and not after:
            continue
        before_ids = {o.id for o in before}
        after_ids = {o.id for o in after}
        rows.append(
            Row(
                kind,
                label,
                before,
                after,
                [o for o in after if o.id not in before_ids],
                [o for o in before if o.id not in after_ids],
            )
        )
    return Comparison(
        today,
        len(orders),
        active.version,
        rows,
        dict(now.fees),
        dict(new.fees),
        now.deferred,
        new.deferred,
    )


@dataclass(frozen=True)
class Forecast:
    """Steps per day over the next days for the active rules and the candidate."""

    days: list[date]
    active: list[Counter]  # per day: action kind -> orders
    candidate: list[Counter]

    @property
    def peak(self) -> int:
        totals = [sum(c.values()) for c in self.active + self.candidate]
        return max(totals, default=0)

    def totals(self, side: str) -> Counter:
        found = Counter()
        for day in getattr(self, side):
            found.update(day)
        return found


def _steps_per_day(book, orders, today: date, until: date) -> dict[date, Counter]:
    per_day: dict[date, Counter] = defaultdict(Counter)
    only = book.only_program
    for order in orders:
        program = only or book.resolve(order.facts.ordered_on, order.rules_version_id)[1]
        if program is None:
            continue
        schedule = program.schedule(
            order.facts, order.history, today, until=until, transition=lifecycle.status_after
        )
        for step in schedule:
            per_day[step.due_on].update({a.kind for a in step.actions})
    return per_day


def forecast(merchant: Merchant, text: str, today: date, days: int = FORECAST_DAYS) -> Forecast:
    """Every step each ruleset would take from today over `days` days, assuming no payments
    come in (the most a ruleset can do)."""
    candidate = candidate_book(merchant, text)
    active = Rulebook.active(merchant.id)
    until = today + timedelta(days=days - 1)
    dates = [today + timedelta(days=n) for n in range(days)]
    with _bulk():
        orders = open_orders(merchant)
        now = _steps_per_day(active, orders, today, until)
        new = _steps_per_day(candidate, orders, today, until)
    return Forecast(
        dates, [now.get(d, Counter()) for d in dates], [new.get(d, Counter()) for d in dates]
    )


@dataclass(frozen=True)
class Timeline:
    """One order under both rulesets: what happened, and what each would do from today."""

    order: Order
    events: list[DunningEvent]
    active: rules.Schedule | None
    candidate: rules.Schedule | None
    active_version: object | None


def timeline(order: Order, text: str, today: date) -> Timeline:
    merchant = order.merchant
    candidate = candidate_book(merchant, text)
    active = Rulebook.active(order.merchant_id)
    events = list(
        db.session.scalars(
            select(DunningEvent)
            .where(DunningEvent.order_id == order.id)
            .order_by(DunningEvent.decided_on, DunningEvent.id)
        )
    )
    history = scheduling.order_history(order)
    facts = scheduling.order_facts(order)
    closed = not order.is_open or order.dunning_block or order.erased_at
    active_version, active_program = active.for_order(order)
    _none, candidate_program = candidate.for_order(order)
    plans = [
        None
        if program is None or closed
        else program.schedule(facts, history, today, transition=lifecycle.status_after)
        for program in (active_program, candidate_program)
    ]
    return Timeline(order, events, plans[0], plans[1], active_version)
