"""rules.lalr drives Lark's LALR table itself: tree shape as Lark builds it (spliced `_rules` and
`*` helpers, aliases name the builder, every token kept), errors as Lark's exceptions."""

from __future__ import annotations

import pytest
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from rules.lalr import Automaton

GRAMMAR = r"""
start: _NL? (_line _NL)*
_line: numbers | word | pair
numbers: "set"i NUMBER ("," NUMBER)*
word: "say"i WORD -> said
    | "say"i STRING -> said
pair: "pair"i NUMBER ":" NUMBER
_NL: /\n/
NUMBER: /[0-9]+/
WORD: /[a-z]+/
STRING: /"[^"\n]*"/
%declare _INDENT _DEDENT
"""


class Builders:
    def start(self, children):  # leaves are tuples: the line ends
        return [c for c in children if c.__class__ is not tuple]

    def numbers(self, children):
        return [int(c[1]) for c in children if c[0] == "NUMBER"]

    def said(self, children):
        return children[-1][1]

    def pair(self, children):
        kinds = tuple(c[0] for c in children)
        return {"kinds": kinds, "at": children[0][2:]}


@pytest.fixture(scope="module")
def automaton():
    return Automaton(Lark(GRAMMAR, parser="lalr", lexer="basic"), Builders)


def test_builders_get_every_token_and_lists_come_flat(automaton):
    text = "set 1, 2, 3\nsay hi\npair 4: 5\n"
    assert automaton.parse(text) == [
        [1, 2, 3],
        "hi",
        {"kinds": ("PAIR", "NUMBER", "COLON", "NUMBER"), "at": (3, 1, 3, 5)},
    ]


def test_a_long_list_keeps_every_item_in_order(automaton):
    numbers = list(range(3000))
    text = "set " + ", ".join(map(str, numbers)) + "\n"
    assert automaton.parse(text) == [numbers]


def test_a_word_the_parser_cannot_take_is_an_unexpected_token(automaton):
    with pytest.raises(UnexpectedToken) as caught:
        automaton.parse("set 1\nset x\n")
    assert (caught.value.line, caught.value.column) == (2, 5)
    assert caught.value.token.type == "WORD"
    assert "NUMBER" in caught.value.expected
    assert caught.value.token_history[-1].type == "SET"


def test_a_keyword_out_of_place_is_refused_by_the_parser(automaton):
    with pytest.raises(UnexpectedToken) as caught:
        automaton.parse("pair set\n")
    assert caught.value.token.type == "SET"
    assert caught.value.expected == {"NUMBER"}


def test_a_keyword_is_a_plain_word_where_a_word_may_stand(automaton):
    assert automaton.parse("say set\n") == ["set"]


def test_the_text_ending_too_early_is_an_unexpected_end(automaton):
    with pytest.raises(UnexpectedToken) as caught:
        automaton.parse("pair 1:\n")
    assert caught.value.token.type == "_NL"
    with pytest.raises(UnexpectedToken) as caught:
        automaton.parse("pair 1")
    assert caught.value.token.type == "$END"


def test_a_character_no_token_starts_with(automaton):
    with pytest.raises(UnexpectedCharacters) as caught:
        automaton.parse("set 1 $\n")
    assert (caught.value.line, caught.value.column) == (1, 7)


def test_every_named_rule_needs_a_builder():
    class Missing(Builders):
        pair = None

    with pytest.raises(TypeError, match="'pair'"):
        Automaton(Lark(GRAMMAR, parser="lalr", lexer="basic"), Missing)
