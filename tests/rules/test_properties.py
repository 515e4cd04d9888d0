"""Properties: bad text only ever raises RulesError; valid trees survive formatting."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from rules import ast
from rules.formatter import format_ruleset
from tests.rules.strategies import rulesets, soups

ANY_TEXT = st.text(max_size=200) | soups


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_arbitrary_text_raises_only_rules_error(text):
    try:
        rules.compile_rules(text)
    except rules.RulesError as exc:
        assert exc.diagnostics and all(d.line >= 1 and d.column >= 1 for d in exc.diagnostics)
        assert str(exc)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_check_text_never_raises(text):
    for diagnostic in rules.check_text(text, rules.CheckContext(frozenset({"shop"}))):
        assert diagnostic.severity in ("error", "warning")
        assert diagnostic.render(text, "r.txt").startswith("r.txt:")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets)
def test_generated_rulesets_round_trip_through_fmt(tree):
    text = format_ruleset(tree)
    parsed = rules.parse(text)
    assert ast.strip_spans(parsed) == tree
    assert rules.format_rules(text) == text


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_fmt_is_idempotent_and_keeps_the_tree(text):
    try:
        once = rules.format_rules(text)
    except rules.RulesError:
        return
    assert rules.format_rules(once) == once
    assert rules.equal_ignoring_spans(rules.parse(once), rules.parse(text))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets, st.integers(0, 120), st.sampled_from(["prepayment", "invoice", "cod"]))
def test_next_due_on_agrees_with_decide(tree, offset, method):
    try:
        program = rules.compile_rules(format_ruleset(tree))
    except rules.RulesError:
        return
    due = date(2026, 11, 20)
    facts = rules.OrderFacts(
        method,
        Decimal("120"),
        "EUR",
        "DE",
        "de",
        "b2c",
        due - timedelta(days=offset),
        due,
        region="BY",
    )
    history = rules.OrderHistory(bank_data_as_of=date(2030, 1, 1))
    day = program.next_due_on(facts, history)
    if day is None:
        for later in (due, due + timedelta(days=400), due + timedelta(days=9000)):
            assert program.decide(facts, history, later) is None
        return
    assert program.decide(facts, history, day - timedelta(days=1)) is None
    assert program.decide(facts, history, day) is not None
