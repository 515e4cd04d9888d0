"""Text → Lark tree → typed AST (rules.ast). Syntax errors become RulesError with words."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput
from lark.indenter import Indenter

from rules import ast
from rules.ast import Span
from rules.diagnostics import Diagnostic, RulesError, error
from rules.expected import describe_unexpected
from rules.lexer import RulesLexer


class _RulesIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types: list[str] = []
    CLOSE_PAREN_types: list[str] = []
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def handle_NL(self, token):
        indent = len(token.rsplit("\n", 1)[1].expandtabs(self.tab_len))
        if indent < self.indent_level[-1] and indent not in self.indent_level:
            line = token.end_line
            raise error(
                "this line's indentation matches no line above it; indent the lines of a block "
                "by the same amount",
                Span(line, 1, line, indent + 1),
            )
        yield from super().handle_NL(token)


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    # Spans are taken from the tokens (keep_all_tokens) instead of propagate_positions,
    # which doubled the parse time.
    return Lark(
        grammar,
        parser="lalr",
        lexer=RulesLexer,
        postlex=_RulesIndenter(),
        keep_all_tokens=True,
        maybe_placeholders=False,
    )


def normalize(text: str) -> str:
    """Plain LF line ends and a final newline: what the grammar expects."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def parse(text: str) -> ast.Ruleset:
    """Parse a rules text into a Ruleset; raises RulesError (with a diagnostic) on bad syntax."""
    source = normalize(text)
    try:
        tree = lark_parser().parse(source)
    except RulesError as exc:
        exc.source = text
        raise
    except UnexpectedInput as exc:
        raise RulesError([_described(exc, source)], text) from None
    except LarkError as exc:  # pragma: no cover - defensive: any other Lark failure
        raise RulesError([Diagnostic("error", str(exc), 1, 1, 1, 2)], text) from None
    try:
        ruleset = _Converter().ruleset(tree)
    except RulesError as exc:
        exc.source = text
        raise
    return ast.Ruleset(
        settings=ruleset.settings,
        blocks=ruleset.blocks,
        comments=tuple(comments(source)),
        span=ruleset.span,
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


def _kids(tree: Tree) -> list:
    """Children without keywords and punctuation (what Lark filters without keep_all_tokens)."""
    return [c for c in tree.children if not isinstance(c, Token) or c.type in VALUES]


def _edge(tree: Tree, last: bool) -> Token | None:
    for child in reversed(tree.children) if last else tree.children:
        if isinstance(child, Token):
            if child.type not in LAYOUT:
                return child
        else:
            found = _edge(child, last)
            if found is not None:
                return found
    return None


def _span(node) -> Span:
    if isinstance(node, Token):
        return Span(node.line, node.column, node.end_line, node.end_column)
    first, last = _edge(node, False), _edge(node, True)
    if first is None:
        return ast.NO_SPAN
    return Span(first.line, first.column, last.end_line, last.end_column)


def _trees(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _whole(token: Token, what: str) -> int:
    if "." in token:
        raise error(f"expected {what}, not {token}", _span(token))
    return int(token)


def _quoted(token: Token) -> str:
    return str(token)[1:-1]


class _Converter:
    """Walks the Lark tree. `unit` carries the unit of the previous trigger in a block, which a
    trigger without one (`after 14`) inherits."""

    def ruleset(self, tree: Tree) -> ast.Ruleset:
        settings, blocks = [], []
        for child in _trees(tree):
            if child.data in ("inline_block", "multi_block"):
                blocks.append(self.block(child))
            else:
                settings.append(self.setting(child))
        return ast.Ruleset(tuple(settings), tuple(blocks), span=_span(tree))

    def block(self, tree: Tree) -> ast.Block:
        self.unit = False
        header, *rest = _trees(tree)
        method, *conditions = _trees(header)
        alias = str(method.children[0]).lower()
        body = []
        for child in rest:
            if child.data in ("after_steps", "first_steps"):
                body.append(self.step_line(child))
            else:
                body.append(self.setting(child))
        return ast.Block(
            method=ast.METHOD_ALIASES[alias],
            alias=alias,
            conditions=tuple(self.condition(c) for c in conditions),
            body=tuple(body),
            multiline=tree.data == "multi_block",
            span=_span(tree),
        )

    # --- conditions --------------------------------------------------------------------------

    def condition(self, tree: Tree):
        span = _span(tree)
        kids = _kids(tree)
        if tree.data == "amount_cond":
            op_tree, number, *currency = kids
            op = " ".join(str(t).lower() for t in op_tree.children)
            op = {"above": "over", "below": "under"}.get(op, op)
            cur = str(currency[0].children[0]).upper() if currency else None
            return ast.AmountCondition(op, Decimal(number), cur, span=span)
        if tree.data == "country_cond":
            codes = tuple(dict.fromkeys(str(t).upper() for t in kids))
            return ast.CountryCondition(codes, span=span)
        if tree.data == "customer_cond":
            return ast.CustomerCondition(str(kids[0]).lower(), span=span)
        if tree.data == "language_cond":
            return ast.LanguageCondition(str(kids[0]).lower(), span=span)
        return ast.TagCondition(_quoted(kids[0]), span=span)

    # --- settings ----------------------------------------------------------------------------

    def setting(self, tree: Tree) -> ast.Setting:
        span = _span(tree)
        if tree.data == "no_mail":
            return ast.NoMailOnHolidays(span=span)
        (token,) = _kids(tree)
        if tree.data == "apply_from":
            try:
                return ast.ApplyFrom(date.fromisoformat(token), span=span)
            except ValueError:
                raise error(f"{token} is not a valid date (YYYY-MM-DD)", _span(token)) from None
        days = _whole(token, "a whole number of days")
        kind = {
            "min_gap": ast.MinGap,
            "bank_data_hold": ast.BankDataHold,
            "claim_pause": ast.ClaimPause,
        }
        return kind[tree.data](days, span=span)

    # --- steps -------------------------------------------------------------------------------

    def step_line(self, tree: Tree) -> ast.StepLine:
        if tree.data == "after_steps":
            steps = []
            for item in _trees(tree):
                trigger, *actions = _kids(item)
                steps.append(
                    ast.Step(
                        self.trigger(trigger),
                        tuple(self.action(a) for a in actions),
                        span=_span(item),
                    )
                )
            return ast.StepLine("after", tuple(steps), span=_span(tree))
        return ast.StepLine("first", self.first_steps(tree), span=_span(tree))

    def first_steps(self, tree: Tree) -> tuple[ast.Step, ...]:
        """`remind after 7, cancel and notify accounting after 21, release reservation`: each
        trigger closes the actions written since the previous one; actions after the last
        trigger belong to the last step."""
        steps: list[ast.Step] = []
        pending: list[tuple[ast.Action, Tree]] = []
        for item in _trees(tree):
            action_tree, *trigger = _kids(item)
            pending.append((self.action(action_tree), action_tree))
            if trigger:
                first = _span(pending[0][1])
                last = _span(trigger[0])
                span = Span(first.line, first.column, last.end_line, last.end_column)
                steps.append(
                    ast.Step(self.trigger(trigger[0]), tuple(a for a, _ in pending), span=span)
                )
                pending = []
        if pending:
            if not steps:
                raise error(
                    'expected "after N days" to say when these actions happen',
                    _span(pending[0][1]),
                )
            last = steps[-1]
            end = _span(pending[-1][1])
            steps[-1] = ast.Step(
                last.trigger,
                last.actions + tuple(a for a, _ in pending),
                span=Span(last.span.line, last.span.column, end.end_line, end.end_column),
            )
        return tuple(steps)

    def trigger(self, tree: Tree) -> ast.Trigger:
        number, *units = _kids(tree)
        if units:
            self.unit = any(str(t).lower() == "business" for t in units[0].children)
        return ast.Trigger(_whole(number, "a whole number of days"), self.unit, span=_span(tree))

    # --- actions -----------------------------------------------------------------------------

    def action(self, tree: Tree) -> ast.Action:
        span = _span(tree)
        name = tree.data
        if name == "remind":
            return self.remind(tree, span)
        if name == "notify":
            token = _kids(tree)[0]
            recipient = _quoted(token) if token.type == "STRING" else str(token).lower()
            return ast.Notify(recipient, span=span)
        if name == "charge_interest":
            tokens = _kids(tree)
            if tokens:
                return ast.ChargeInterest(False, Decimal(tokens[0]), span=span)
            return ast.ChargeInterest(True, None, span=span)
        if name == "send_webhook":
            return ast.SendWebhook(_quoted(_kids(tree)[0]), span=span)
        simple = {
            "cancel": ast.Cancel,
            "mark_overdue": ast.MarkOverdue,
            "release_reservation": ast.ReleaseReservation,
            "hand_over_to_collection": ast.HandOverToCollection,
        }
        return simple[name](span=span)

    def remind(self, tree: Tree, span: Span) -> ast.Remind:
        level, channels, fee, currency = None, (), None, None
        for child in _kids(tree):
            if isinstance(child, Token):  # CHANNELS: "by email and letter"
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
        return ast.Remind(level, channels, fee, currency, span=span)
