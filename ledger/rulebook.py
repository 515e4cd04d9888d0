"""Which compiled rules program decides each order: the active version's, except for orders
that came in before its `apply to orders from` date, which keep the version they came in under.

Read by the run, the scheduling of next due dates, the preview and the portal; it imports only
the models, so nothing here depends on how versions are saved or activated (ledger.rulesets).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import select

import rules
from ledger.db import db
from ledger.models import Order, RulesetVersion


@lru_cache(maxsize=64)
def _compile(version_id: int, text: str) -> rules.Program:
    """Versions never change once saved, so a compiled program is cached by id and text."""
    return rules.compile_rules(text)


def program_of(version: RulesetVersion) -> rules.Program:
    return _compile(version.id, version.text)


def active_version(merchant_id: int) -> RulesetVersion | None:
    return db.session.scalar(
        select(RulesetVersion).where(
            RulesetVersion.merchant_id == merchant_id, RulesetVersion.active.is_(True)
        )
    )


def active_program(merchant_id: int) -> tuple[RulesetVersion | None, rules.Program | None]:
    version = active_version(merchant_id)
    if version is None:
        return None, None
    return version, program_of(version)


class Rulebook:
    """The programs a merchant's orders answer to: one program (the active version's, or a
    candidate's in a preview), except for orders ordered before its own `apply to orders from`
    date, which keep the version they came in under."""

    def __init__(self, version: RulesetVersion | None, program: rules.Program | None):
        self.version = version
        self.program = program
        self._older: dict[int, tuple[RulesetVersion, rules.Program]] = {}

    @property
    def only_program(self) -> rules.Program | None:
        """The program every order answers to, when no order can be left to an older version
        (a shortcut for loops over many orders)."""
        if self.program is not None and self.program.applies_from is None:
            return self.program
        return None

    @classmethod
    def active(cls, merchant_id: int) -> Rulebook:
        return cls(*active_program(merchant_id))

    def resolve(
        self, ordered_on: date, rules_version_id: int | None
    ) -> tuple[RulesetVersion | None, rules.Program | None]:
        start = self.program.applies_from if self.program else None
        own = self.version.id if self.version else None
        if start is None or ordered_on >= start or rules_version_id in (None, own):
            return self.version, self.program
        if rules_version_id not in self._older:
            older = db.session.get(RulesetVersion, rules_version_id)
            self._older[rules_version_id] = (older, program_of(older))
        return self._older[rules_version_id]

    def for_order(self, order: Order) -> tuple[RulesetVersion | None, rules.Program | None]:
        return self.resolve(order.ordered_on, order.rules_version_id)


def program_for(order: Order) -> tuple[RulesetVersion | None, rules.Program | None]:
    """The version and program that decide this order's steps now."""
    return Rulebook.active(order.merchant_id).for_order(order)
