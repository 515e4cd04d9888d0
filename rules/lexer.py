"""The lexer for grammar.lark: the text as leaves, each word named by what the parser accepts.

It cuts the text into words, numbers, strings and punctuation with one regular expression and
names each word by the parser's current state (so `AT` is a country code after `country in`,
and the keyword `at` in `at least`). Words are whole words: "remindx" is not "remind" plus "x".
It uses the grammar's terminal names, so the grammar stays the one source. It also writes the
_INDENT/_DEDENT leaves of indented blocks.

A leaf is a plain tuple `(terminal, text, line, column, end_line, end_column)`: the parser
makes thousands of them per file, and a tuple costs a quarter of the cheapest way to make a
Lark Token.
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
# The most frequent tokens come first, and letters are spelled out in both cases instead of
# re.IGNORECASE (which makes every comparison fold case): this scan is a quarter of the parse.
# The last group takes any other character, so every character is in some match.
_BY = r"[Bb][Yy][ \t]+"
_CHANNEL = r"(?:[Ee]-?[Mm][Aa][Ii][Ll]|[Ll][Ee][Tt][Tt][Ee][Rr])"
_SCAN = re.compile(
    rf"""
    (?:
      (?P<WORD>(?!{_BY}{_CHANNEL}(?![A-Za-z0-9]))[A-Za-z][A-Za-z0-9_.@-]*)
    | (?P<DATE>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?![0-9]))
    | (?P<NUMBER>[0-9]+(?:\.[0-9]+)?)
    | (?P<PUNCT>[:;,%])
    | (?P<NL>(?:\n[\t ]*|\#[^\n]*)+)
    | (?P<CHANNELS>{_BY}{_CHANNEL}(?:[ \t]+[Aa][Nn][Dd][ \t]+{_CHANNEL})?(?![A-Za-z0-9]))
    | (?P<STRING>"[^"\n]*")
    | (?P<WS>[\t \f]+)
    | (?P<OTHER>.)
    )
    [\t \f]*
    """,
    re.VERBOSE,
)
_CODE = re.compile(r"[A-Za-z]{2}")
_CUSTOMER = re.compile(r"b2[bc]", re.IGNORECASE)


class Lexer:
    """The lexer for one grammar: `Lexer(terminals, rows).leaves(text, stack)`. `rows[state]`
    is what the parser accepts in a state (terminal names among its keys)."""

    def __init__(self, terminals, rows: list[dict]):
        # "remind" -> REMIND, from the grammar's literal terminals
        self.keywords = {
            t.pattern.value.lower(): sys.intern(str(t.name))
            for t in terminals
            if t.pattern.type == "str"
        }
        self.keywords["day"] = self.keywords["days"] = "_DAY"
        self.rows = rows
        # per parser state, the keywords it accepts: one look-up names a word
        self.words = [
            {word: name for word, name in self.keywords.items() if name in row} for row in rows
        ]

    def leaves(self, text: str, stack: list[int]):
        """The leaves of `text` (normalised: LF line ends, a final newline), then `$END`.
        `stack` is the parser's state stack, read before each word to name it."""
        rows, words = self.rows, self.words
        line, line_start = 1, 0
        levels = [0]  # indentation of the open blocks
        leaf = ("_NL", "", 1, 1, 1, 1)  # the previous leaf, for errors and $END
        for match in _SCAN.finditer(text):
            kind = match.lastgroup
            value = match.group(kind)
            start = match.start()
            column = start - line_start + 1
            if kind == "WORD":
                lower = value.lower()
                kind = words[stack[-1]].get(lower)
                if kind is None:
                    accepts = rows[stack[-1]]
                    kind = _other_word(value, accepts, self.keywords.get(lower))
                    if kind is None:
                        word = ("WORD", value, line, column, line, column + len(value))
                        raise unexpected(word, accepts, leaf)
            elif kind == "NL":
                newlines = value.count("\n")
                if newlines:
                    end_line = line + newlines
                    cut = value.rfind("\n")
                    leaf = ("_NL", value, line, column, end_line, len(value) - cut)
                    yield leaf
                    line, line_start = end_line, start + cut + 1
                    indent_text = value[cut + 1 :]
                    if len(indent_text) != levels[-1] or "\t" in indent_text:  # not as before
                        for indentation in _indentation(indent_text, levels, leaf):
                            leaf = indentation
                            yield leaf
                else:  # a comment at the very end of the text
                    leaf = ("_NL", value, line, column, line, column + len(value))
                    yield leaf
                continue
            elif kind == "PUNCT":
                kind = self.keywords[value]
            elif kind == "WS":
                continue
            elif kind == "OTHER":
                raise UnexpectedCharacters(
                    text,
                    start,
                    line,
                    column,
                    allowed=expected(rows[stack[-1]]),
                    token_history=[token(leaf)],
                )
            leaf = (kind, value, line, column, line, column + len(value))
            yield leaf
        while len(levels) > 1:
            levels.pop()
            leaf = ("_DEDENT", "", line, 1, line, 1)
            yield leaf
        yield ("$END", "", *leaf[2:])


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
