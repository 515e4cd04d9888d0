"""Checks beyond syntax: each at its line and column, errors refuse, warnings do not."""

from __future__ import annotations

import pytest

import rules

ERRORS = [
    ("rechnung after 14 days: remind; after 21 days: cancel", 1, 48, "only for prepayment"),
    ("any after 21 days: cancel", 1, 20, "any payment method"),
    ("vorkasse after 30 days: mark overdue", 1, 25, "only for invoice and COD"),
    ("vorkasse after 21 days: remind; after 14 days: cancel", 1, 33, "increasing order"),
    ("rechnung:\n    after 7 days: remind\n    after 7 days: remind", 3, 5, "duplicate step"),
    (
        "vorkasse after 21 days: cancel; after 30 days: remind",
        1,
        33,
        "no step can follow the step on line 1",
    ),
    (
        "rechnung after 21 days: hand over to collection; after 30 days: notify team",
        1,
        50,
        "it ends dunning",
    ),
    ("vorkasse after 14 days: notify acounting", 1, 25, 'did you mean "accounting"?'),
    ('vorkasse after 14 days: notify "not-an-address@"', 1, 25, "not a valid email"),
    ("rechnung country in CH after 14 days: remind with fee 5 EUR", 1, 39, "in CHF"),
    ("rechnung country in DE, AT after 14 days: remind with fee 5 CHF", 1, 43, "in EUR"),
    ("rechnung amount over 100 amount under 50 after 9 days: remind", 1, 1, "all the amount"),
    ("rechnung customer is b2b customer is b2c after 9 days: remind", 1, 1, "both b2b and b2c"),
    ("rechnung country in DE country in AT after 9 days: remind", 1, 1, "every country list"),
    ("rechnung language is de language is fr after 9 days: remind", 1, 1, "only one language"),
    ("rechnung country in DE amount over 5 CHF after 9 days: remind", 1, 1, "currency"),
    (
        "rechnung:\n    after 9 days: remind\n    at least 3 days between reminders\n"
        "    at least 5 days between reminders",
        4,
        5,
        "already given on line 3",
    ),
    ("vorkasse after 4000 days: remind", 1, 10, "at most 3650 days"),
    ("vorkasse after 3 days: remind level 0", 1, 24, "level of 1 or more"),
    ("rechnung after 3 days: charge interest 120 %", 1, 24, "interest rate"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), ERRORS)
def test_errors_at_their_place(text, line, column, words):
    diagnostics = [d for d in rules.check_text(text) if d.severity == "error"]
    assert diagnostics, text
    first = diagnostics[0]
    assert (first.line, first.column) == (line, column)
    assert words in first.message
    with pytest.raises(rules.RulesError) as caught:
        rules.compile_rules(text)
    assert caught.value.diagnostics[0] == first


def test_webhook_names_are_checked_only_with_a_context():
    text = 'vorkasse after 14 days: send webhook "shopp"'
    assert rules.check_text(text) == []
    (error,) = rules.check_text(text, rules.CheckContext(webhook_names=frozenset({"shop"})))
    assert (error.severity, error.line, error.column) == ("error", 1, 25)
    assert 'did you mean "shop"?' in error.message
    with pytest.raises(rules.RulesError):
        rules.compile_rules(text, rules.CheckContext(webhook_names=frozenset({"shop"})))
    rules.compile_rules(text.replace("shopp", "shop"), rules.CheckContext(frozenset({"shop"})))


WARNINGS = [
    ("any after 30 days: notify team\nrechnung after 14 days: remind", 2, 1, "line 1"),
    (
        "rechnung country in DE, AT after 9 days: remind\n"
        "rechnung country in DE amount over 100 after 5 days: remind",
        2,
        1,
        "never applies",
    ),
    (
        "rechnung amount over 50 after 9 days: remind\n"
        "rechnung amount at least 60 after 5 days: remind",
        2,
        1,
        "never applies",
    ),
    ("rechnung:\n    at least 3 days between reminders", 1, 1, "no steps"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), WARNINGS)
def test_warnings_do_not_block_compiling(text, line, column, words):
    (warning,) = rules.check_text(text)
    assert (warning.severity, warning.line, warning.column) == ("warning", line, column)
    assert words in warning.message
    assert rules.compile_rules(text).warnings == [warning]


@pytest.mark.parametrize(
    "text",
    [
        "rechnung amount over 100 after 9 days: remind\n"
        "rechnung amount over 50 after 5 days: remind",
        "rechnung country in DE after 9 days: remind\n"
        "rechnung country in DE, AT after 5 days: remind",
        "rechnung customer is b2b after 9 days: remind\nrechnung after 5 days: remind",
        "vorkasse after 9 days: remind\nrechnung after 5 days: remind",
        "rechnung:\n    after 9 days: remind\n    apply to orders from 2026-02-01\n"
        "rechnung after 5 days: remind",
        "rechnung amount over 5 CHF after 9 days: remind\n"
        "rechnung amount over 5 after 3 days: remind",
        "rechnung language is fr language is FR customer is b2b customer is b2b country in DE, AT"
        " country in AT, CH after 9 days: remind",
    ],
)
def test_blocks_that_can_still_be_reached_are_fine(text):
    assert rules.check_text(text) == []


def test_mixed_units_and_team_warning():
    assert rules.check_text("rechnung after 5 business days: remind; after 9 days: remind") == []
    context = rules.CheckContext(team_address_known=False)
    (warning,) = rules.check_text("rechnung after 5 days: notify team", context)
    assert warning.severity == "warning" and "team" in warning.message


@pytest.mark.parametrize("missing", ["no account", "never imported"])
def test_holding_for_bank_data_that_is_not_there_is_warned(missing):
    text = "hold while bank data older than 3 days\nvorkasse after 14 days: remind\n"
    (warning,) = rules.check_text(text, rules.CheckContext(bank_data_missing=missing))
    assert warning.severity == "warning" and warning.line == 1
    assert "holds every step" in warning.message
    assert rules.check_text(text, rules.CheckContext(bank_data_missing=None)) == []
