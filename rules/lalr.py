"""Lark's LALR(1) automaton for grammar.lark, driven by a loop of our own.

Lark reads grammar.lark and computes the LALR tables; they stay the one definition of the
language. This module replaces only Lark's generic shift/reduce loop: per token that loop goes
through a method call and a Token object, and per reduction it hashes and compares Lark's Rule
objects in Python and calls its tree builder's wrappers. On a 500-line file that overhead was
most of the parse (docs/performance.md). Here the table is re-keyed once (shift = a state
number, reduce = the bitwise complement of a reduction's index), leaves are tuples, and each
reduction calls the builder of its rule directly.

Tree shape as Lark builds it: a rule whose name starts with "_" (also Lark's helper rules for
`*` and `+`) is spliced into its parent; every token is kept (keep_all_tokens); a `-> alias`
names the builder.
"""

from __future__ import annotations

import sys

from lark import Lark
from lark.parsers.lalr_analysis import Shift

from rules.lexer import Lexer, unexpected

START = "start"


class Automaton:
    """`Automaton(lark, Builders).parse(text)` runs the text through Lark's table for
    grammar.lark and returns what `Builders.start` returns. `Builders` has one method per named
    rule (or alias), taking the rule's children; a fresh instance serves each parse, so builders
    may keep per-parse state on it."""

    def __init__(self, lark: Lark, builders: type):
        table = lark.parse_interactive("").parser_state.parse_conf.parse_table
        assert sorted(table.states) == list(range(len(table.states))), "states are 0..n-1"
        self.start_state = table.start_states[START]
        self.end_state = table.end_states[START]
        self.builders = builders
        self.reductions: list[tuple] = []
        index: dict = {}  # Lark Rule -> position in self.reductions
        self.rows: list[dict[str, int]] = [{} for _ in table.states]
        for state, row in table.states.items():
            for name, (action, target) in row.items():
                symbol = _plain(name)
                if action is Shift:
                    self.rows[state][symbol] = target
                    continue
                if target not in index:
                    index[target] = len(self.reductions)
                    self.reductions.append(_reduction(target, builders))
                self.rows[state][symbol] = ~index[target]
        self.lexer = Lexer(lark.terminals, self.rows)

    def parse(self, text: str):
        """The builders' value for `text` (normalised: LF line ends, final newline). Raises Lark's
        UnexpectedToken/UnexpectedCharacters or a builder's own error."""
        rows, reductions, end_state = self.rows, self.reductions, self.end_state
        context = self.builders()
        stack = [self.start_state]
        values: list = []
        for leaf in self.lexer.leaves(text, stack):
            kind = leaf[0]
            while True:
                code = rows[stack[-1]].get(kind)
                if code is None:
                    raise unexpected(leaf, rows[stack[-1]], _previous(values))
                if code >= 0:  # shift
                    stack.append(code)
                    values.append(leaf)
                    break
                size, goto, spread, build = reductions[~code]
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del stack[-size:]
                else:
                    children = []
                for at, place in spread:  # spliced children: their own children in their place
                    if at:
                        children[place] = children[at]
                    else:  # a left-recursive list (Lark's `x*`) grows in place, not copied
                        children[0] += children[1:]
                        children = children[0]
                value = children if build is None else build(context, children)
                state = rows[stack[-1]][goto]
                if state == end_state:  # only `start` goes there, on $END
                    return value
                stack.append(state)
                values.append(value)
        raise AssertionError("unreachable: $END ends every text")  # pragma: no cover


def _reduction(rule, builders: type) -> tuple:
    """(size, the rule to go to, the children to splice, the builder or None for a rule that is
    spliced into its parent). A child to splice is `(position, slice)`, last first, so that
    `children[slice] = children[position]` puts its own children in its place. A spliced rule's
    value is its own list of children, which nothing else holds."""
    name = rule.alias or rule.origin.name
    spread = tuple(
        (at, slice(at, at + 1))
        for at, symbol in reversed(list(enumerate(rule.expansion)))
        if not symbol.is_term and symbol.name.startswith("_")
    )
    if name.startswith("_"):
        build = None
    else:
        build = getattr(builders, name, None)
        if build is None:
            raise TypeError(f"{builders.__name__} has no builder for the rule {name!r}")
    return len(rule.expansion), _plain(rule.origin.name), spread, build


def _plain(name: str) -> str:
    """Lark names symbols with its Token (a str with a Python __eq__, slow as a dict key);
    the table is keyed with plain interned strings."""
    return sys.intern(str(name))


def _previous(values: list) -> tuple | None:
    """The last leaf shifted, if nothing was reduced since (what the error reports call the
    previous terminal)."""
    return values[-1] if values and values[-1].__class__ is tuple else None
