"""The rules page: the active rules, and an editor that checks a new text before activating it."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user
from sqlalchemy import select

import rules
from ledger import rulesets
from ledger.db import db
from ledger.models import RulesetVersion
from portal.auth import require_login
from portal.ui import merchant, render_page

bp = Blueprint("rules_page", __name__)
bp.before_request(require_login)

MAX_TEXT = 100_000
MAX_COMMENT = 500
HISTORY = 20


def _versions() -> list[RulesetVersion]:
    return list(
        db.session.scalars(
            select(RulesetVersion)
            .where(RulesetVersion.merchant_id == current_user.merchant_id)
            .order_by(RulesetVersion.number.desc())
            .limit(HISTORY)
        )
    )


def _problem(message: str, line: int = 0, column: int = 0, severity: str = "error") -> dict:
    return {
        "severity": severity,
        "message": message,
        "line": line,
        "column": column,
        "width": 1,
        "source": None,
    }


def _shown(diagnostic, lines: list[str]) -> dict:
    """A diagnostic with the line it points at and the caret's place and width."""
    line = getattr(diagnostic, "line", 0) or 0
    column = max(getattr(diagnostic, "column", 1) or 1, 1)
    end_line = getattr(diagnostic, "end_line", line) or line
    end_column = getattr(diagnostic, "end_column", column + 1) or column + 1
    source = lines[line - 1].replace("\t", " ") if 1 <= line <= len(lines) else None
    width = 1
    if end_line == line and end_column > column:
        width = end_column - column
    if source is not None:
        column = min(column, len(source) + 1)
        width = max(min(width, len(source) - column + 1), 1)
    return {
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "line": line,
        "column": column,
        "width": width,
        "source": source,
    }


def _context(text: str, comment: str = "", **extra) -> dict:
    lines = text.split("\n")
    diagnostics = extra.pop("diagnostics", [])
    context = {
        "active": rulesets.active_version(current_user.merchant_id),
        "versions": _versions(),
        "text": text,
        "comment": comment,
        "lines": lines,
        "diagnostics": diagnostics,
        "error_lines": {d["line"] for d in diagnostics if d["severity"] == "error"},
        "warning_lines": {d["line"] for d in diagnostics if d["severity"] == "warning"},
        "saved": None,
    }
    context.update(extra)
    return context


@bp.get("/rules")
def page():
    active = rulesets.active_version(current_user.merchant_id)
    return render_page("rules/page.html", "editor", **_context(active.text if active else ""))


@bp.post("/rules")
def save():
    # Browsers send a textarea's line breaks as CRLF; the rules are kept with plain LF.
    text = request.form.get("text", "").replace("\r\n", "\n").replace("\r", "\n")
    comment = request.form.get("comment", "").strip()
    lines = text.split("\n")
    problems = []
    if not text.strip():
        problems.append(_problem("The rules are empty. Write at least one rule line."))
    elif len(text) > MAX_TEXT:
        problems.append(_problem(f"The rules are too long (at most {MAX_TEXT} characters)."))
    if len(comment) > MAX_COMMENT:
        problems.append(_problem(f"The comment must be at most {MAX_COMMENT} characters."))
    diagnostics = []
    if not problems:
        context = rulesets.check_context(merchant())
        try:
            found = rules.check_text(text, context)
        except Exception:
            # The checker promises never to raise; if it does, keep the user's text anyway.
            current_app.logger.exception("rules.check_text raised")
            message = "The rules could not be checked (an internal error); nothing was saved."
            return render_page(
                "rules/page.html",
                "editor",
                status=500,
                **_context(text, comment, diagnostics=[_problem(message)]),
            )
        diagnostics = [_shown(d, lines) for d in found]
        problems = [d for d in diagnostics if d["severity"] == "error"]
    if not problems:
        try:
            version = rulesets.save_and_activate(
                merchant(), text, current_user.email, comment or None
            )
        except rules.RulesError as exc:
            # Errors that need the merchant's settings (e.g. an unknown webhook name).
            db.session.rollback()
            diagnostics = [_shown(d, lines) for d in exc.diagnostics]
            problems = [d for d in diagnostics if d["severity"] == "error"] or [_problem(str(exc))]
        else:
            db.session.commit()
            warnings = [d for d in diagnostics if d["severity"] == "warning"]
            return render_page(
                "rules/page.html",
                "editor",
                **_context(text, "", diagnostics=warnings, saved=version),
            )
    db.session.rollback()
    shown = diagnostics if any(d["severity"] == "error" for d in diagnostics) else problems
    return render_page(
        "rules/page.html", "editor", status=422, **_context(text, comment, diagnostics=shown)
    )
