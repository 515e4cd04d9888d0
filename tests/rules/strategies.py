"""Hypothesis strategies: valid rules trees (without spans) and keyword soup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import strategies as st

from rules import ast

amounts = st.builds(
    lambda units, cents: Decimal(units) + Decimal(cents) / 100,
    st.integers(0, 5000),
    st.integers(0, 99),
)
currencies = st.sampled_from([None, "EUR", "CHF"])
plain_text = st.text(
    st.characters(blacklist_characters='"\n\r', blacklist_categories=("Cs", "Cc")), max_size=12
)
codes = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=2, max_size=2)

reminds = st.builds(
    lambda level, channels, fee, currency: ast.Remind(
        level, channels, fee, currency if fee is not None else None
    ),
    st.none() | st.integers(1, 9),
    st.sampled_from([(), ("email",), ("letter",), ("email", "letter"), ("letter", "email")]),
    st.none() | amounts,
    currencies,
)
actions = st.one_of(
    reminds,
    st.just(ast.Cancel()),
    st.just(ast.MarkOverdue()),
    st.builds(ast.Notify, st.sampled_from(["accounting", "team"]) | plain_text),
    st.just(ast.ReleaseReservation()),
    st.just(ast.HandOverToCollection()),
    st.just(ast.ChargeInterest(True, None)),
    st.builds(lambda r: ast.ChargeInterest(False, r), amounts),
    st.builds(ast.SendWebhook, plain_text),
)
triggers = st.builds(ast.Trigger, st.integers(0, 400), st.booleans())
steps = st.builds(ast.Step, triggers, st.lists(actions, min_size=1, max_size=3).map(tuple))
step_lines = st.builds(
    ast.StepLine,
    st.sampled_from(["after", "first"]),
    st.lists(steps, min_size=1, max_size=3).map(tuple),
)
settings = st.one_of(
    st.builds(ast.MinGap, st.integers(0, 60)),
    st.builds(ast.BankDataHold, st.integers(0, 60)),
    st.builds(ast.ClaimPause, st.integers(0, 60)),
    st.just(ast.NoMailOnHolidays()),
    st.builds(ast.ApplyFrom, st.dates(date(2000, 1, 1), date(2099, 12, 31))),
)
conditions = st.one_of(
    st.builds(
        ast.AmountCondition,
        st.sampled_from(["over", "under", "at least", "at most"]),
        amounts,
        currencies,
    ),
    st.builds(
        ast.CountryCondition, st.lists(codes, min_size=1, max_size=3, unique=True).map(tuple)
    ),
    st.builds(ast.CustomerCondition, st.sampled_from(["b2b", "b2c"])),
    st.builds(ast.LanguageCondition, codes.map(str.lower)),
    st.builds(ast.TagCondition, plain_text),
)


@st.composite
def blocks(draw):
    alias = draw(st.sampled_from(sorted(ast.METHOD_ALIASES)))
    multiline = draw(st.booleans())
    if multiline:
        body = draw(st.lists(step_lines | settings, min_size=1, max_size=4).map(tuple))
    else:
        body = (draw(step_lines),)
    return ast.Block(
        ast.METHOD_ALIASES[alias],
        alias,
        draw(st.lists(conditions, max_size=3).map(tuple)),
        body,
        multiline,
    )


rulesets = st.builds(
    ast.Ruleset,
    st.lists(settings, max_size=3).map(tuple),
    st.lists(blocks(), max_size=4).map(tuple),
)

WORDS = [
    "vorkasse",
    "rechnung",
    "invoice",
    "nachnahme",
    "cod",
    "any",
    "after",
    "days",
    "business",
    "remind",
    "cancel",
    "mark",
    "overdue",
    "notify",
    "accounting",
    "team",
    "release",
    "reservation",
    "hand",
    "over",
    "to",
    "collection",
    "charge",
    "interest",
    "statutory",
    "send",
    "webhook",
    "level",
    "by",
    "email",
    "letter",
    "with",
    "fee",
    "EUR",
    "CHF",
    "amount",
    "under",
    "at",
    "least",
    "most",
    "country",
    "in",
    "is",
    "DE",
    "AT",
    "customer",
    "b2b",
    "language",
    "fr",
    "tag",
    "and",
    "hold",
    "while",
    "bank",
    "data",
    "older",
    "than",
    "pause",
    "reports",
    "payment",
    "no",
    "mail",
    "on",
    "weekends",
    "holidays",
    "apply",
    "orders",
    "from",
    "remnd",
]
soup_tokens = st.sampled_from(
    WORDS
    + [
        ":",
        ";",
        ",",
        "%",
        "\n",
        "\n    ",
        "\n  ",
        "\t",
        "#x",
        '"a@b.de"',
        '"',
        "14",
        "2.50",
        "2026-01-06",
        "2026-13-40",
        "99999999999999999999",
        "0",
        "-1",
        "é",
        "\r\n",
    ]
)
soups = st.lists(soup_tokens, max_size=40).map(" ".join)
