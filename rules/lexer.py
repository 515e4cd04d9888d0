"""A fast contextual lexer for grammar.lark.

Lark's own contextual lexer tries terminal after terminal at every position; this one cuts the
text into words, numbers, strings and punctuation with one regular expression and then names
each word by what the parser accepts in its current state (so `AT` is a country code after
`country in`, and the keyword `at` in `at least`). Words are whole words: "remindx" is not
"remind" plus "x". It uses the grammar's terminal names, so the grammar stays the one source.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import Lexer

_SCAN = re.compile(
    r"""
    (?P<NL>(?:\r?\n[\t ]*|\#[^\n]*)+)
  | (?P<WS>[\t \f]+)
  | (?P<STRING>"[^"\n]*")
  | (?P<CHANNELS>by[ \t]+(?:e-?mail|letter)(?:[ \t]+and[ \t]+(?:e-?mail|letter))?(?![A-Za-z0-9]))
  | (?P<DATE>[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9]))
  | (?P<NUMBER>[0-9]+(?:\.[0-9]+)?)
  | (?P<WORD>[A-Za-z][A-Za-z0-9_.@-]*)
  | (?P<PUNCT>[:;,%])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CODE = re.compile(r"[A-Za-z]{2}")
_CUSTOMER = re.compile(r"b2[bc]", re.IGNORECASE)


class RulesLexer(Lexer):
    __future_interface__ = 2

    def __init__(self, lexer_conf):
        self.keywords: dict[str, str] = {}
        for terminal in lexer_conf.terminals:
            pattern = terminal.pattern
            if pattern.type == "str":
                self.keywords[pattern.value.lower()] = terminal.name
        self.keywords["day"] = self.keywords["days"] = "_DAY"

    def lex(self, lexer_state, parser_state):
        text = lexer_state.text.text
        table = parser_state.parse_conf.parse_table.states
        line, line_start, pos, end = 1, 0, 0, len(text)
        while pos < end:
            match = _SCAN.match(text, pos)
            column = pos - line_start + 1
            if match is None:
                raise UnexpectedCharacters(
                    text,
                    pos,
                    line,
                    column,
                    state=parser_state,
                    allowed=set(table[parser_state.position]),
                )
            kind, value = match.lastgroup, match.group()
            pos = match.end()
            if kind == "WS":
                continue
            if kind == "NL":
                newlines = value.count("\n")
                end_line = line + newlines
                last = value.rfind("\n")
                token = Token("_NL", value, match.start(), line, column, end_line, 0, pos)
                token.end_column = len(value) - last if newlines else column + len(value)
                if newlines:
                    line, line_start = end_line, match.start() + last + 1
                yield token
                continue
            if kind == "WORD":
                kind = self._word(value, table[parser_state.position])
            elif kind == "PUNCT":
                kind = self.keywords[value]
            token = Token(kind, value, match.start(), line, column, line, column + len(value), pos)
            if kind == "WORD?":
                token.type = "WORD"
                raise UnexpectedToken(token, set(table[parser_state.position]), state=parser_state)
            yield token

    def _word(self, value: str, accepts) -> str:
        keyword = self.keywords.get(value.lower())
        if keyword is not None and keyword in accepts:
            return keyword
        if "CUSTOMER_TYPE" in accepts and _CUSTOMER.fullmatch(value):
            return "CUSTOMER_TYPE"
        if "CODE" in accepts and _CODE.fullmatch(value):
            return "CODE"
        if "WORD" in accepts:
            return "WORD"
        return keyword or "WORD?"
