"""Small builders shared by the rules tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import rules

DUE = date(2026, 10, 1)


def facts(**changes) -> rules.OrderFacts:
    base = dict(
        payment_method="prepayment",
        amount=Decimal("49.90"),
        currency="EUR",
        country="DE",
        language="de",
        customer_type="b2c",
        ordered_on=DUE,
        due_on=DUE,
    )
    return rules.OrderFacts(**(base | changes))


def history(**changes) -> rules.OrderHistory:
    return rules.OrderHistory(**changes)


def kinds(decision) -> list[str]:
    return [a.kind for a in decision.step.actions]


def with_done(program, *names: str, **changes) -> rules.OrderHistory:
    """A history in which the steps named "<block label>/<trigger>" are done."""
    keys = program.legacy_keys()
    return rules.OrderHistory(done_steps=frozenset(keys[n] for n in names), **changes)
