"""Syntax errors carry a code of rules.messages and their values (for the portal's German), and
their English stays exactly what `mahnwerk rules check` printed before they had codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rules
from rules.messages import EXPECTED, MESSAGES, expected_text, message
from tests.rules.test_parser import ERRORS

# (text, code, the English word for word)
CASES = [
    (
        "vorkasse:\n",
        "ends_early",
        "the rules end too early: expected indented lines with the block's steps",
    ),
    (
        "vorkasse after 14 days: notify",
        "line_ends_early",
        "the line ends too early: expected a recipient: accounting, team or a quoted email address",
    ),
    (
        "vorkasse after 14 days: remind level x",
        "unexpected",
        'expected a level number, but found "x"',
    ),
    (
        "vorkasse afte 14 days: remind",
        "unexpected_guess",
        "expected an action such as remind, cancel, mark overdue or notify accounting, a condition "
        'such as amount over 100 or country in DE, "after N days", ":" or "and", but found "afte" '
        '(did you mean "after"?)',
    ),
    (
        "vorkasse after 14 days: remind with fee 2,50",
        "unexpected_number",
        "expected an action such as remind, cancel, mark overdue or notify accounting, but found "
        '"50"; write amounts with a decimal point, e.g. 2.50',
    ),
    (
        "vorkasse after 3 days: remind\n    after 4 days: cancel",
        "indented_without_block",
        "this line is indented, but the line above does not start a block (a block header ends "
        'with ":")',
    ),
    (
        "rechnung:\n    after 3 days: remind\n  after 4 days: remind",
        "indentation_unmatched",
        "this line's indentation matches no line above it; indent the lines of a block by the "
        "same amount",
    ),
    ("vorkasse after 2.5 days: remind", "whole_days", "expected a whole number of days, not 2.5"),
    (
        "vorkasse after 3 days: remind level 1.5",
        "whole_level",
        "expected a whole level number, not 1.5",
    ),
    (
        "vorkasse after 3 days: remind level 1 level 2",
        "level_twice",
        "this reminder already has a level; give each option once",
    ),
    (
        "vorkasse after 3 days: remind with fee 2 with fee 3",
        "fee_twice",
        "this reminder already has a fee; give each option once",
    ),
    (
        "vorkasse after 3 days: remind by email by letter",
        "channels_twice",
        "this reminder already has its channels; give each option once",
    ),
    (
        "vorkasse: remind, cancel",
        "actions_without_trigger",
        'expected "after N days" to say when these actions happen',
    ),
    (
        "apply to orders from 2026-02-30",
        "bad_date",
        "2026-02-30 is not a valid date (YYYY-MM-DD)",
    ),
]


@pytest.mark.parametrize(("text", "code", "english"), CASES, ids=[c[1] for c in CASES])
def test_a_syntax_error_has_its_code_and_keeps_its_english(text, code, english):
    with pytest.raises(rules.RulesError) as caught:
        rules.parse(text)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == code
    assert diagnostic.message == english
    assert message(code, **diagnostic.params) == english  # the code and values say it all


def test_what_was_expected_is_kept_as_keys_and_keywords():
    (diagnostic,) = rules.check_text("vorkasse afte 14 days: remind")
    assert diagnostic.params == {
        "expected": ("action", "condition", "after", '":"', '"and"'),
        "found": "afte",
        "guess": "after",
    }
    assert all(word in EXPECTED or word.startswith('"') for word in diagnostic.params["expected"])


@pytest.mark.parametrize("text", [e[0] for e in ERRORS])
def test_no_syntax_error_is_without_a_code(text):
    (diagnostic,) = rules.check_text(text)
    assert diagnostic.code in MESSAGES
    assert message(diagnostic.code, **diagnostic.params) == diagnostic.message


def test_the_words_are_joined_like_before():
    assert expected_text(()) == "something else"
    assert expected_text(("line_end",)) == "the end of the line"
    assert expected_text(("rate", '":"', '";"')) == (
        'a rate such as 5 % or the word "statutory", ":" or ";"'
    )
    assert message("not_a_word_guess", found="dayz", guess="day") == (
        '"dayz" is not a word of the rules language (did you mean "day"?)'
    )


def test_the_rules_package_imports_neither_flask_nor_the_rest_of_mahnwerk():
    probe = (
        "import sys, rules; rules.check_text('vorkasse afte 14 days: remind'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'flask_babel', 'ledger', 'portal', 'worker'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == "[]"
