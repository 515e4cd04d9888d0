"""Semantic checks on a parsed Ruleset: everything the grammar cannot see, as Diagnostics."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from rules import ast, base_rates
from rules.actions import NEEDS_REMINDER, TERMINAL_KINDS
from rules.ast import Span
from rules.diagnostics import Diagnostic

MAX_DAYS = 3650  # ten years: beyond that a step is a typo, and dates would overflow soon after
MAX_LEVEL = 20  # no dunning procedure has more; a larger number is a typo (and overflows)
MAX_FEE = Decimal(10_000)
RECIPIENTS = ("accounting", "team")
EMAIL = re.compile(r"[^@\s\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
EURO = "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK"
METHODS = ("prepayment", "invoice", "cod", "any")
COUNTRY_CURRENCY = {c: "EUR" for c in EURO.split()} | {"CH": "CHF", "LI": "CHF"}


@dataclass(frozen=True)
class CheckContext:
    """What the checker may know about the merchant. Without a context (None) webhook names are
    not checked."""

    webhook_names: frozenset[str] | None = field(default_factory=frozenset)  # None: not checked
    team_address_known: bool = True
    # The merchant's today: statutory interest needs the base rate of every day it charges,
    # and rules/base_rates.py must know it (None: not checked).
    today: date | None = None
    # How far the merchant's bank data reaches, for `hold while bank data older than N days`:
    # "no account", "never imported", or None (fine, or not checked).
    bank_data_missing: str | None = None


def check(ruleset: ast.Ruleset, context: CheckContext | None = None) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    _check_settings(ruleset.settings, found)
    _check_bank_hold(ruleset.settings, context, found)
    file_mode = _missed_steps(ruleset.settings, "in_order")
    # per payment method, the blocks so far that could shadow a later block of that method
    earlier: dict[str, list[tuple[ast.Block, Reach]]] = {m: [] for m in METHODS}
    for block in ruleset.blocks:
        settings = block.settings
        later = reach(block, settings)
        _check_block(block, settings, later, context, found)
        _check_bank_hold(settings, context, found)
        if _missed_steps(settings, file_mode) == "in_order":
            _check_escalation(block, found)
        if context is not None and context.today is not None:
            _check_base_rates(block, later, context.today, found)
        for other, other_reach in earlier[block.method]:
            if covers(other_reach, later):
                found.append(
                    Diagnostic.coded(
                        "warning",
                        "shadowed",
                        header_span(block),
                        line=other.span.line,
                        alias=other.alias,
                    )
                )
                break
        for method in METHODS if block.method == "any" else (block.method,):
            earlier[method].append((block, later))
    found.sort(key=lambda d: (d.line, d.column))
    return found


BANK_HOLD_WARNINGS = {
    "no account": "bank_hold_no_account",
    "never imported": "bank_hold_never_imported",
}


def _check_bank_hold(settings, context: CheckContext | None, found: list) -> None:
    missing = context.bank_data_missing if context is not None else None
    for setting in settings:
        if setting.name == "bank_data_hold" and missing in BANK_HOLD_WARNINGS:
            found.append(Diagnostic.coded("warning", BANK_HOLD_WARNINGS[missing], setting.span))


def header_span(block: ast.Block) -> Span:
    start = block.span
    return Span(start.line, start.column, start.line, start.column + len(block.alias))


def _error(found: list, code: str, span: Span, **params) -> None:
    found.append(Diagnostic.coded("error", code, span, **params))


def _check_settings(settings, found: list) -> None:
    seen: dict[str, ast.Setting] = {}
    for setting in settings:
        if setting.name in seen:
            line = seen[setting.name].span.line
            _error(found, "setting_twice", setting.span, line=line)
        seen[setting.name] = setting
        days = getattr(setting, "days", 0)
        if days > MAX_DAYS:
            _error(found, "too_many_days", setting.span, max_days=MAX_DAYS)


def _check_block(
    block: ast.Block, settings, block_reach: Reach, context: CheckContext | None, found: list
) -> None:
    _check_settings(settings, found)
    why = never_matches(block, block_reach)
    if why:
        _error(found, why, header_span(block))
    steps = block.steps
    if not steps:
        found.append(Diagnostic.coded("warning", "no_steps", header_span(block)))
    previous: ast.Step | None = None
    seen: dict[tuple[int, bool], ast.Step] = {}
    terminal: ast.Step | None = None
    for step in steps:
        trigger = step.trigger
        key = (trigger.days, trigger.business)
        if terminal is not None:
            _error(found, "after_terminal", step.span, line=terminal.span.line)
        elif key in seen:
            _error(found, "duplicate_step", trigger.span, trigger=trigger.text)
        elif previous is not None and trigger.days <= previous.trigger.days:
            _error(found, "steps_order", trigger.span, days=previous.trigger.days)
        if trigger.days > MAX_DAYS:
            _error(found, "too_many_days", trigger.span, max_days=MAX_DAYS)
        seen.setdefault(key, step)
        previous = step
        for action in step.actions:
            _check_action(block, action, context, found)
            if terminal is None and action.kind in TERMINAL_KINDS:
                terminal = step  # it ends dunning: no later step may come


# Whose statutory default rate is built on a base-rate table (ledger/interest.py has the law;
# tests/ledger/test_interest_wiring.py keeps the two in step).
STATUTORY_BASE = {"DE": frozenset({"b2c", "b2b"}), "AT": frozenset({"b2b"})}


def _check_base_rates(block: ast.Block, r: Reach, today: date, found: list) -> None:
    """Statutory interest for German and Austrian orders needs the base rate of today: an
    error when rules/base_rates.py does not know it yet."""
    countries = frozenset.intersection(*r.country_lists) if r.country_lists else None
    types = {c.customer_type for c in r.others if c.__class__ is ast.CustomerCondition}
    for step in block.steps:
        for action in step.actions:
            if not (isinstance(action, ast.ChargeInterest) and action.statutory):
                continue
            for country, customers in STATUTORY_BASE.items():
                if countries is not None and country not in countries:
                    continue
                if types and not types & customers:
                    continue
                until = base_rates.known_until(country)
                if today > until:
                    _error(
                        found,
                        "base_rate_unknown",
                        action.span,
                        country=country,
                        until=until.strftime("%d.%m.%Y"),
                        hint=base_rates.UPDATE_HINT,
                    )


def _missed_steps(settings, default: str) -> str:
    return next((s.mode for s in settings if s.__class__ is ast.MissedSteps), default)


def _check_escalation(block: ast.Block, found: list) -> None:
    """Escalating in order, a cancellation, a collection hand-over, interest or a fee comes
    only after a reminder reached the order: say so where a block asks for one before any."""
    reminded = False
    for step in block.steps:
        for action in step.actions:
            if action.kind in NEEDS_REMINDER and not reminded:
                found.append(
                    Diagnostic.coded(
                        "warning",
                        "needs_reminder",
                        action.span,
                        action=action.kind.replace("_", " "),
                    )
                )
            elif isinstance(action, ast.Remind) and action.fee and not reminded:
                found.append(Diagnostic.coded("warning", "first_reminder_fee", action.span))
        reminded = reminded or any(isinstance(a, ast.Remind) for a in step.actions)


def _check_action(block, action: ast.Action, context, found: list) -> None:
    method = block.method
    if isinstance(action, ast.Remind):  # the most frequent action first
        if action.level is not None and action.level < 1:
            _error(found, "level_low", action.span)
        elif action.level is not None and action.level > MAX_LEVEL:
            _error(found, "level_high", action.span, max_level=MAX_LEVEL)
        if action.fee is not None and action.fee > MAX_FEE:
            _error(found, "fee_high", action.span, max_fee=MAX_FEE)
        _check_fee_currency(block, action, found)
    elif isinstance(action, ast.Cancel) and method != "prepayment":
        if method == "any":
            _error(found, "cancel_any", action.span)
        else:
            _error(found, "cancel_method", action.span, method=method)
    elif isinstance(action, ast.MarkOverdue) and method in ("prepayment", "any"):
        _error(found, "overdue_any" if method == "any" else "overdue_prepayment", action.span)
    elif isinstance(action, ast.Notify):
        _check_recipient(action, context, found)
    elif isinstance(action, ast.SendWebhook) and context and context.webhook_names is not None:
        if action.name not in context.webhook_names:
            known = ", ".join(sorted(context.webhook_names))
            match = difflib.get_close_matches(action.name, sorted(context.webhook_names), n=1)
            if match:
                _error(
                    found,
                    "unknown_webhook_guess",
                    action.span,
                    name=action.name,
                    known=known,
                    guess=match[0],
                )
            elif known:
                _error(found, "unknown_webhook", action.span, name=action.name, known=known)
            else:
                _error(found, "unknown_webhook_none", action.span, name=action.name)
    elif isinstance(action, ast.ChargeInterest) and not _valid_rate(action):
        _error(found, "interest_rate", action.span)


def _valid_rate(action: ast.ChargeInterest) -> bool:
    return action.rate is None or Decimal(0) < action.rate <= Decimal(100)


def _check_recipient(action: ast.Notify, context, found: list) -> None:
    recipient = action.recipient
    if recipient in RECIPIENTS or EMAIL.fullmatch(recipient):
        if recipient == "team" and context is not None and not context.team_address_known:
            found.append(Diagnostic.coded("warning", "no_team_address", action.span))
        return
    if "@" in recipient:
        _error(found, "bad_email", action.span, recipient=recipient)
        return
    match = difflib.get_close_matches(recipient, RECIPIENTS, n=1)
    if match:
        _error(found, "unknown_recipient_guess", action.span, recipient=recipient, guess=match[0])
    else:
        _error(found, "unknown_recipient", action.span, recipient=recipient)


def _check_fee_currency(block: ast.Block, action: ast.Remind, found: list) -> None:
    if action.fee_currency is None:
        return
    possible = block_currencies(block)
    if possible is not None and action.fee_currency not in possible:
        have = " or ".join(sorted(possible))
        code = "fee_currency" if have else "fee_currency_none"
        _error(found, code, action.span, currency=action.fee_currency, have=have)


def block_currencies(block: ast.Block) -> set[str] | None:
    """Currencies this block's orders can have, or None when any currency is possible."""
    result: set[str] | None = None
    for condition in block.conditions:
        if isinstance(condition, ast.AmountCondition) and condition.currency:
            allowed = {condition.currency}
        elif isinstance(condition, ast.CountryCondition):
            if any(c not in COUNTRY_CURRENCY for c in condition.countries):
                continue
            allowed = {COUNTRY_CURRENCY[c] for c in condition.countries}
        else:
            continue
        result = allowed if result is None else result & allowed
    return result


# --- which orders a block can match --------------------------------------------------------


def amount_interval(conditions) -> tuple[tuple, tuple]:
    """(lower, upper) bounds as (value, inclusive); value None = unbounded."""
    low, high = (None, False), (None, False)
    for c in conditions:
        if not isinstance(c, ast.AmountCondition):
            continue
        if c.op in ("over", "at least"):
            bound = (c.amount, c.op == "at least")
            if low[0] is None or bound[0] > low[0] or (bound[0] == low[0] and not bound[1]):
                low = bound
        else:
            bound = (c.amount, c.op == "at most")
            if high[0] is None or bound[0] < high[0] or (bound[0] == high[0] and not bound[1]):
                high = bound
    return low, high


def _empty(low, high) -> bool:
    if low[0] is None or high[0] is None:
        return False
    return low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1]))


def _values(block: ast.Block, kind, attribute: str) -> list:
    return [getattr(c, attribute) for c in block.conditions if isinstance(c, kind)]


def never_matches(block: ast.Block, r: Reach) -> str | None:
    """Why no order can match the block (whose reach is `r`): a code of rules.messages, or
    None."""
    if r.country_lists and not frozenset.intersection(*r.country_lists):
        return "never_countries"
    if len({c.customer_type for c in r.others if c.__class__ is ast.CustomerCondition}) > 1:
        return "never_customer"
    if len({c.language for c in r.others if c.__class__ is ast.LanguageCondition}) > 1:
        return "never_language"
    if _empty(*r.amounts):
        return "never_amount"
    if block_currencies(block) == set():
        return "never_currency"
    return None


def _within(inner, outer) -> bool:
    """Is the interval `inner` inside `outer`?"""
    (ilo, ihi), (olo, ohi) = inner, outer
    if olo[0] is not None and (
        ilo[0] is None or ilo[0] < olo[0] or (ilo[0] == olo[0] and ilo[1] and not olo[1])
    ):
        return False
    return ohi[0] is None or not (
        ihi[0] is None or ihi[0] > ohi[0] or (ihi[0] == ohi[0] and ihi[1] and not ohi[1])
    )


class Reach(NamedTuple):
    """What decides which orders a block matches, worked out once per block for `covers`."""

    method: str
    start: date | None  # the block's `apply to orders from`
    country_lists: tuple[frozenset[str], ...]
    currencies: frozenset[str]  # named by its amount conditions (`amount over 5 CHF`)
    amounts: tuple  # amount_interval
    others: tuple  # its other conditions, without spans


def reach(block: ast.Block, settings: tuple) -> Reach:
    """The block's reach; `settings` are the block's own (`block.settings`)."""
    conditions = block.conditions
    return Reach(
        block.method,
        next((s.on for s in settings if s.__class__ is ast.ApplyFrom), None),
        tuple(frozenset(c) for c in _values(block, ast.CountryCondition, "countries")),
        frozenset(filter(None, _values(block, ast.AmountCondition, "currency"))),
        amount_interval(conditions),
        tuple(
            ast.strip_spans(c)
            for c in conditions
            if not isinstance(c, ast.CountryCondition | ast.AmountCondition)
        ),
    )


def covers(first: Reach, later: Reach) -> bool:
    """Does the block of `first` match every order that the block of `later` matches (so the
    later one is never reached)?"""
    if first.method not in ("any", later.method):
        return False
    if first.start is not None and (later.start is None or later.start < first.start):
        return False
    for countries in first.country_lists:  # each of first's lists holds one of later's
        for other in later.country_lists:
            if other <= countries:
                break
        else:
            return False
    if not first.currencies <= later.currencies:
        return False
    for condition in first.others:
        if condition not in later.others:
            return False
    return _within(later.amounts, first.amounts)
