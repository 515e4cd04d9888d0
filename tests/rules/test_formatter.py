"""Canonical formatting: exact output, comments kept, idempotent, same tree."""

from __future__ import annotations

import pytest

import rules

MESSY = """\
# Mahnwerk rules\t\t
NO MAIL ON   weekends AND holidays

VORKASSE  After 14 Days:Remind;after 21 days : Cancel, Notify Accounting   # the card


rechnung amount OVER 100 and country in de,at :   # big invoices
  after 14 days: remind LEVEL 1 with fee 2.50 eur
      # between
  remind with fee 5 after 28 business days, charge interest 5% after 35
  at least 7 day between reminders
# trailing
"""

CANONICAL = """\
# Mahnwerk rules
no mail on weekends and holidays

vorkasse after 14 days: remind; after 21 days: cancel and notify accounting  # the card

rechnung amount over 100 country in DE, AT:  # big invoices
    after 14 days: remind level 1 with fee 2.50 EUR
    # between
    remind with fee 5 after 28 business days, charge interest 5 % after 35 business days
    at least 7 days between reminders
# trailing
"""


def test_messy_text_gets_the_canonical_form():
    assert rules.format_rules(MESSY) == CANONICAL


def test_canonical_text_is_left_alone():
    assert rules.format_rules(CANONICAL) == CANONICAL


@pytest.mark.parametrize("text", [MESSY, CANONICAL])
def test_formatting_keeps_the_tree_and_the_step_keys(text):
    formatted = rules.format_rules(text)
    assert rules.equal_ignoring_spans(rules.parse(formatted), rules.parse(text))
    before = rules.compile_rules(text)
    after = rules.compile_rules(formatted)
    keys = before.step_keys
    assert keys == after.step_keys
    assert keys[1][1].startswith("v1:")
    name = "invoice amount over 100 country in DE, AT/after 28 business days"
    assert before.legacy_keys()[name] == keys[1][1]


def test_step_first_trailing_actions_move_before_the_last_trigger():
    text = "vorkasse: remind after 7, cancel after 21, release reservation\n"
    assert rules.format_rules(text) == (
        "vorkasse: remind after 7 days, cancel and release reservation after 21 days\n"
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("ON MISSED STEPS :escalate  IN order", "on missed steps: escalate in order"),
        ("on missed steps:Skip To The Latest", "on missed steps: skip to the latest"),
    ],
)
def test_the_missed_steps_setting_has_two_canonical_forms(text, canonical):
    assert rules.format_rules(text) == canonical + "\n"
    block = f"rechnung:\n    after 3 days: remind\n    {text}\n"
    assert rules.format_rules(block) == f"rechnung:\n    after 3 days: remind\n    {canonical}\n"


def test_formatting_refuses_text_that_does_not_parse():
    with pytest.raises(rules.RulesError):
        rules.format_rules("vorkasse after 14 days: remnd\n")


def test_empty_text_formats_to_empty():
    assert rules.format_rules("") == ""
    assert rules.format_rules("\n\n") == ""
