"""Ruleset versions: saving, activating, and the compiled program of the active version."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, select, update

import rules
from ledger import audit
from ledger.db import db
from ledger.models import Merchant, RulesetVersion, utcnow


@lru_cache(maxsize=64)
def _compile(version_id: int, text: str) -> rules.Program:
    """Versions never change once saved, so a compiled program is cached by id and text."""
    return rules.compile_rules(text)


def check_context(merchant: Merchant) -> rules.CheckContext:
    webhooks = frozenset({"shop"}) if merchant.webhook_url else frozenset()
    return rules.CheckContext(webhook_names=webhooks, team_address_known=bool(merchant.team_email))


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
    return version, _compile(version.id, version.text)


def save_version(merchant: Merchant, text: str, author: str, comment: str | None = None):
    number = (
        db.session.scalar(
            select(func.max(RulesetVersion.number)).where(RulesetVersion.merchant_id == merchant.id)
        )
        or 0
    ) + 1
    version = RulesetVersion(
        merchant_id=merchant.id, number=number, text=text, author=author, comment=comment
    )
    db.session.add(version)
    db.session.flush()
    audit.record(merchant.id, author, "rules.saved", version=number, comment=comment)
    return version


def activate(merchant: Merchant, version: RulesetVersion, actor: str) -> int:
    """Make `version` the active rules. Raises rules.RulesError (and changes nothing) when the
    text has errors. Returns the number of orders whose next due date was recomputed."""
    from ledger import scheduling  # scheduling asks this module for the active program

    program = rules.compile_rules(version.text, check_context(merchant))
    db.session.execute(
        update(RulesetVersion)
        .where(RulesetVersion.merchant_id == merchant.id, RulesetVersion.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session="fetch")
    )
    version.active = True
    version.activated_at = utcnow()
    db.session.flush()
    count = scheduling.recompute_all(merchant, program)
    audit.record(merchant.id, actor, "rules.activated", version=version.number, orders=count)
    return count


def save_and_activate(merchant: Merchant, text: str, author: str, comment: str | None = None):
    """Check first, so refused rules leave no version behind and the active rules unchanged."""
    rules.compile_rules(text, check_context(merchant))
    version = save_version(merchant, text, author, comment)
    activate(merchant, version, author)
    return version
