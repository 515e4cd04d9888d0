"""grammar.lark is the one source of the language: Lark's own LALR parser runs it, and the lexer
scans with the grammar's own terminals, so a terminal added to the grammar just works."""

from __future__ import annotations

import ast as python_ast
import copy
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

import rules
from rules import ast
from rules.lexer import Leaf
from rules.parser import GRAMMAR, _Builders, _span_of, build, parse_with, run

RULES = Path(rules.__file__).parent


def changed_grammar(*extra_lines: str, action: str = "") -> str:
    """A copy of grammar.lark with more lines and another alternative for `action`."""
    text = GRAMMAR.read_text(encoding="utf-8")
    if action:
        anchor = '      | "cancel"i'
        assert anchor in text
        text = text.replace(anchor, f"      | {action}\n{anchor}", 1)
    return text + "\n" + "\n".join(extra_lines) + "\n"


class AgencyBuilders(_Builders):
    def notify_agency(self, children: list) -> ast.Notify:
        return ast.Notify(str(children[-1]), span=_span_of(children))


@pytest.fixture(scope="module")
def agency():
    grammar = changed_grammar(
        "AGENCY_ID: /AG[0-9]{4}/",
        action='"notify"i "agency"i AGENCY_ID -> notify_agency',
    )
    return build(grammar, AgencyBuilders)


def test_a_new_regex_terminal_in_the_grammar_parses(agency):
    tree = parse_with(*agency, "vorkasse after 14 days: notify agency AG1234 and cancel")
    (step,) = tree.blocks[0].steps
    assert ast.strip_spans(step.actions) == (ast.Notify("AG1234"), ast.Cancel())
    assert step.actions[0].span == ast.Span(1, 25, 1, 45)


def test_a_new_terminal_is_named_only_where_the_parser_takes_it(agency):
    # the same word is a recipient after "notify", and not an agency id where a code stands
    tree = parse_with(*agency, "vorkasse after 14 days: notify AG1234")
    assert tree.blocks[0].steps[0].actions[0].recipient == "ag1234"
    with pytest.raises(rules.RulesError) as caught:
        parse_with(*agency, "vorkasse after 14 days: notify agency AG12")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.column) == (1, 39)
    assert 'but found "AG12"' in diagnostic.message
    assert '"agency_id"' in diagnostic.message  # a terminal without words of its own


def test_the_grammar_as_it_is_parses_as_before(agency):
    text = (
        "rechnung country in AT:\n"
        "    after 3 days: remind by email\n"
        "    at least 7 days between reminders\n"
    )
    assert parse_with(*agency, text) == rules.parse(text)


def test_a_new_literal_is_scanned_from_the_grammar():
    grammar = changed_grammar(action='"notify"i "->" WORD -> notify')
    tree = parse_with(*build(grammar), "vorkasse after 14 days: notify -> team")
    assert tree.blocks[0].steps[0].actions[0].recipient == "team"


def test_tokens_are_lark_tokens_with_their_positions():
    seen: list[Token] = []

    class Recording(_Builders):
        def notify(self, children):
            seen.extend(children)
            return super().notify(children)

    parser, lexer = build(GRAMMAR.read_text(encoding="utf-8"), Recording)
    parse_with(parser, lexer, "\n  \nany after 1 day: Notify  accounting\n")
    assert [(t.type, str(t), t.line, t.column, t.end_column) for t in seen] == [
        ("NOTIFY", "Notify", 3, 18, 24),
        ("WORD", "accounting", 3, 26, 36),
    ]
    assert all(isinstance(t, Token) and type(t) is Leaf for t in seen)
    notify = seen[0]
    assert (notify.value, repr(notify), notify.start_pos) == (
        "Notify",
        "Token('NOTIFY', 'Notify')",
        None,
    )
    for copied in (copy.copy(notify), copy.deepcopy(notify), pickle.loads(pickle.dumps(notify))):
        assert (copied.type, copied, copied.line, copied.column) == ("NOTIFY", "Notify", 3, 18)


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        # a word is cut whole: "remindx" is not the keyword remind followed by "x"
        ("vorkasse after 1 day: remindx", UnexpectedToken, "remindx"),
        # a keyword where the parser does not take it is refused by the parser
        ("vorkasse after 1 day: level", UnexpectedToken, "level"),
        # a character no terminal starts with
        ("vorkasse after 1 day: remind $", UnexpectedCharacters, None),
    ],
)
def test_what_the_parser_cannot_take_is_lark_s_own_error(text, kind, found):
    parser, lexer = build(GRAMMAR.read_text(encoding="utf-8"))
    with pytest.raises(kind) as caught:
        run(parser, lexer, text + "\n")
    if found is not None:
        assert str(caught.value.token) == found
    assert caught.value.token_history  # the token before, for the message's words


def test_priorities_of_the_grammar_decide_between_terminals():
    # DATE.2 over NUMBER: a date is one token, not the number 2026 and "-01-01"
    tree = rules.parse("apply to orders from 2026-01-01")
    assert tree.settings[0].on.isoformat() == "2026-01-01"
    # CHANNELS.2 over WORD: "by email" is one token
    remind = rules.parse("cod after 1 day: remind by email and letter").blocks[0].steps[0]
    assert remind.actions[0].channels == ("email", "letter")


def test_one_parser_serves_many_threads():
    texts = [f"rechnung after {n} days: remind; after {n + 5}: cancel\n" * 20 for n in range(8)]
    expected = [rules.parse(t) for t in texts]
    results: dict[int, object] = {}

    def work(i):
        for _ in range(20):
            results[i] = rules.parse(texts[i]) == expected[i]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: True for i in range(8)}


PUBLIC_LARK = {"lark", "lark.lexer", "lark.exceptions", "lark.visitors", "lark.indenter"}


@pytest.mark.parametrize("path", sorted(RULES.glob("*.py")), ids=lambda p: p.name)
def test_rules_use_only_lark_s_public_modules(path):
    tree = python_ast.parse(path.read_text(encoding="utf-8"))
    modules = {
        node.module for node in python_ast.walk(tree) if isinstance(node, python_ast.ImportFrom)
    } | {
        alias.name
        for node in python_ast.walk(tree)
        if isinstance(node, python_ast.Import)
        for alias in node.names
    }
    lark = {m for m in modules if m and (m == "lark" or m.startswith("lark."))}
    assert lark <= PUBLIC_LARK


GARBAGE_AFTER_PARSE = """
import gc, sys
import rules
text = sys.argv[1]
for _ in range(2):  # the parser is built and warm before the measured parse
    try:
        rules.parse(text)
    except rules.RulesError:
        pass
gc.collect()
gc.disable()
try:
    rules.parse(text)
except rules.RulesError:
    pass
print(gc.collect())
"""


@pytest.mark.parametrize("text", ["cod after 3 days: remind\n", "cod after 3 days: remnd\n"])
def test_a_parse_leaves_no_garbage_cycles(text):
    """The parser and its input refer to each other during a parse; afterwards the tree and
    the parser's stacks go with their last reference, not at the next garbage collection.
    Counted in a fresh interpreter: in the suite's own process other tests' threads (the SMTP
    sink, servers) may make garbage while the collector is off."""
    root = Path(__file__).resolve().parents[2]
    found = subprocess.run(
        [sys.executable, "-c", GARBAGE_AFTER_PARSE, text],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "0"
