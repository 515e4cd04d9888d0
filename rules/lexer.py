"""The lexer for grammar.lark: the text as leaves, each word named by what the parser accepts.

It cuts the text into words, numbers, strings and punctuation with one regular expression and
names each word by the parser's current state (so `AT` is a country code after `country in`,
and the keyword `at` in `at least`). Words are whole words: "remindx" is not "remind" plus "x".
It uses the grammar's terminal names, so the grammar stays the one source. It also writes the
_INDENT/_DEDENT leaves of indented blocks.

A leaf is a plain tuple `(terminal, text, line, column, end_line, end_column)`: the parser
makes thousands of them per file, and a tuple costs a tenth of a Lark Token.
"""

from __future__ import annotations

import re
import sys

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from rules.ast import Span
from rules.diagnostics import error

TAB_WIDTH = 8
LAYOUT = frozenset({"_NL", "_INDENT", "_DEDENT"})

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


def keyword_table(terminals) -> dict[str, str]:
    """Lower-case literal -> terminal name, from the grammar's terminals ("remind" -> REMIND)."""
    keywords = {
        t.pattern.value.lower(): sys.intern(str(t.name))
        for t in terminals
        if t.pattern.type == "str"
    }
    keywords["day"] = keywords["days"] = "_DAY"
    return keywords


def leaves(text: str, rows: list[dict], stack: list[int], keywords: dict[str, str]):
    """The leaves of `text` (normalised: LF line ends, a final newline). `stack` is the parser's
    state stack, read before each word to name it; `rows[state]` is what a state accepts."""
    line, line_start, pos = 1, 0, 0
    levels = [0]  # indentation of the open blocks
    last = None
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
            if newlines:
                end_line = line + newlines
                cut = value.rfind("\n")
                last = ("_NL", value, line, column, end_line, len(value) - cut)
                yield last
                line, line_start = end_line, start + cut + 1
                yield from _indentation(value[cut + 1 :], levels, last)
            else:  # a comment at the very end of the text
                last = ("_NL", value, line, column, line, column + len(value))
                yield last
            continue
        if kind == "WORD":
            accepts = rows[stack[-1]]
            keyword = keywords.get(value.lower())
            if keyword is None or keyword not in accepts:
                kind = _other_word(value, accepts, keyword)
                if kind is None:
                    leaf = ("WORD", value, line, column, line, column + len(value))
                    raise unexpected(leaf, accepts, last)
            else:
                kind = keyword
        elif kind == "PUNCT":
            kind = keywords[value]
        elif kind == "WS":
            continue
        last = (kind, value, line, column, line, column + len(value))
        yield last
    if pos < len(text):
        raise UnexpectedCharacters(
            text,
            pos,
            line,
            pos - line_start + 1,
            allowed=expected(rows[stack[-1]]),
            token_history=[token(last)] if last else None,
        )
    while len(levels) > 1:
        levels.pop()
        yield ("_DEDENT", "", line, 1, line, 1)


def _other_word(value: str, accepts, keyword: str | None) -> str | None:
    """A word that is not a keyword the parser accepts here: a value, the keyword it is (for
    the parser to refuse), or None for a word the parser cannot take here."""
    if "CUSTOMER_TYPE" in accepts and _CUSTOMER.fullmatch(value):
        return "CUSTOMER_TYPE"
    if "CODE" in accepts and _CODE.fullmatch(value):
        return "CODE"
    if "WORD" in accepts:
        return "WORD"
    return keyword


def _indentation(indent_text: str, levels: list[int], newline: tuple):
    """_INDENT when a line is indented deeper than the block it is in, _DEDENT per block it
    leaves; an indentation that matches no open block is an error at that line."""
    indent = len(indent_text.expandtabs(TAB_WIDTH))
    position = newline[2:]
    if indent > levels[-1]:
        levels.append(indent)
        yield ("_INDENT", indent_text, *position)
        return
    while indent < levels[-1]:
        levels.pop()
        yield ("_DEDENT", indent_text, *position)
    if indent != levels[-1]:
        line = newline[4]
        raise error(
            "this line's indentation matches no line above it; indent the lines of a block "
            "by the same amount",
            Span(line, 1, line, indent + 1),
        )


# --- what the error reports need --------------------------------------------------------------


def expected(row: dict) -> set[str]:
    """The terminals a parser state accepts (its row also holds the rules it can go to)."""
    return {name for name in row if name.isupper() or name == "$END"}


def token(leaf: tuple) -> Token:
    """A Lark Token for a leaf, for the error reports (rules.expected reads Lark's exceptions)."""
    kind, value, line, column, end_line, end_column = leaf
    return Token(kind, value, None, line, column, end_line, end_column)


def unexpected(leaf: tuple, row: dict, previous: tuple | None) -> UnexpectedToken:
    return UnexpectedToken(
        token(leaf),
        expected(row),
        token_history=[token(previous)] if previous else None,
    )
