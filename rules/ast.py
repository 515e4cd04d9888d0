"""The typed syntax tree of a rules text: frozen dataclasses, each with the Span it came from.

Spans take part in ==; compare trees "structurally" with `strip_spans(a) == strip_spans(b)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import ClassVar, NamedTuple


class Span(NamedTuple):
    """Where a node stands in the text (1-based; the end column is just past its last
    character). A named tuple rather than a dataclass: the parser makes one per node, and a
    tuple is made in a fraction of a frozen dataclass's time."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Node:
    span: Span = field(default=NO_SPAN, kw_only=True)


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action(Node):
    kind: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Remind(Action):
    kind: ClassVar[str] = "remind"
    level: int | None = None
    channels: tuple[str, ...] = ()  # "email", "letter"; empty = email
    fee: Decimal | None = None
    fee_currency: str | None = None  # None = the order's currency


@dataclass(frozen=True, slots=True)
class Cancel(Action):
    kind: ClassVar[str] = "cancel"


@dataclass(frozen=True, slots=True)
class MarkOverdue(Action):
    kind: ClassVar[str] = "mark_overdue"


@dataclass(frozen=True, slots=True)
class Notify(Action):
    kind: ClassVar[str] = "notify"
    recipient: str = "accounting"  # "accounting" | "team" | an email address


@dataclass(frozen=True, slots=True)
class ReleaseReservation(Action):
    kind: ClassVar[str] = "release_reservation"


@dataclass(frozen=True, slots=True)
class HandOverToCollection(Action):
    kind: ClassVar[str] = "hand_over_to_collection"


@dataclass(frozen=True, slots=True)
class ChargeInterest(Action):
    kind: ClassVar[str] = "charge_interest"
    statutory: bool = True
    rate: Decimal | None = None  # percent per year when not statutory


@dataclass(frozen=True, slots=True)
class SendWebhook(Action):
    kind: ClassVar[str] = "send_webhook"
    name: str = ""


# --- steps -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trigger(Node):
    days: int
    business: bool = False

    @property
    def text(self) -> str:
        unit = "business days" if self.business else "days"
        if self.days == 1:
            unit = unit[:-1]
        return f"after {self.days} {unit}"


@dataclass(frozen=True, slots=True)
class Step(Node):
    trigger: Trigger
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class StepLine(Node):
    """One line (or the inline part of a block line) holding steps. `form` is "after" for
    `after 14 days: remind; ...` and "first" for `remind after 7 days, cancel after 21`."""

    form: str
    steps: tuple[Step, ...]


# --- conditions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AmountCondition(Node):
    op: str  # "over" | "under" | "at least" | "at most"
    amount: Decimal
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class CountryCondition(Node):
    countries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomerCondition(Node):
    customer_type: str  # "b2b" | "b2c"


@dataclass(frozen=True, slots=True)
class LanguageCondition(Node):
    language: str


@dataclass(frozen=True, slots=True)
class TagCondition(Node):
    tag: str


Condition = (
    AmountCondition | CountryCondition | CustomerCondition | LanguageCondition | TagCondition
)


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting(Node):
    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class MinGap(Setting):
    name: ClassVar[str] = "min_gap"
    days: int


@dataclass(frozen=True, slots=True)
class BankDataHold(Setting):
    name: ClassVar[str] = "bank_data_hold"
    days: int


@dataclass(frozen=True, slots=True)
class ClaimPause(Setting):
    name: ClassVar[str] = "claim_pause"
    days: int


@dataclass(frozen=True, slots=True)
class NoMailOnHolidays(Setting):
    name: ClassVar[str] = "no_mail"


@dataclass(frozen=True, slots=True)
class MissedSteps(Setting):
    """`on missed steps: escalate in order` (the default) or `on missed steps: skip to the
    latest`: what the run does when several steps of an order are due at once."""

    name: ClassVar[str] = "missed_steps"
    mode: str = "in_order"  # "in_order" | "latest"


@dataclass(frozen=True, slots=True)
class ApplyFrom(Setting):
    name: ClassVar[str] = "apply_from"
    on: date


# --- blocks and the whole text ---------------------------------------------------------------

METHOD_ALIASES = {
    "vorkasse": "prepayment",
    "prepayment": "prepayment",
    "rechnung": "invoice",
    "invoice": "invoice",
    "nachnahme": "cod",
    "cod": "cod",
    "any": "any",
}


@dataclass(frozen=True, slots=True)
class Block(Node):
    method: str  # "prepayment" | "invoice" | "cod" | "any"
    alias: str  # the word as written (lower case), e.g. "vorkasse"
    conditions: tuple[Condition, ...]
    body: tuple[StepLine | Setting, ...]  # in source order
    multiline: bool = False

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for line in self.body if isinstance(line, StepLine) for s in line.steps)

    @property
    def settings(self) -> tuple[Setting, ...]:
        return tuple(x for x in self.body if isinstance(x, Setting))


@dataclass(frozen=True, slots=True)
class Comment(Node):
    text: str  # including the leading "#"
    own_line: bool = True  # False for a comment after code on the same line


@dataclass(frozen=True, slots=True)
class Ruleset(Node):
    settings: tuple[Setting, ...]
    blocks: tuple[Block, ...]
    comments: tuple[Comment, ...] = ()


def constructor(cls):
    """A faster `cls(...)` with the same signature: the fields in order with their defaults, the
    span (and any other keyword-only field) by keyword.

    A frozen dataclass's __init__ sets each field through object.__setattr__; this sets the
    slots directly, in about half the instructions, and makes the same node. The parser makes
    thousands of nodes per file. Generated like dataclasses' own __init__."""
    scope = {"new": object.__new__, "cls": cls}
    positional, keyword, body = [], [], []
    for f in dataclasses.fields(cls):
        parameter = f.name
        if f.default is not dataclasses.MISSING:
            scope[f"default_{f.name}"] = f.default
            parameter += f"=default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"factory_{f.name}"] = f.default_factory
            parameter += "=missing"
            body.append(f"    if {f.name} is missing:\n        {f.name} = factory_{f.name}()\n")
        (keyword if f.kw_only else positional).append(parameter)
        scope[f"set_{f.name}"] = getattr(cls, f.name).__set__
        body.append(f"    set_{f.name}(node, {f.name})\n")
    scope["missing"] = dataclasses.MISSING
    parameters = ", ".join(positional + (["*", *keyword] if keyword else []))
    code = f"def make({parameters}):\n    node = new(cls)\n{''.join(body)}    return node\n"
    exec(code, scope)
    make = scope["make"]
    make.__qualname__ = f"constructor({cls.__name__})"
    return make


def strip_spans(node):
    """The same tree with every span replaced by NO_SPAN (for structural comparison)."""
    if isinstance(node, tuple):
        return tuple(strip_spans(x) for x in node)
    if isinstance(node, Node):
        changes = {
            f.name: strip_spans(getattr(node, f.name))
            for f in dataclasses.fields(node)
            if f.name != "span"
        }
        return dataclasses.replace(node, span=NO_SPAN, **changes)
    return node


def equal_ignoring_spans(a, b) -> bool:
    return strip_spans(a) == strip_spans(b)
