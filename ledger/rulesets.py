"""Ruleset versions: saving (with a guard against two editors overwriting each other),
activating, and which compiled program each order answers to."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

import rules
from ledger import audit, scheduling
from ledger.clock import today_for
from ledger.db import db
from ledger.models import Merchant, RulesetVersion, utcnow
from ledger.rulebook import active_version  # noqa: F401  (the version pages ask here too)
from rules.ast import Span
from rules.messages import MESSAGES


class VersionConflict(Exception):
    """The text was saved by someone else since the editor loaded it."""

    def __init__(self, latest: RulesetVersion):
        self.latest = latest
        super().__init__(f"version {latest.number} was saved meanwhile by {latest.author}")


def check_context(merchant: Merchant) -> rules.CheckContext:
    webhooks = frozenset({"shop"}) if merchant.webhook_url else frozenset()
    return rules.CheckContext(
        webhook_names=webhooks,
        team_address_known=bool(merchant.team_email),
        today=today_for(merchant),
        bank_data_missing=_bank_data_missing(merchant),
    )


def _bank_data_missing(merchant: Merchant) -> str | None:
    from ledger.bank.accounts import accounts_of

    if merchant.bank_data_as_of is not None:
        return None
    return "never imported" if accounts_of(merchant.id) else "no account"


def diagnostics(merchant: Merchant, text: str) -> list[rules.Diagnostic]:
    """Errors and warnings of a text, with the merchant's recipients and webhooks known."""
    return rules.check_text(text, check_context(merchant))


def has_errors(merchant: Merchant, text: str) -> bool:
    return any(d.severity == "error" for d in diagnostics(merchant, text))


def latest_version(merchant_id: int) -> RulesetVersion | None:
    return db.session.scalar(
        select(RulesetVersion)
        .where(RulesetVersion.merchant_id == merchant_id)
        .order_by(RulesetVersion.number.desc())
        .limit(1)
    )


def find_version(merchant_id: int, number: int) -> RulesetVersion | None:
    return db.session.scalar(
        select(RulesetVersion).where(
            RulesetVersion.merchant_id == merchant_id, RulesetVersion.number == number
        )
    )


def save_version(
    merchant: Merchant,
    text: str,
    author: str,
    comment: str | None = None,
    based_on: int | None = None,
    check_base: bool = False,
) -> RulesetVersion:
    """Store `text` as the merchant's next version (errors and all: a draft is never lost).

    With check_base, `based_on` is the number of the newest version the editor had loaded (0 for
    none); when someone saved since, VersionConflict is raised and nothing is stored."""
    latest = latest_version(merchant.id)
    latest_number = latest.number if latest else 0
    if check_base and based_on != latest_number:
        raise VersionConflict(latest)
    version = RulesetVersion(
        merchant_id=merchant.id,
        number=latest_number + 1,
        text=text,
        author=author,
        comment=comment,
        based_on=based_on or None,
    )
    try:
        with db.session.begin_nested():  # a savepoint, so a lost race leaves the session usable
            db.session.add(version)
    except IntegrityError:
        # Another save took the same number between our read and our insert.
        raise VersionConflict(latest_version(merchant.id)) from None
    audit.record(merchant.id, author, "rules.saved", version=version.number, comment=comment)
    return version


MAX_TEXT = 100_000  # characters: the portal's editor and the CLI alike
EMPTY = MESSAGES["no_block"]
_WHOLE_TEXT = Span(1, 1, 1, 2)  # where a finding about the whole text points


def compile_for_activation(merchant: Merchant, text: str) -> rules.Program:
    """The program `text` would be as the active rules; RulesError when it has errors, is too
    long, or has no block at all (an empty or comment-only text would stop all dunning)."""
    if len(text) > MAX_TEXT:
        too_long = rules.Diagnostic.coded("error", "too_long", _WHOLE_TEXT, limit=MAX_TEXT)
        raise rules.RulesError([too_long], text)
    program = rules.compile_rules(text, check_context(merchant))
    if not program.blocks:
        raise rules.RulesError([rules.Diagnostic.coded("error", "no_block", _WHOLE_TEXT)], text)
    return program


def activate(
    merchant: Merchant, version: RulesetVersion, actor: str, recompute: bool = True
) -> int:
    """Make `version` the active rules. Raises rules.RulesError (and changes nothing) when the
    text has errors or no block. With recompute, every open order's next due date is recomputed
    now and the count returned; without, the caller has it done in the background."""
    compile_for_activation(merchant, version.text)
    db.session.execute(
        update(RulesetVersion)
        .where(RulesetVersion.merchant_id == merchant.id, RulesetVersion.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session="fetch")
    )
    version.active = True
    version.activated_at = utcnow()
    version.recomputed_at = None
    version.recompute_done = 0
    version.recompute_total = scheduling.open_order_count(merchant.id)
    db.session.flush()
    audit.record(merchant.id, actor, "rules.activated", version=version.number)
    if not recompute:
        return 0
    return scheduling.recompute_all(merchant, version)


def save_and_activate(merchant: Merchant, text: str, author: str, comment: str | None = None):
    """Check first, so refused rules leave no version behind and the active rules unchanged."""
    compile_for_activation(merchant, text)
    version = save_version(merchant, text, author, comment)
    activate(merchant, version, author)
    return version


def versions(merchant_id: int, limit: int = 50) -> list[RulesetVersion]:
    return list(
        db.session.scalars(
            select(RulesetVersion)
            .where(RulesetVersion.merchant_id == merchant_id)
            .order_by(RulesetVersion.number.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "removed" | "added"
    old_number: int | None
    new_number: int | None
    text: str


def line_diff(old: str, new: str) -> list[DiffLine]:
    """Every line of both texts, in order, marked same, removed (only in old) or added."""
    a = old.replace("\r\n", "\n").split("\n")
    b = new.replace("\r\n", "\n").split("\n")
    if a and a[-1] == "":
        a.pop()
    if b and b[-1] == "":
        b.pop()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1)]
            continue
        out += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
        out += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    return out
