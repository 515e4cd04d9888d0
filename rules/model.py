"""What the evaluator is given (OrderFacts, OrderHistory) and what it answers with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rules import ast

CLOSED_STATUSES = frozenset({"paid", "cancelled", "written_off"})


@dataclass(frozen=True)
class OrderFacts:
    payment_method: str  # "prepayment" | "invoice" | "cod"
    amount: Decimal
    currency: str  # "EUR", "CHF"
    country: str  # ISO-3166 alpha-2
    language: str  # "de" | "en" | "fr" | "it"
    customer_type: str  # "b2b" | "b2c"
    ordered_on: date
    due_on: date
    region: str | None = None  # state / canton code for holidays, e.g. "BY", "ZH"
    tags: frozenset[str] = frozenset()
    status: str = "unpaid"  # unpaid|partially_paid|paid|cancelled|overdue|in_collection
    dunning_block: bool = False


@dataclass(frozen=True)
class OrderHistory:
    """What already happened to an order, from its real state (the ledger builds it)."""

    done_steps: frozenset[str] = frozenset()  # step keys already fired or skipped
    last_reminder_on: date | None = None
    payment_claimed_on: date | None = None  # the customer said "I paid"
    bank_data_as_of: date | None = None  # newest bank statement date of the merchant
    done_on: Mapping[str, date] = field(default_factory=dict)  # step key -> the day it fired
    level: int = 0  # the highest reminder level that went out (by a rule or by hand)
    level_on: Mapping[int, date] = field(default_factory=dict)  # level -> the day it first went out

    def after(self, step: PlannedStep, day: date, skipped=()) -> OrderHistory:
        """The history once `step` fired on `day` (and `skipped` steps were passed over):
        what the daily run and the simulation both carry forward."""
        done_on = {**self.done_on, step.key: day}
        level, level_on = self.level, self.level_on
        if step.level is not None:
            level = max(level, step.level)
            if step.level not in level_on:
                level_on = {**level_on, step.level: day}
        return OrderHistory(
            done_steps=self.done_steps | {step.key} | {s.key for s in skipped},
            last_reminder_on=day if step.level is not None else self.last_reminder_on,
            payment_claimed_on=self.payment_claimed_on,
            bank_data_as_of=self.bank_data_as_of,
            done_on=done_on,
            level=level,
            level_on=level_on,
        )


@dataclass(frozen=True)
class PlannedStep:
    key: str  # the step's stored identity (rules.identity), for exactly-once
    due_on: date
    actions: tuple[ast.Action, ...]  # Remind actions carry their resolved level
    source_line: str
    line: int
    block_label: str
    name: str = ""  # for people: "prepayment/after 14 days" (block label and trigger)
    level: int | None = None  # the reminder level the step sends, if it reminds


@dataclass(frozen=True)
class Decision:
    step: PlannedStep
    skipped: tuple[PlannedStep, ...]
    deferred_to: date | None  # set when a setting postpones the step; it did not fire
    deferred_because: str | None = None


@dataclass(frozen=True)
class MatchResult:
    block: ast.Block | None
    label: str | None
    reasons: dict[str, str]  # block label -> why it did (not) match, for every block


@dataclass(frozen=True)
class ScheduledStep:
    key: str
    name: str
    due_on: date  # the day the step is expected to fire (settings applied)
    planned_on: date  # the day the rule names (due date + N days)
    actions: tuple[ast.Action, ...]
    fee: Decimal | None
    fee_currency: str | None
    level: int | None
    source_line: str
    line: int
    block_label: str


@dataclass(frozen=True)
class Schedule:
    """Every future step of an order, in order, plus the first days of its milestones.
    Iterating a Schedule iterates its steps."""

    steps: tuple[ScheduledStep, ...]
    cancellation_on: date | None = None
    overdue_on: date | None = None
    collection_on: date | None = None

    def __iter__(self):
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index):
        return self.steps[index]


@dataclass(frozen=True)
class BlockExplanation:
    label: str
    line: int
    matched: bool
    reason: str


@dataclass(frozen=True)
class StepExplanation:
    key: str
    name: str
    due_on: date
    line: int
    source_line: str
    actions: tuple[ast.Action, ...]
    fires_today: bool
    reason: str


@dataclass(frozen=True)
class Explanation:
    today: date
    block_label: str | None
    blocks: tuple[BlockExplanation, ...]
    steps: tuple[StepExplanation, ...]
    decision: Decision | None
    note: str | None = None  # why nothing can fire at all (paid, blocked, claimed ...)

    def text(self) -> str:
        """Plain text for `mahnwerk rules explain`."""
        out = []
        for b in self.blocks:
            mark = "matched" if b.matched else "no"
            out.append(f"line {b.line}: {b.label}: {mark} - {b.reason}")
        if self.note:
            out.append(self.note)
        for s in self.steps:
            flag = "FIRES TODAY" if s.fires_today else s.reason
            out.append(f"  {s.name} on {s.due_on.isoformat()}: {flag}")
        return "\n".join(out)
