"""Text → typed AST (rules.ast), with Lark's LALR(1) parser for grammar.lark. Syntax errors become
RulesError with words.

`lark_parser()` is Lark's parser for grammar.lark, with the builders below as its transformer:
Lark calls one of them per rule it reduces, with the rule's children (every token kept), so the
AST is made while the text is parsed. Lark's own parse loop runs (`parse_interactive` and
`resume_parse`) and takes its tokens from `rules.lexer` through Lark's custom-lexer interface;
the lexer names a word by what the same parser accepts at that point (`choices`).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from lark import Lark, Transformer
from lark.exceptions import LarkError, UnexpectedInput, UnexpectedToken

from rules import ast
from rules.ast import Span
from rules.diagnostics import Diagnostic, RulesError, coded_error
from rules.expected import describe_unexpected
from rules.lexer import LAYOUT, LarkLexer, Leaf, Lexer, Source

GRAMMAR = Path(__file__).with_name("grammar.lark")


def build(grammar: str, builders: type[Transformer] | None = None) -> tuple[Lark, Lexer]:
    """Lark's LALR(1) parser for `grammar`, with `builders` (default: the ones below) making the
    AST as it parses, and the lexer made from the grammar's terminals."""
    parser = Lark(
        grammar,
        parser="lalr",
        lexer=LarkLexer,
        transformer=(builders or _Builders)(),
        keep_all_tokens=True,
        maybe_placeholders=False,
    )
    return parser, Lexer(parser)


@lru_cache(maxsize=1)
def _built() -> tuple[Lark, Lexer]:
    return build(GRAMMAR.read_text(encoding="utf-8"))


def lark_parser() -> Lark:
    """Lark's parser for grammar.lark, built once per process."""
    return _built()[0]


def run(parser: Lark, lexer: Lexer, text: str):
    """The builders' value for `text` (normalised). Raises Lark's UnexpectedToken or
    UnexpectedCharacters, or a builder's RulesError.

    Lark's own parse loop runs (`resume_parse`) and takes the tokens from `lexer`, which asks the
    same parser (`choices`) what it accepts before it names a word."""
    source = Source(text, lexer)
    interactive = parser.parse_interactive(source)
    source.choices = interactive.choices
    try:
        return interactive.resume_parse()
    except UnexpectedToken as exc:
        if exc.token_history is None and source.previous is not None:
            exc.token_history = [source.previous]  # the previous terminal, for the message
        raise
    finally:
        # The parser holds the source and the source the parser: without this the parser's
        # stacks (the whole tree) would wait for the garbage collector.
        source.choices = dict


def normalize(text: str) -> str:
    """Plain LF line ends and a final newline: what the grammar expects."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def parse(text: str) -> ast.Ruleset:
    """Parse a rules text into a Ruleset; raises RulesError (with a diagnostic) on bad syntax."""
    return parse_with(*_built(), text)


def parse_with(parser: Lark, lexer: Lexer, text: str) -> ast.Ruleset:
    """`parse` with a parser and lexer from `build` (a changed grammar, in the tests)."""
    source = normalize(text)
    try:
        tree = run(parser, lexer, source)
    except RulesError as exc:
        exc.source = text
        raise
    except UnexpectedInput as exc:
        raise RulesError([_described(exc, source, parser)], text) from None
    except LarkError as exc:  # pragma: no cover - defensive: any other Lark failure
        failure = Diagnostic.coded("error", "parser_failure", Span(1, 1, 1, 2), detail=str(exc))
        raise RulesError([failure], text) from None
    return ast.Ruleset(
        settings=tree.settings,
        blocks=tree.blocks,
        comments=tuple(comments(source)),
        span=tree.span,
    )


def _described(exc: UnexpectedInput, source: str, parser: Lark) -> Diagnostic:
    try:
        return describe_unexpected(exc, source, parser)
    except Exception:  # pragma: no cover - never let the message maker hide the error itself
        line, column = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
        return Diagnostic.coded("error", "invalid_syntax", Span(line, column, line, column + 1))


_COMMENT = re.compile(r'"[^"\n]*"|#[^\n]*')


def comments(source: str):
    """Comments with their positions (a `#` inside a quoted text is not a comment). One scan of
    the whole text: the lines are counted only up to each comment."""
    line, line_start, counted = 1, 0, 0
    for match in _COMMENT.finditer(source):
        comment = match.group()
        if comment[0] != "#":
            continue
        start = match.start()
        line += source.count("\n", counted, start)
        line_start = source.rfind("\n", 0, start) + 1
        counted = start
        yield ast.Comment(
            comment.rstrip(),
            own_line=not source[line_start:start].strip(),
            span=Span(line, start - line_start + 1, line, match.end() - line_start + 1),
        )


# --- children: tokens, AST nodes and headers ------------------------------------------------

VALUES = frozenset({"NUMBER", "DATE", "CODE", "CUSTOMER_TYPE", "STRING", "WORD", "CHANNELS"})


class Header(NamedTuple):
    """A block's header, handed to the block's builder: the payment-method word as written (lower
    case), the conditions, and the children it came from (for the block's span)."""

    alias: str
    conditions: tuple
    children: list


_new = tuple.__new__  # Span(...) without the named tuple's Python-level __new__

# The nodes a file has by the hundred, made by ast.constructor (the span by keyword).
_Trigger = ast.constructor(ast.Trigger)
_Step = ast.constructor(ast.Step)
_StepLine = ast.constructor(ast.StepLine)
_Remind = ast.constructor(ast.Remind)
_Notify = ast.constructor(ast.Notify)
_AmountCondition = ast.constructor(ast.AmountCondition)
_CountryCondition = ast.constructor(ast.CountryCondition)
_Block = ast.constructor(ast.Block)
_Cancel = ast.constructor(ast.Cancel)
_MarkOverdue = ast.constructor(ast.MarkOverdue)
_ReleaseReservation = ast.constructor(ast.ReleaseReservation)
_HandOverToCollection = ast.constructor(ast.HandOverToCollection)
_set_business = ast.Trigger.business.__set__  # a trigger's inherited unit, set by its block


def _edge(children: list, last: bool):
    """The first (or last) token among `children` that is not layout, or the span of an AST node
    there (a header counts by its own children)."""
    for child in reversed(children) if last else children:
        kind = child.__class__
        if kind is Leaf:
            if child.type not in LAYOUT:
                return child
        elif kind is Header:
            found = _edge(child.children, last)
            if found is not None:
                return found
        else:
            return child.span
    return None


def _span_of(children: list) -> Span:
    if not children:
        return ast.NO_SPAN
    first, last = children[0], children[-1]
    if (  # the usual case: from a keyword to a value or keyword, on one line
        first.__class__ is Leaf
        and last.__class__ is Leaf
        and first.type not in LAYOUT
        and last.type not in LAYOUT
    ):
        return _new(Span, (first.line, first.column, last.end_line, last.end_column))
    first = _edge(children, False)
    if first is None:
        return ast.NO_SPAN
    last = _edge(children, True)
    if first.__class__ is Leaf:
        line, column = first.line, first.column
    else:
        line, column = first[0], first[1]
    if last.__class__ is Leaf:
        return _new(Span, (line, column, last.end_line, last.end_column))
    return _new(Span, (line, column, last[2], last[3]))


def _leaves_span(children: list) -> Span:
    """The span of a rule whose children are all tokens (no layout): first to last."""
    first, last = children[0], children[-1]
    return _new(Span, (first.line, first.column, last.end_line, last.end_column))


def _between(first: Span, last: Span) -> Span:
    """From the start of `first` to the end of `last`."""
    return _new(Span, (first[0], first[1], last[2], last[3]))


def _token_span(token: Leaf) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def _whole(token: Leaf, code: str) -> int:
    """A whole number; else the error `code` (whole_days, whole_level)."""
    if "." in token:
        raise coded_error(code, _token_span(token), number=str(token))
    return int(token)


def _once(given, children: list, start: int, end: int, code: str) -> None:
    """A reminder's option may be written once (a second one would silently win): the error
    `code` (level_twice, fee_twice, channels_twice) marks the second one, `children[start:end]`."""
    if given is not None:
        raise coded_error(code, _span_of(children[start:end]))


def _values(children: list) -> list:
    """Children without keywords, punctuation and layout."""
    return [c for c in children if c.__class__ is not Leaf or c.type in VALUES]


def _inherit_units(body: tuple) -> None:
    """`after 14` without a unit has the unit of the block's trigger before it (days for the
    first): set on the block's triggers that were written without one."""
    unit = False
    for line in body:
        if line.__class__ is ast.StepLine:
            for step in line.steps:
                trigger = step.trigger
                if trigger.business is None:
                    _set_business(trigger, unit)
                else:
                    unit = trigger.business


class _Builders(Transformer):
    """One method per rule (or alias) of grammar.lark; Lark calls it when it reduces that rule,
    with the rule's children: tokens (`Leaf`), AST nodes and the values of other builders. Lark
    puts the children of `_rules` and of its helper rules for `x*` in their parent's place. One
    instance serves every parse (also in several threads at once): no state between calls."""

    # --- the file, blocks and steps ----------------------------------------------------------

    def start(self, children: list) -> ast.Ruleset:
        settings = tuple(c for c in children if isinstance(c, ast.Setting))
        blocks = tuple(c for c in children if c.__class__ is ast.Block)
        return ast.Ruleset(settings, blocks, span=_span_of(children))

    def header(self, children: list) -> Header:
        conditions = tuple([c for c in children[1:] if c.__class__ is not Leaf])
        return _new(Header, (children[0].lower(), conditions, children))

    def _block(self, children: list, multiline: bool) -> ast.Block:
        alias, conditions, _ = children[0]
        body = tuple(c for c in children[1:] if c.__class__ is not Leaf)
        _inherit_units(body)
        return _Block(
            ast.METHOD_ALIASES[alias],
            alias,
            conditions,
            body,
            multiline,
            span=_span_of(children),
        )

    def multi_block(self, children: list) -> ast.Block:
        return self._block(children, True)

    def inline_block(self, children: list) -> ast.Block:
        return self._block(children, False)

    def trigger(self, children: list) -> ast.Trigger:
        """`after N`, `after N days` or `after N business days`; without a unit, the block sets
        the unit of the trigger before (`_inherit_units`)."""
        number = children[1]
        days = int(number) if "." not in number else _whole(number, "whole_days")
        business = children[2].type == "BUSINESS" if len(children) > 2 else None
        return _Trigger(days, business, span=_leaves_span(children))

    def after_step(self, children: list) -> ast.Step:
        # trigger ":" action ("," action)*: the actions stand at every second place from 2
        actions = tuple(children[2::2])
        return _Step(children[0], actions, span=_between(children[0].span, actions[-1].span))

    def after_steps(self, children: list) -> ast.StepLine:
        # step (";" step)* ";"?: the steps stand at every second place
        steps = tuple(children[::2])
        if children[-1].__class__ is Leaf:  # a closing ";"
            return _StepLine("after", steps, span=_span_of(children))
        return _StepLine("after", steps, span=_between(steps[0].span, steps[-1].span))

    def first_steps(self, children: list) -> ast.StepLine:
        """`remind after 7, cancel and notify accounting after 21, release reservation`: each
        trigger closes the actions written since the previous one; actions after the last
        trigger belong to the last step."""
        steps: list[ast.Step] = []
        pending: list[ast.Action] = []
        for item in children:
            kind = item.__class__
            if kind is ast.Trigger:
                span = _between(pending[0].span, item.span)
                steps.append(_Step(item, tuple(pending), span=span))
                pending = []
            elif kind is not Leaf:  # an action (the tokens are commas and "and")
                pending.append(item)
        if pending:
            if not steps:
                raise coded_error("actions_without_trigger", pending[0].span)
            last = steps[-1]
            steps[-1] = ast.Step(
                last.trigger,
                last.actions + tuple(pending),
                span=_between(last.span, pending[-1].span),
            )
        # an action first, an action or a trigger last
        span = _between(children[0].span, children[-1].span)
        return _StepLine("first", tuple(steps), span=span)

    # --- conditions --------------------------------------------------------------------------

    def amount_cond(self, children: list) -> ast.AmountCondition:
        """`amount` OP NUMBER [EUR|CHF], where OP is one word or two (`at least`)."""
        at = 3 if children[2].type == "NUMBER" else 4
        op = " ".join([c.lower() for c in children[1 : at - 1]])
        op = {"above": "over", "below": "under"}.get(op, op)
        currency = children[at].upper() if len(children) > at else None
        amount = Decimal(children[at - 1])
        return _AmountCondition(op, amount, currency, span=_leaves_span(children))

    def country_cond(self, children: list) -> ast.CountryCondition:
        codes = tuple(dict.fromkeys([c.upper() for c in children if c.type == "CODE"]))
        return _CountryCondition(codes, span=_leaves_span(children))

    def customer_cond(self, children: list) -> ast.CustomerCondition:
        return ast.CustomerCondition(children[-1].lower(), span=_leaves_span(children))

    def language_cond(self, children: list) -> ast.LanguageCondition:
        return ast.LanguageCondition(children[-1].lower(), span=_leaves_span(children))

    def tag_cond(self, children: list) -> ast.TagCondition:
        return ast.TagCondition(children[-1][1:-1], span=_leaves_span(children))

    # --- settings ----------------------------------------------------------------------------

    def no_mail(self, children: list) -> ast.Setting:
        return ast.NoMailOnHolidays(span=_leaves_span(children))

    def apply_from(self, children: list) -> ast.Setting:
        (token,) = _values(children)
        try:
            return ast.ApplyFrom(date.fromisoformat(token), span=_leaves_span(children))
        except ValueError:
            raise coded_error("bad_date", _token_span(token), date=str(token)) from None

    def _days(self, kind, children: list) -> ast.Setting:
        (token,) = _values(children)
        return kind(_whole(token, "whole_days"), span=_leaves_span(children))

    def missed_steps(self, children: list) -> ast.Setting:
        """`on missed steps: escalate in order` or `on missed steps: skip to the latest`."""
        mode = "latest" if children[-1].type == "LATEST" else "in_order"
        return ast.MissedSteps(mode, span=_leaves_span(children))

    def min_gap(self, children: list) -> ast.Setting:
        return self._days(ast.MinGap, children)

    def bank_data_hold(self, children: list) -> ast.Setting:
        return self._days(ast.BankDataHold, children)

    def claim_pause(self, children: list) -> ast.Setting:
        return self._days(ast.ClaimPause, children)

    # --- actions -----------------------------------------------------------------------------

    def remind(self, children: list) -> ast.Remind:
        """`remind` and its options in any order, each at most once: `level N`,
        `by email and letter`, `with fee N [EUR|CHF]`."""
        level, channels, fee, currency = None, None, None, None
        at, end = 1, len(children)
        while at < end:
            start = at
            kind = children[at].type
            if kind == "LEVEL":  # level N
                at += 2
                _once(level, children, start, at, "level_twice")
                level = _whole(children[at - 1], "whole_level")
            elif kind == "WITH":  # with fee N [EUR|CHF]
                at += 3
                fee_given, fee = fee, Decimal(children[at - 1])
                if at < end and children[at].type in ("EUR", "CHF"):
                    currency = children[at].type
                    at += 1
                _once(fee_given, children, start, at, "fee_twice")
            else:  # CHANNELS: by email, by letter, by email and letter
                at += 1
                _once(channels, children, start, at, "channels_twice")
                words = re.findall(r"e-?mail|letter", children[start].lower())
                channels = tuple(dict.fromkeys("email" if w != "letter" else w for w in words))
        return _Remind(level, channels or (), fee, currency, span=_leaves_span(children))

    def notify(self, children: list) -> ast.Notify:
        token = children[-1]
        recipient = token[1:-1] if token.type == "STRING" else token.lower()
        return _Notify(recipient, span=_leaves_span(children))

    def charge_interest(self, children: list) -> ast.ChargeInterest:
        numbers = _values(children)
        if numbers:
            return ast.ChargeInterest(False, Decimal(numbers[0]), span=_leaves_span(children))
        return ast.ChargeInterest(True, None, span=_leaves_span(children))

    def send_webhook(self, children: list) -> ast.SendWebhook:
        return ast.SendWebhook(children[-1][1:-1], span=_leaves_span(children))

    def cancel(self, children: list) -> ast.Cancel:
        return _Cancel(span=_leaves_span(children))

    def mark_overdue(self, children: list) -> ast.MarkOverdue:
        return _MarkOverdue(span=_leaves_span(children))

    def release_reservation(self, children: list) -> ast.ReleaseReservation:
        return _ReleaseReservation(span=_leaves_span(children))

    def hand_over_to_collection(self, children: list) -> ast.HandOverToCollection:
        return _HandOverToCollection(span=_leaves_span(children))
