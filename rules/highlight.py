"""Syntax colouring for the editor: each line of a rules text cut into classed pieces.

The classes are the ones the portal's stylesheet knows: `method` (which orders: vorkasse, any …),
`action` (what happens: remind, cancel …), `kw` (the other keywords), `num` (numbers, dates,
amounts), `str` (quoted text), `comment`, and `text` for everything else. It only colours; it
never decides whether the text is valid (the checker does).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rules.parser import lark_parser

METHOD_WORDS = frozenset(
    {"vorkasse", "prepayment", "rechnung", "invoice", "nachnahme", "cod", "any"}
)
ACTION_WORDS = frozenset(
    {
        "remind",
        "cancel",
        "mark",
        "overdue",
        "notify",
        "release",
        "reservation",
        "hand",
        "collection",
        "charge",
        "interest",
        "send",
        "webhook",
    }
)
_PIECE = re.compile(
    r"""(?P<comment>\#.*)
      | (?P<str>"[^"\n]*"?)
      | (?P<num>[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]+(?:\.[0-9]+)?%?)
      | (?P<word>[A-Za-z][A-Za-z0-9_.@-]*)
      | (?P<text>[^#"0-9A-Za-z]+|.)""",
    re.VERBOSE,
)


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every keyword of the grammar (its literal words), lower-case."""
    words = set()
    for terminal in lark_parser().terminals:
        if terminal.pattern.type == "str" and terminal.pattern.value.isalpha():
            words.add(terminal.pattern.value.lower())
    return frozenset(words | {"day", "days", "by", "email", "letter"})


def _word_class(word: str) -> str:
    lower = word.lower()
    if lower in METHOD_WORDS:
        return "method"
    if lower in ACTION_WORDS:
        return "action"
    if lower in keywords():
        return "kw"
    return "text"


def highlight_line(line: str) -> list[tuple[str, str]]:
    """[(class, text), …] covering the whole line, neighbours of one class merged."""
    pieces: list[tuple[str, str]] = []
    for match in _PIECE.finditer(line):
        kind = match.lastgroup
        if kind == "word":
            kind = _word_class(match.group())
        if pieces and pieces[-1][0] == kind:
            pieces[-1] = (kind, pieces[-1][1] + match.group())
        else:
            pieces.append((kind, match.group()))
    return pieces


def highlight(text: str) -> list[list[tuple[str, str]]]:
    """One list of pieces per line of `text` (line breaks normalised)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [highlight_line(line) for line in lines]
