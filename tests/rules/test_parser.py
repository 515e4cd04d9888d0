"""Source snippets → exact trees (spans compared separately), and syntax errors at exact places."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

import rules
from rules.ast import (
    AmountCondition,
    ApplyFrom,
    BankDataHold,
    Block,
    Cancel,
    ChargeInterest,
    ClaimPause,
    CountryCondition,
    CustomerCondition,
    HandOverToCollection,
    LanguageCondition,
    MarkOverdue,
    MinGap,
    MissedSteps,
    NoMailOnHolidays,
    Notify,
    ReleaseReservation,
    Remind,
    Ruleset,
    SendWebhook,
    Span,
    Step,
    StepLine,
    TagCondition,
    Trigger,
    strip_spans,
)


def after(days, *actions, business=False):
    return Step(Trigger(days, business), tuple(actions))


def inline(alias, method, form, *steps, conditions=()):
    return Block(method, alias, tuple(conditions), (StepLine(form, tuple(steps)),))


CASES = [
    (
        "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting",
        Ruleset(
            (),
            (
                inline(
                    "vorkasse",
                    "prepayment",
                    "after",
                    after(14, Remind()),
                    after(21, Cancel(), Notify("accounting")),
                ),
            ),
        ),
    ),
    (
        "VORKASSE After 14 Days: Remind",
        Ruleset((), (inline("vorkasse", "prepayment", "after", after(14, Remind())),)),
    ),
    (
        "vorkasse: remind after 7 days, remind with fee 2.50 after 14, cancel and notify accounting"
        " after 21, release reservation",
        Ruleset(
            (),
            (
                inline(
                    "vorkasse",
                    "prepayment",
                    "first",
                    after(7, Remind()),
                    after(14, Remind(fee=D("2.50"))),
                    after(21, Cancel(), Notify("accounting"), ReleaseReservation()),
                ),
            ),
        ),
    ),
    (
        "rechnung amount over 100 country in de, AT:\n"
        "    after 14 days: remind level 1 by letter and email with fee 2.50 EUR\n"
        "    # a comment line\n"
        "    remind after 5 business days, charge interest 8.5 % after 9\n"
        "    at least 7 days between reminders\n",
        Ruleset(
            (),
            (
                Block(
                    "invoice",
                    "rechnung",
                    (AmountCondition("over", D(100)), CountryCondition(("DE", "AT"))),
                    (
                        StepLine(
                            "after", (after(14, Remind(1, ("letter", "email"), D("2.50"), "EUR")),)
                        ),
                        StepLine(
                            "first",
                            (
                                after(5, Remind(), business=True),
                                after(9, ChargeInterest(False, D("8.5")), business=True),
                            ),
                        ),
                        MinGap(7),
                    ),
                    multiline=True,
                ),
            ),
            (rules.ast.Comment("# a comment line"),),
        ),
    ),
    (
        'any customer is B2B and language is FR tag is "big # deal" amount at most 20 chf'
        ' after 1 day: notify "a@b.de", send webhook "shop"',
        Ruleset(
            (),
            (
                inline(
                    "any",
                    "any",
                    "after",
                    after(1, Notify("a@b.de"), SendWebhook("shop")),
                    conditions=(
                        CustomerCondition("b2b"),
                        LanguageCondition("fr"),
                        TagCondition("big # deal"),
                        AmountCondition("at most", D(20), "CHF"),
                    ),
                ),
            ),
        ),
    ),
    (
        "no mail on weekends and holidays\n"
        "hold while bank data older than 3 days\n"
        "pause 10 days after customer reports payment\n"
        "apply to orders from 2026-01-01\n"
        "nachnahme amount below 5 after 30 days: mark overdue and notify team;"
        " after 40 days: hand over to collection\n",
        Ruleset(
            (NoMailOnHolidays(), BankDataHold(3), ClaimPause(10), ApplyFrom(date(2026, 1, 1))),
            (
                inline(
                    "nachnahme",
                    "cod",
                    "after",
                    after(30, MarkOverdue(), Notify("team")),
                    after(40, HandOverToCollection()),
                    conditions=(AmountCondition("under", D(5)),),
                ),
            ),
        ),
    ),
    (
        "on missed steps: Skip To The Latest\n"
        "rechnung:\n"
        "    on missed steps: escalate in order\n"
        "    after 3 days: remind\n",
        Ruleset(
            (MissedSteps("latest"),),
            (
                Block(
                    "invoice",
                    "rechnung",
                    (),
                    (MissedSteps("in_order"), StepLine("after", (after(3, Remind()),))),
                    multiline=True,
                ),
            ),
        ),
    ),
    ("", Ruleset((), ())),
    ("# only a comment\n\n", Ruleset((), (), (rules.ast.Comment("# only a comment"),))),
]


@pytest.mark.parametrize(("text", "tree"), CASES)
def test_snippets_parse_to_exact_trees(text, tree):
    assert strip_spans(rules.parse(text)) == tree


def test_spans_point_at_the_source():
    tree = rules.parse("# c\nvorkasse after 14 days: remind; after 21 days: cancel  # end\n")
    (block,) = tree.blocks
    first, second = block.steps
    assert block.span.line == 2 and block.span.column == 1
    assert first.trigger.span == Span(2, 10, 2, 23)
    assert first.actions[0].span == Span(2, 25, 2, 31)
    assert second.actions[0].span == Span(2, 48, 2, 54)
    assert [(c.text, c.own_line, c.span.line, c.span.column) for c in tree.comments] == [
        ("# c", True, 1, 1),
        ("# end", False, 2, 56),
    ]


def test_crlf_and_missing_final_newline():
    a = rules.parse("rechnung:\r\n    after 3 days: remind\r\n    after 9 days: remind")
    b = rules.parse("rechnung:\n    after 3 days: remind\n    after 9 days: remind\n")
    assert a == b


ERRORS = [
    ("vorkasse after 14 days: remnd", 1, 25, ['did you mean "remind"?', "an action such as"]),
    ("vorkase after 14 days: remind", 1, 1, ['did you mean "vorkasse"?', "a payment method"]),
    ("vorkasse after x days: remind", 1, 16, ["a number of days"]),
    ("vorkasse after 14 days remind", 1, 24, ['":"']),
    ("vorkasse after 2.5 days: remind", 1, 16, ["a whole number of days"]),
    ("rechnung country in DEU after 3 days: remind", 1, 21, ["two-letter code"]),
    ("vorkasse after 14 days: notify", 1, 31, ["line ends too early", "a recipient"]),
    ("vorkasse after 14 days: remind with fee 2,50", 1, 43, ["decimal point"]),
    ("vorkasse after 3 days: remind\n    after 4 days: cancel", 2, 1, ["indented"]),
    ("rechnung:\n    after 3 days: remind\n  after 4 days: remind", 3, 1, ["indentation"]),
    ("vorkasse: remind, cancel", 1, 11, ['"after N days"']),
    ("vorkasse:\n", 1, 10, ["end too early", "indented lines"]),
    ("apply to orders from 2026-02-30", 1, 22, ["not a valid date"]),
    ("at least 7 dayz between reminders", 1, 12, ['did you mean "day"?']),
    ("\n\nrechnung after 14 days: remind level x", 3, 38, ["a level number"]),
    ("vorkasse after 3 days: remind level 1 level 2", 1, 39, ["already has a level"]),
    ("vorkasse after 3 days: remind with fee 2 with fee 3", 1, 42, ["already has a fee"]),
    ("vorkasse after 3 days: remind by email by letter", 1, 40, ["already has its channels"]),
    ("on missed steps:", 1, 17, ['expected "escalate in order" or "skip to the latest"']),
    ("on missed steps: skip to latest", 1, 26, ['expected "the", but found "latest"']),
    ("on missed steps escalate in order", 1, 17, ['expected ":", but found "escalate"']),
    ("rechnung:\n    on missed step: escalate in order", 2, 15, ['did you mean "steps"?']),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), ERRORS)
def test_syntax_errors_say_what_was_expected_where(text, line, column, words):
    with pytest.raises(rules.RulesError) as caught:
        rules.parse(text)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.severity, diagnostic.line, diagnostic.column) == ("error", line, column)
    for word in words:
        assert word in diagnostic.message
    assert rules.check_text(text) == [diagnostic]


def test_render_shows_the_line_and_a_caret():
    text = "vorkasse after 14 days: remnd\n"
    (diagnostic,) = rules.check_text(text)
    assert diagnostic.render(text, "rules.txt").split("\n") == [
        "rules.txt:1:25: error: expected an action such as remind, cancel, mark overdue or notify"
        ' accounting, but found "remnd" (did you mean "remind"?)',
        "vorkasse after 14 days: remnd",
        " " * 24 + "^~~~~",
    ]
    with pytest.raises(rules.RulesError) as caught:
        rules.compile_rules(text)
    assert str(caught.value) == diagnostic.render(text)


def test_after_a_fee_currency_only_what_can_follow_a_reminder_is_expected():
    """The currency of a fee is not the currency of an amount condition: the message lists the
    reminder's options and separators, not conditions or a block's colon."""
    (diagnostic,) = rules.check_text("cod after 3 days: remind with fee 2.50 EUR letter")
    assert (diagnostic.line, diagnostic.column) == (1, 44)
    assert '"by letter"' in diagnostic.message
    assert "condition" not in diagnostic.message
    assert '":"' not in diagnostic.message
