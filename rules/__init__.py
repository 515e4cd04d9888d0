"""Mahnwerk's rules language: parse, check, format and evaluate dunning rules.

Pure Python (lark, holidays); see docs/rules-api.md for the contract and docs/rules.md for the
language.
"""

from __future__ import annotations

from rules import ast
from rules.ast import (
    Cancel,
    ChargeInterest,
    HandOverToCollection,
    MarkOverdue,
    Notify,
    ReleaseReservation,
    Remind,
    SendWebhook,
    equal_ignoring_spans,
    strip_spans,
)
from rules.checker import CheckContext, check
from rules.diagnostics import Diagnostic, RulesError
from rules.evaluator import Program
from rules.formatter import format_rules
from rules.model import (
    BlockExplanation,
    Decision,
    Explanation,
    MatchResult,
    OrderFacts,
    OrderHistory,
    PlannedStep,
    Schedule,
    ScheduledStep,
    StepExplanation,
)
from rules.parser import parse

__all__ = [
    "BlockExplanation",
    "Cancel",
    "ChargeInterest",
    "CheckContext",
    "Decision",
    "Diagnostic",
    "Explanation",
    "HandOverToCollection",
    "MarkOverdue",
    "MatchResult",
    "Notify",
    "OrderFacts",
    "OrderHistory",
    "PlannedStep",
    "Program",
    "ReleaseReservation",
    "Remind",
    "RulesError",
    "Schedule",
    "ScheduledStep",
    "SendWebhook",
    "StepExplanation",
    "ast",
    "check_text",
    "compile_rules",
    "equal_ignoring_spans",
    "format_rules",
    "parse",
    "strip_spans",
]


def check_text(text: str, context: CheckContext | None = None) -> list[Diagnostic]:
    """Every error and warning in `text`, sorted by position. Never raises for bad text."""
    try:
        ruleset = parse(text)
    except RulesError as exc:
        return list(exc.diagnostics)
    return check(ruleset, context)


def compile_rules(text: str, context: CheckContext | None = None) -> Program:
    """A Program for `text`; raises RulesError when there is any error (warnings are kept in
    Program.warnings)."""
    ruleset = parse(text)
    diagnostics = check(ruleset, context)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise RulesError(errors + [d for d in diagnostics if d.severity == "warning"], text)
    return Program(ruleset, text, [d for d in diagnostics if d.severity == "warning"])
