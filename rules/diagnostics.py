"""Diagnostics (errors and warnings at a line and column) and the exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass

from rules import messages
from rules.ast import Span


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" | "warning"
    message: str  # English
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int
    code: str = ""  # a key of rules.messages.MESSAGES
    args: tuple[tuple[str, object], ...] = ()  # the values in the message, for a translation

    @classmethod
    def at(cls, severity: str, message: str, span: Span) -> Diagnostic:
        return cls(severity, message, span.line, span.column, span.end_line, span.end_column)

    @classmethod
    def coded(cls, severity: str, code: str, span: Span, **params) -> Diagnostic:
        """A coded diagnostic: its English text from rules.messages, code and values kept."""
        text = messages.message(code, **params)
        return cls(
            severity,
            text,
            span.line,
            span.column,
            span.end_line,
            span.end_column,
            code,
            tuple(sorted(params.items())),
        )

    @property
    def params(self) -> dict:
        return dict(self.args)

    @property
    def width(self) -> int:
        """How many columns the caret covers (at least one; one for spans over lines)."""
        if self.end_line == self.line and self.end_column > self.column:
            return self.end_column - self.column
        return 1

    def render(self, source: str, filename: str = "<rules>") -> str:
        """`FILE:LINE:COL: severity: message`, then the line and a caret under the column."""
        head = f"{filename}:{self.line}:{self.column}: {self.severity}: {self.message}"
        lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if not 1 <= self.line <= len(lines):
            return head
        text = lines[self.line - 1].replace("\t", " ")
        width = max(1, min(self.width, len(text) - self.column + 1))
        return f"{head}\n{text}\n{' ' * (self.column - 1)}^{'~' * (width - 1)}"


class RulesError(Exception):
    """Raised when a rules text has errors; `diagnostics` lists them (errors first)."""

    def __init__(self, diagnostics: list[Diagnostic], source: str | None = None):
        self.diagnostics = list(diagnostics)
        self.source = source
        super().__init__(self._first())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def _first(self) -> str:
        if not self.diagnostics:
            return "the rules have errors"
        first = self.diagnostics[0]
        if self.source is not None:
            return first.render(self.source)
        return f"{first.line}:{first.column}: {first.severity}: {first.message}"

    def __str__(self) -> str:
        return self._first()


def coded_error(code: str, span: Span, **params) -> RulesError:
    """A RulesError with one error of rules.messages' `code`."""
    return RulesError([Diagnostic.coded("error", code, span, **params)])
