"""A fast contextual lexer for grammar.lark.

Lark's own contextual lexer tries terminal after terminal at every position; this one cuts the
text into words, numbers, strings and punctuation with one regular expression and then names
each word by what the parser accepts in its current state (so `AT` is a country code after
`country in`, and the keyword `at` in `at least`). Words are whole words: "remindx" is not
"remind" plus "x". It uses the grammar's terminal names, so the grammar stays the one source.

It also writes the _INDENT/_DEDENT tokens of indented blocks itself. Lark's Indenter post-lexer
keeps its indentation stack on the shared parser object, which two threads of the portal
parsing at once would trample, and it costs a generator step per token.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import Lexer

from rules.ast import Span
from rules.diagnostics import error

TAB_WIDTH = 8

# One match per token; the blanks after a token are eaten with it, so they cost no extra match.
_SCAN = re.compile(
    r"""
    (?:
      (?P<NL>(?:\r?\n[\t ]*|\#[^\n]*)+)
    | (?P<STRING>"[^"\n]*")
    | (?P<CHANNELS>by[ \t]+(?:e-?mail|letter)(?:[ \t]+and[ \t]+(?:e-?mail|letter))?(?![A-Za-z0-9]))
    | (?P<DATE>[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9]))
    | (?P<NUMBER>[0-9]+(?:\.[0-9]+)?)
    | (?P<WORD>[A-Za-z][A-Za-z0-9_.@-]*)
    | (?P<PUNCT>[:;,%])
    | (?P<WS>[\t \f]+)
    )
    [\t \f]*
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
        keywords = self.keywords
        stack = parser_state.state_stack  # the parser pushes and pops this very list
        new = str.__new__
        line, line_start, pos = 1, 0, 0
        levels = [0]  # indentation of the open blocks
        for match in _SCAN.finditer(text):
            start = match.start()
            if start != pos:
                break  # a character no token starts with
            kind = match.lastgroup
            value = match.group(kind)
            pos = match.end()
            column = start - line_start + 1
            if kind == "NL":
                newlines = value.count("\n")
                end_line = line + newlines
                last = value.rfind("\n")
                end_column = len(value) - last if newlines else column + len(value)
                token = Token(
                    "_NL", value, start, line, column, end_line, end_column, start + len(value)
                )
                yield token
                if newlines:
                    line, line_start = end_line, start + last + 1
                    yield from _indentation(value[last + 1 :], levels, token)
                continue
            if kind == "WORD":
                accepts = table[stack[-1]]
                keyword = keywords.get(value.lower())
                if keyword is None or keyword not in accepts:
                    kind = self._other_word(value, accepts, keyword)
                else:
                    kind = keyword
            elif kind == "PUNCT":
                kind = keywords[value]
            elif kind == "WS":
                continue
            # Token(...) without its keyword-argument checks: this is the lexer's hot path.
            token = new(Token, value)
            token.type, token.value = kind, value
            token.start_pos, token.end_pos = start, start + len(value)
            token.line = token.end_line = line
            token.column, token.end_column = column, column + len(value)
            if kind == "WORD?":
                token.type = "WORD"
                raise UnexpectedToken(token, set(table[parser_state.position]), state=parser_state)
            yield token
        if pos < len(text):
            raise UnexpectedCharacters(
                text,
                pos,
                line,
                pos - line_start + 1,
                state=parser_state,
                allowed=set(table[parser_state.position]),
            )
        while len(levels) > 1:
            levels.pop()
            yield Token("_DEDENT", "", pos, line, 1, line, 1, pos)

    @staticmethod
    def _other_word(value: str, accepts, keyword: str | None) -> str:
        """A word that is not a keyword the parser accepts here: a value, or an error."""
        if "CUSTOMER_TYPE" in accepts and _CUSTOMER.fullmatch(value):
            return "CUSTOMER_TYPE"
        if "CODE" in accepts and _CODE.fullmatch(value):
            return "CODE"
        if "WORD" in accepts:
            return "WORD"
        return keyword or "WORD?"


def _indentation(indent_text: str, levels: list[int], newline: Token):
    """_INDENT when a line is indented deeper than the block it is in, _DEDENT per block it
    leaves; an indentation that matches no open block is an error at that line."""
    indent = len(indent_text.expandtabs(TAB_WIDTH))
    if indent > levels[-1]:
        levels.append(indent)
        yield Token.new_borrow_pos("_INDENT", indent_text, newline)
        return
    while indent < levels[-1]:
        levels.pop()
        yield Token.new_borrow_pos("_DEDENT", indent_text, newline)
    if indent != levels[-1]:
        line = newline.end_line
        raise error(
            "this line's indentation matches no line above it; indent the lines of a block "
            "by the same amount",
            Span(line, 1, line, indent + 1),
        )
