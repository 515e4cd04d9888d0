"""The lexer for grammar.lark: the text as Lark tokens, each word named by what the parser accepts.

Everything it scans comes from the grammar's terminals (`Lark.terminals`, `Lark.ignore_tokens`):

- The text is cut with one regular expression made of the grammar's regex terminals and its
  non-word literals (`:`, `;`, `%` …), tried in Lark's documented order: higher priority first,
  then the longer possible match, then the longer pattern. A terminal that must win over another
  one matching at the same place says so with a priority (`DATE.2` over `NUMBER`). The `%ignore`
  patterns are skipped.
- Keywords (the literals that are words, such as `"remind"i`) are not cut on their own: a word is
  always cut whole (as WORD's pattern reads it), so "remindx" is one word, not "remind" + "x".
- A word is then named by the parser's current state (`InteractiveParser.choices()`): the keyword
  it is, if the state accepts that keyword; otherwise the first terminal the state accepts whose
  pattern matches the whole word (so `AT` is a country code after `country in` and the keyword
  `at` in `at least`, and a new regex terminal such as `AGENCY_ID: /AG[0-9]{4}/` needs no change
  here); otherwise the keyword it is, or its own terminal, for the parser to refuse.
- `_NL` (a line break with the next line's indentation, comments included) is followed by
  `_INDENT`/`_DEDENT` tokens where the indentation changes, as Lark's Indenter does; here an
  indentation that matches no open block is an error at that line.

Lark's own parse loop takes the tokens through its custom-lexer interface (`LarkLexer`, given to
`Lark(lexer=...)`); rules/parser.py starts the parse with a `Source` that carries the text and
the running parser's `choices`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import lark.lexer
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from rules.ast import Span
from rules.diagnostics import coded_error

TAB_WIDTH = 8
NEWLINE, INDENT, DEDENT = "_NL", "_INDENT", "_DEDENT"
LAYOUT = frozenset({NEWLINE, INDENT, DEDENT})
WORD = "WORD"  # its pattern is also the shape of a word: keywords and named words are cut by it
_OTHER = "_other"  # the scanner's group for a character no terminal starts with

_new = str.__new__


class Leaf(Token):
    """A Lark Token made without Token's Python-level constructor (the lexer makes thousands):
    the lexer sets `type`, lines and columns; `value` is the text itself, and the offsets in the
    text (`start_pos`, `end_pos`) are None."""

    __slots__ = ()
    value = property(str.__str__)  # type: ignore[assignment]
    start_pos = end_pos = None

    def __reduce__(self):  # copied or pickled: a plain Token
        position = (self.line, self.column, self.end_line, self.end_column)
        return Token, (self.type, str(self), None, *position)


def leaf(kind: str, value: str, line: int, column: int, end_line: int, end_column: int) -> Leaf:
    token = _new(Leaf, value)
    token.type = kind
    token.line = line
    token.column = column
    token.end_line = end_line
    token.end_column = end_column
    return token


def _scanner(groups: list[tuple[str, str]], ignored: list[str]) -> str:
    """One alternative per terminal (`(?P<t0>...)`, in the given order), then any character; the
    ignored blanks after a token are eaten with it (one match fewer per token) when they have no
    groups of their own, which would hide the token's group from `match.lastindex`."""
    alternatives = "".join(f"(?P<t{i}>{regexp})|" for i, (_, regexp) in enumerate(groups))
    pattern = f"(?:{alternatives}(?P<{_OTHER}>(?s:.)))"
    if not ignored or re.compile("|".join(ignored)).groups:
        return pattern
    if len(ignored) == 1 and re.fullmatch(r"\[(?:\\.|[^]\\])*\]\+", ignored[0]):
        return pattern + ignored[0][:-1] + "*"  # [ \t]+ repeated is [ \t]*
    return pattern + "(?:" + "|".join(ignored) + ")*"


def _precedence(terminal) -> tuple:
    """Lark's order for terminals that match at the same place (its lexers sort by this)."""
    pattern = terminal.pattern
    return (-terminal.priority, -pattern.max_width, -len(pattern.value), terminal.name)


class _State:
    """What the lexer needs of one parser state: the keywords it accepts (by lower-case word, and
    by exact spelling for case-sensitive ones) and its terminals that may name a whole word."""

    __slots__ = ("row", "folded", "exact", "named")

    def __init__(self, row: dict, lexer: Lexer):
        self.row = row
        self.folded = {w: n for w, n in lexer.folded.items() if n in row}
        self.exact = {w: n for w, n in lexer.exact.items() if n in row}
        self.exact |= self.folded  # a keyword written in lower case is found by one look-up
        self.named = [(name, match) for name, match in lexer.named if name in row]


class Lexer:
    """The lexer for one grammar: `Lexer(lark).tokens(source)`, where `source.choices()` is the
    parser's `InteractiveParser.choices` (what its current state accepts)."""

    def __init__(self, parser: Lark):
        terminals = sorted(parser.terminals, key=_precedence)
        word = re.compile(parser.get_terminal(WORD).pattern.to_regexp())
        self.folded: dict[str, str] = {}  # "remind" -> REMIND: the case-insensitive keywords
        self.exact: dict[str, str] = {}  # the case-sensitive ones
        self.named: list[tuple[str, Callable]] = []  # regex terminals, in precedence order
        groups = []
        for terminal in terminals:
            pattern = terminal.pattern
            if pattern.type == "str" and word.fullmatch(pattern.value):
                if "i" in pattern.flags:
                    self.folded[pattern.value.lower()] = terminal.name
                else:
                    self.exact[pattern.value] = terminal.name
                continue
            if pattern.type == "re":
                self.named.append((terminal.name, re.compile(pattern.to_regexp()).fullmatch))
            groups.append((terminal.name, pattern.to_regexp()))
        ignored = [parser.get_terminal(name).pattern.to_regexp() for name in parser.ignore_tokens]
        self.scan = re.compile(_scanner(groups, ignored))
        # the terminal of each group of the scanner, by the group's number (match.lastindex)
        self.kinds: list[str | None] = [None] * (self.scan.groups + 1)
        for group, index in self.scan.groupindex.items():
            self.kinds[index] = groups[int(group[1:])][0] if group != _OTHER else _OTHER
        self.ignored = frozenset(parser.ignore_tokens)
        self.states: dict[int, _State] = {}

    def state(self, row: dict) -> _State:
        """The lexer's view of a parser state, made once per state (keyed by its row)."""
        known = self.states.get(id(row))
        if known is None or known.row is not row:
            if len(self.states) > 10_000:  # pragma: no cover - rows are the parser's own table
                self.states.clear()
            known = self.states[id(row)] = _State(row, self)
        return known

    def tokens(self, source: Source) -> Iterator[Leaf]:
        """The tokens of `source.text` (normalised: LF line ends, a final newline); Lark adds
        `$END`. `source.choices()` is read before each word to name it, and `source.previous`
        is kept at the token before the last one (for the error messages)."""
        text, choices = source.text, source.choices
        kinds, ignored, states = self.kinds, self.ignored, self.states
        line, line_start = 1, 0
        levels = [0]  # indentation of the open blocks
        token = leaf(NEWLINE, "", 1, 1, 1, 1)  # the previous token, for errors
        for match in self.scan.finditer(text):
            group = match.lastindex
            kind = kinds[group]
            value = match.group(group)
            column = match.start() - line_start + 1
            if kind == WORD:
                row = choices()
                state = states.get(id(row))
                if state is None or state.row is not row:
                    state = self.state(row)
                kind = state.exact.get(value)
                if kind is None:
                    kind = state.folded.get(value.lower()) or self._named(value, state)
                    if kind is None:
                        word = leaf(WORD, value, line, column, line, column + len(value))
                        raise unexpected(word, row, token)
            elif kind == NEWLINE:
                source.previous = token
                newlines = value.count("\n")
                if newlines:
                    end_line = line + newlines
                    cut = value.rfind("\n")
                    token = leaf(NEWLINE, value, line, column, end_line, len(value) - cut)
                    yield token
                    line, line_start = end_line, match.start() + cut + 1
                    indent_text = value[cut + 1 :]
                    if len(indent_text) != levels[-1] or "\t" in indent_text:  # not as before
                        for indentation in _indentation(indent_text, levels, token):
                            source.previous = token
                            token = indentation
                            yield token
                else:  # a comment at the very end of the text
                    token = leaf(NEWLINE, value, line, column, line, column + len(value))
                    yield token
                continue
            elif kind in ignored:
                continue
            elif kind == _OTHER:
                raise UnexpectedCharacters(
                    text,
                    match.start(),
                    line,
                    column,
                    allowed=expected(choices()),
                    token_history=[token],
                )
            source.previous = token
            # leaf(...) written out: a function call less per token
            token = _new(Leaf, value)
            token.type = kind
            token.line = token.end_line = line
            token.column = column
            token.end_column = column + len(value)
            yield token
        while len(levels) > 1:
            levels.pop()
            source.previous = token
            token = leaf(DEDENT, "", line, 1, line, 1)
            yield token

    def _named(self, value: str, state: _State) -> str | None:
        """A word that is no keyword the state accepts: the first terminal the state accepts
        that matches the whole word; else the keyword the word is, for the parser to refuse;
        else None (a word the parser cannot take here)."""
        for name, fullmatch in state.named:
            if fullmatch(value):
                return name
        return self.exact.get(value) or self.folded.get(value.lower())


class Source:
    """One parse's input, as Lark hands it to `LarkLexer.lex`: the text, the lexer, and the
    parser's `InteractiveParser.choices` (set once the parser exists)."""

    __slots__ = ("text", "lexer", "choices", "previous")

    def __init__(self, text: str, lexer: Lexer):
        self.text = text
        self.lexer = lexer
        self.choices: Callable[[], dict] = dict
        self.previous: Leaf | None = None  # the token before the last one yielded


class LarkLexer(lark.lexer.Lexer):
    """Lark's custom-lexer interface (`Lark(..., lexer=LarkLexer)`): Lark's own parse loop takes
    its tokens from `lex(source)`, a `Source`; the tokens come from `source.lexer`."""

    def __init__(self, lexer_conf=None):
        pass  # the scanner is made from the Lark object's terminals (`Lexer`)

    def lex(self, source: Source) -> Iterator[Leaf]:  # type: ignore[override]
        if not isinstance(source, Source):
            raise TypeError("parse rules with rules.parser.parse, not with Lark.parse")
        return source.lexer.tokens(source)


def _indentation(indent_text: str, levels: list[int], newline: Leaf):
    """_INDENT when a line is indented deeper than the block it is in, _DEDENT per block it
    leaves; an indentation that matches no open block is an error at that line."""
    indent = len(indent_text.expandtabs(TAB_WIDTH))
    position = (newline.line, newline.column, newline.end_line, newline.end_column)
    if indent > levels[-1]:
        levels.append(indent)
        yield leaf(INDENT, indent_text, *position)
        return
    while indent < levels[-1]:
        levels.pop()
        yield leaf(DEDENT, indent_text, *position)
    if indent != levels[-1]:
        line = newline.end_line
        raise coded_error("indentation_unmatched", Span(line, 1, line, indent + 1))


# --- what the error reports need --------------------------------------------------------------


def expected(row: dict) -> set[str]:
    """The terminals a parser state accepts (its row also holds the rules it can go to)."""
    return {name for name in row if name.isupper() or name == "$END"}


def unexpected(token: Token, row: dict, previous: Token | None) -> UnexpectedToken:
    return UnexpectedToken(
        token, expected(row), token_history=[previous] if previous is not None else None
    )
