"""Text → Lark tree → typed AST (rules.ast). Syntax errors become RulesError with words."""

from __future__ import annotations

import re
import threading
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from rules import ast
from rules.ast import Span
from rules.diagnostics import Diagnostic, RulesError, error
from rules.expected import describe_unexpected
from rules.lexer import RulesLexer


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    # Spans are taken from the tokens (keep_all_tokens) instead of propagate_positions,
    # which doubled the parse time.
    return Lark(
        grammar,
        parser="lalr",
        lexer=RulesLexer,
        keep_all_tokens=True,
        maybe_placeholders=False,
        transformer=_Callbacks(),
    )


def normalize(text: str) -> str:
    """Plain LF line ends and a final newline: what the grammar expects."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def parse(text: str) -> ast.Ruleset:
    """Parse a rules text into a Ruleset; raises RulesError (with a diagnostic) on bad syntax."""
    source = normalize(text)
    try:
        tree = lark_parser().parse(source)  # an ast.Ruleset: see _Callbacks
    except RulesError as exc:
        exc.source = text
        raise
    except UnexpectedInput as exc:
        raise RulesError([_described(exc, source)], text) from None
    except LarkError as exc:  # pragma: no cover - defensive: any other Lark failure
        raise RulesError([Diagnostic("error", str(exc), 1, 1, 1, 2)], text) from None
    return ast.Ruleset(
        settings=tree.settings,
        blocks=tree.blocks,
        comments=tuple(comments(source)),
        span=tree.span,
    )


def _described(exc: UnexpectedInput, source: str) -> Diagnostic:
    try:
        return describe_unexpected(exc, source, lark_parser())
    except Exception:  # pragma: no cover - never let the message maker hide the error itself
        line, column = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
        return Diagnostic("error", "this is not valid rules syntax", line, column, line, column + 1)


_COMMENT = re.compile(r'"[^"\n]*"|#[^\n]*')


def comments(source: str):
    """Comments with their positions (a `#` inside a quoted text is not a comment)."""
    for number, line in enumerate(source.split("\n"), start=1):
        for match in _COMMENT.finditer(line):
            if match.group().startswith("#"):
                start = match.start()
                yield ast.Comment(
                    match.group().rstrip(),
                    own_line=not line[:start].strip(),
                    span=Span(number, start + 1, number, len(line) + 1),
                )
                break


VALUES = frozenset({"NUMBER", "DATE", "CODE", "CUSTOMER_TYPE", "STRING", "WORD", "CHANNELS"})
LAYOUT = frozenset({"_NL", "_INDENT", "_DEDENT"})


def _edge(children: list, last: bool):
    """The first (or last) token among `children` that is not layout, or the span of an AST node
    there (a Span has a Token's line/column fields)."""
    for child in reversed(children) if last else children:
        kind = child.__class__
        if kind is Token:
            if child.type not in LAYOUT:
                return child
        elif kind is Tree:
            found = _edge(child.children, last)
            if found is not None:
                return found
        else:
            return child.span
    return None


def _span_of(children: list) -> Span:
    first, last = _edge(children, False), _edge(children, True)
    if first is None:
        return ast.NO_SPAN
    return Span(first.line, first.column, last.end_line, last.end_column)


def _span(node) -> Span:
    if node.__class__ is Token:
        return Span(node.line, node.column, node.end_line, node.end_column)
    return _span_of(node.children)


def _whole(token: Token, what: str) -> int:
    if "." in token:
        raise error(f"expected {what}, not {token}", _span(token))
    return int(token)


def _quoted(token: Token) -> str:
    return str(token)[1:-1]


def _values(children: list) -> list:
    """Children without keywords and punctuation (what Lark filters without keep_all_tokens)."""
    return [c for c in children if c.__class__ is not Token or c.type in VALUES]


def _kids(tree: Tree) -> list:
    return _values(tree.children)


# The unit of the previous trigger in the block being parsed (`after 14` inherits it). Lark
# reduces in text order and a block's header before its steps, so the header resets it. Kept per
# thread: the parser object is shared by the portal's threads.
_block_state = threading.local()


class _Callbacks:
    """Lark's LALR callbacks: the AST is built while the text is parsed (rules without a method
    here stay Lark trees for their parent to read), so no tree is built and walked again. Each
    method gets the rule's children (keywords included: keep_all_tokens)."""

    # --- the file, blocks and steps ----------------------------------------------------------

    def start(self, children: list) -> ast.Ruleset:
        settings = tuple(c for c in children if isinstance(c, ast.Setting))
        blocks = tuple(c for c in children if c.__class__ is ast.Block)
        return ast.Ruleset(settings, blocks, span=_span_of(children))

    def header(self, children: list) -> Tree:
        _block_state.unit = False
        return Tree("header", children)

    def _block(self, children: list, multiline: bool) -> ast.Block:
        header, *rest = children
        method, *conditions = (c for c in header.children if c.__class__ is not Token)
        alias = str(method.children[0]).lower()
        return ast.Block(
            method=ast.METHOD_ALIASES[alias],
            alias=alias,
            conditions=tuple(conditions),
            body=tuple(c for c in rest if c.__class__ is not Token),
            multiline=multiline,
            span=_span_of(children),
        )

    def multi_block(self, children: list) -> ast.Block:
        return self._block(children, True)

    def inline_block(self, children: list) -> ast.Block:
        return self._block(children, False)

    def trigger(self, children: list) -> ast.Trigger:
        number, *units = _values(children)
        if units:
            _block_state.unit = any(str(t).lower() == "business" for t in units[0].children)
        unit = getattr(_block_state, "unit", False)
        return ast.Trigger(_whole(number, "a whole number of days"), unit, span=_span_of(children))

    def after_step(self, children: list) -> ast.Step:
        trigger, *actions = _values(children)
        return ast.Step(trigger, tuple(actions), span=_span_of(children))

    def after_steps(self, children: list) -> ast.StepLine:
        steps = tuple(c for c in children if c.__class__ is ast.Step)
        return ast.StepLine("after", steps, span=_span_of(children))

    def first_steps(self, children: list) -> ast.StepLine:
        """`remind after 7, cancel and notify accounting after 21, release reservation`: each
        trigger closes the actions written since the previous one; actions after the last
        trigger belong to the last step."""
        steps: list[ast.Step] = []
        pending: list[ast.Action] = []
        for item in children:
            if item.__class__ is Token:
                continue
            action, *trigger = _values(item.children)
            pending.append(action)
            if trigger:
                first, last = pending[0].span, trigger[0].span
                span = Span(first.line, first.column, last.end_line, last.end_column)
                steps.append(ast.Step(trigger[0], tuple(pending), span=span))
                pending = []
        if pending:
            if not steps:
                raise error(
                    'expected "after N days" to say when these actions happen', pending[0].span
                )
            last = steps[-1]
            end = pending[-1].span
            steps[-1] = ast.Step(
                last.trigger,
                last.actions + tuple(pending),
                span=Span(last.span.line, last.span.column, end.end_line, end.end_column),
            )
        return ast.StepLine("first", tuple(steps), span=_span_of(children))

    # --- conditions --------------------------------------------------------------------------

    def amount_cond(self, children: list) -> ast.AmountCondition:
        op_tree, number, *currency = _values(children)
        op = " ".join(str(t).lower() for t in op_tree.children)
        op = {"above": "over", "below": "under"}.get(op, op)
        cur = str(currency[0].children[0]).upper() if currency else None
        return ast.AmountCondition(op, Decimal(number), cur, span=_span_of(children))

    def country_cond(self, children: list) -> ast.CountryCondition:
        codes = tuple(dict.fromkeys(str(t).upper() for t in _values(children)))
        return ast.CountryCondition(codes, span=_span_of(children))

    def customer_cond(self, children: list) -> ast.CustomerCondition:
        return ast.CustomerCondition(str(children[-1]).lower(), span=_span_of(children))

    def language_cond(self, children: list) -> ast.LanguageCondition:
        return ast.LanguageCondition(str(children[-1]).lower(), span=_span_of(children))

    def tag_cond(self, children: list) -> ast.TagCondition:
        return ast.TagCondition(_quoted(children[-1]), span=_span_of(children))

    # --- settings ----------------------------------------------------------------------------

    def no_mail(self, children: list) -> ast.Setting:
        return ast.NoMailOnHolidays(span=_span_of(children))

    def apply_from(self, children: list) -> ast.Setting:
        (token,) = _values(children)
        try:
            return ast.ApplyFrom(date.fromisoformat(token), span=_span_of(children))
        except ValueError:
            raise error(f"{token} is not a valid date (YYYY-MM-DD)", _span(token)) from None

    def _days(self, kind, children: list) -> ast.Setting:
        (token,) = _values(children)
        return kind(_whole(token, "a whole number of days"), span=_span_of(children))

    def min_gap(self, children: list) -> ast.Setting:
        return self._days(ast.MinGap, children)

    def bank_data_hold(self, children: list) -> ast.Setting:
        return self._days(ast.BankDataHold, children)

    def claim_pause(self, children: list) -> ast.Setting:
        return self._days(ast.ClaimPause, children)

    # --- actions -----------------------------------------------------------------------------

    def remind(self, children: list) -> ast.Remind:
        level, channels, fee, currency = None, (), None, None
        for child in _values(children):
            if child.__class__ is Token:  # CHANNELS: "by email and letter"
                words = re.findall(r"e-?mail|letter", child.lower())
                found = tuple("email" if w != "letter" else w for w in words)
                channels = tuple(dict.fromkeys(channels + found))
            elif child.data == "level":
                level = _whole(_kids(child)[0], "a whole level number")
            else:
                number, *unit = _kids(child)
                fee = Decimal(number)
                if unit:
                    currency = str(unit[0].children[0]).upper()
        return ast.Remind(level, channels, fee, currency, span=_span_of(children))

    def notify(self, children: list) -> ast.Notify:
        token = children[-1]
        recipient = _quoted(token) if token.type == "STRING" else str(token).lower()
        return ast.Notify(recipient, span=_span_of(children))

    def charge_interest(self, children: list) -> ast.ChargeInterest:
        numbers = _values(children)
        if numbers:
            return ast.ChargeInterest(False, Decimal(numbers[0]), span=_span_of(children))
        return ast.ChargeInterest(True, None, span=_span_of(children))

    def send_webhook(self, children: list) -> ast.SendWebhook:
        return ast.SendWebhook(_quoted(children[-1]), span=_span_of(children))

    def cancel(self, children: list) -> ast.Cancel:
        return ast.Cancel(span=_span_of(children))

    def mark_overdue(self, children: list) -> ast.MarkOverdue:
        return ast.MarkOverdue(span=_span_of(children))

    def release_reservation(self, children: list) -> ast.ReleaseReservation:
        return ast.ReleaseReservation(span=_span_of(children))

    def hand_over_to_collection(self, children: list) -> ast.HandOverToCollection:
        return ast.HandOverToCollection(span=_span_of(children))
