"""Turn Lark's "expected one of {REMIND, CANCEL, ...}" into words a merchant understands.

A syntax error is a Diagnostic with a code of rules.messages; what was expected is a list of
rules.messages.EXPECTED keys and quoted keywords, so the portal can say it in German."""

from __future__ import annotations

import difflib
import re

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from rules.ast import Span
from rules.diagnostics import Diagnostic
from rules.messages import EXPECTED

ACTIONS = {"REMIND", "CANCEL", "MARK", "NOTIFY", "RELEASE", "HAND", "CHARGE", "SEND"}
METHODS = {"VORKASSE", "PREPAYMENT", "RECHNUNG", "INVOICE", "NACHNAHME", "COD", "ANY"}
SETTINGS = {"HOLD", "PAUSE", "NO", "APPLY"}
CONDITIONS = {"AMOUNT", "COUNTRY", "CUSTOMER", "LANGUAGE", "TAG"}

# (terminal names, a key of EXPECTED); the first group that meets the expected set names them.
GROUPS = [
    (ACTIONS, "action"),
    (METHODS, "method"),
    (SETTINGS, "setting"),
    (CONDITIONS, "condition"),
    ({"AFTER"}, "after"),
    ({"CODE"}, "code"),
    ({"WORD", "STRING"}, "recipient"),
    ({"STRING"}, "text"),
    ({"DATE"}, "date"),
    ({"CUSTOMER_TYPE"}, "customer_type"),
    ({"CHANNELS"}, "channels"),
    ({"_DAY", "BUSINESS"}, "day_kind"),
    ({"EUR", "CHF"}, "currency"),
    ({"ESCALATE", "SKIP"}, "missed_steps"),
    ({"_NL"}, "line_end"),
    ({"_INDENT"}, "indented_steps"),
]
assert all(key in EXPECTED for _, key in GROUPS)
PUNCTUATION = {"COLON": '":"', "SEMICOLON": '";"', "COMMA": '","', "PERCENT": '"%"'}


def _number_words(previous: str) -> str:
    return {"AFTER": "days", "LEVEL": "level", "FEE": "amount", "INTEREST": "rate"}.get(
        previous, "number"
    )


def _literal(parser: Lark, name: str) -> str | None:
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" else None


def expected_words(expected: set[str], parser: Lark, previous: str = "") -> tuple[str, ...]:
    """Keys of EXPECTED and keywords in quotes (rules.messages.expected_text says them)."""
    left = set(expected)
    if "HOLD" in left:  # where settings start, "at" and "on" start settings, too
        left -= {"AT", "ON"}
    words = []
    for names, text in GROUPS:
        if names & left and (names != {"WORD", "STRING"} or names <= left):
            words.append(text)
            left -= names
    if "NUMBER" in left:
        words.append(_number_words(previous))
        left.discard("NUMBER")
    for name in sorted(left):
        if name in ("$END", "_DEDENT"):
            continue
        words.append(PUNCTUATION.get(name) or f'"{(_literal(parser, name) or name).lower()}"')
    return tuple(words)


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\S")


REGEX_WORDS = {"_DAY": ["day", "days"], "CHANNELS": ["by"]}


def _suggestion(found: str, expected: set[str], parser: Lark) -> str | None:
    """The keyword `found` was probably meant to be ("afte": "after"), if any."""
    candidates = [_literal(parser, name) for name in expected]
    candidates = [c for c in candidates if c and c.isalpha()]
    candidates += [w for name in expected for w in REGEX_WORDS.get(name, ())]
    return _closest(found.lower(), candidates) if candidates else None


def _closest(word: str, candidates: list[str]) -> str | None:
    """difflib's closest candidate (similarity at least 0.6); of equally close ones, one that
    the word starts with or that starts with the word ("n" and "none": "no", not "on")."""
    matches = difflib.get_close_matches(word, candidates, n=len(candidates), cutoff=0.6)
    if not matches:
        return None
    best = difflib.SequenceMatcher(None, matches[0], word).ratio()
    tied = [m for m in matches if difflib.SequenceMatcher(None, m, word).ratio() == best]
    return next((m for m in tied if m.startswith(word) or word.startswith(m)), tied[0])


def describe_unexpected(exc: UnexpectedInput, source: str, parser: Lark) -> Diagnostic:
    lines = source.split("\n")
    if isinstance(exc, UnexpectedCharacters):
        line, column = exc.line, exc.column
        expected = set(exc.allowed or ())
        previous = _previous_terminal(exc)
        text = lines[line - 1] if line <= len(lines) else ""
        match = _WORD.match(text, column - 1)
        found = match.group() if match else text[column - 1 : column]
        span = Span(line, column, line, column + max(1, len(found)))
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = set(exc.expected or ())
        previous = _previous_terminal(exc)
        if token.type == "_INDENT":
            line = token.end_line or token.line
            indent = (
                len(lines[line - 1]) - len(lines[line - 1].lstrip()) if line <= len(lines) else 0
            )
            return Diagnostic.coded(
                "error", "indented_without_block", Span(line, 1, line, indent + 1)
            )
        if token.type == "$END":
            line = max((i for i, t in enumerate(lines, 1) if t.strip()), default=1)
            column = len(lines[line - 1].rstrip()) + 1 if line <= len(lines) else 1
            words = expected_words(expected, parser)
            return Diagnostic.coded(
                "error", "ends_early", Span(line, column, line, column + 1), expected=words
            )
        line, column = token.line, token.column
        found = str(token)
        if token.type in ("_NL", "_DEDENT"):
            found = ""
            line, column = _end_of_code(lines, token)
        span = Span(line, column, line, column + max(1, len(found.split("\n")[0])))
    else:  # pragma: no cover - UnexpectedEOF does not happen with a trailing newline
        return Diagnostic.coded("error", "parser_failure", Span(1, 1, 1, 2), detail=str(exc))

    glued = _glued_word(lines, line, column, parser)
    if glued:
        return glued
    words = expected_words(expected, parser, previous)
    if not found:
        return Diagnostic.coded("error", "line_ends_early", span, expected=words)
    before = lines[line - 1][: column - 1] if line <= len(lines) else ""
    code = "unexpected"
    if found[:1].isdigit() and re.search(r"[0-9],\s*$", before):  # "2,50" for 2.50
        code = "unexpected_number"
    guess = _suggestion(found, expected, parser)
    if guess:
        return Diagnostic.coded(
            "error", code + "_guess", span, expected=words, found=found, guess=guess
        )
    return Diagnostic.coded("error", code, span, expected=words, found=found)


def _glued_word(lines: list[str], line: int, column: int, parser: Lark) -> Diagnostic | None:
    """A keyword matched the start of a longer word ("day" in "dayz"): report the whole word."""
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    start = column - 1
    while 0 < start < len(text) and text[start - 1].isalpha() and text[start].isalnum():
        start -= 1
    if start == column - 1:
        return None
    found = _WORD.match(text, start).group()
    span = Span(line, start + 1, line, start + 1 + len(found))
    guess = _suggestion(found, {t.name for t in parser.terminals}, parser)
    if guess:
        return Diagnostic.coded("error", "not_a_word_guess", span, found=found, guess=guess)
    return Diagnostic.coded("error", "not_a_word", span, found=found)


def _previous_terminal(exc: UnexpectedInput) -> str:
    """The terminal just before the error, when the parser had not reduced it yet."""
    tokens = [t for t in getattr(exc, "token_history", None) or () if t is not None]
    return tokens[-1].type if tokens else ""


def _end_of_code(lines: list[str], token) -> tuple[int, int]:
    """Where a line break came too early: just after the last code on that line."""
    line = token.line
    text = lines[line - 1] if line <= len(lines) else ""
    code = re.sub(r'"[^"\n]*"|#.*', lambda m: m.group() if m.group()[0] == '"' else "", text)
    return line, len(code.rstrip()) + 1
