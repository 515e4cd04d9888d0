"""The rules editor: live checking, a dry run against the real orders, versions, diff and
activation. Views stay thin: ledger.rulesets and ledger.preview do the work."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user

import rules
from ledger import orders, preview, rulesets
from ledger.clock import today_for
from ledger.db import db
from ledger.models import RulesetVersion
from portal import rules_text
from portal.auth import require_login
from portal.ui import merchant, partial_request, render_page
from rules.highlight import highlight
from rules.templates import TEMPLATES, template

bp = Blueprint("rules_page", __name__)
bp.before_request(require_login)

MAX_TEXT = rulesets.MAX_TEXT
MAX_COMMENT = 500
SHOWN_ORDERS = 12  # order numbers listed per cell of the preview; the rest are counted


# --- helpers -------------------------------------------------------------------------------


def _text() -> str:
    """The posted rules text with the browser's CRLF line breaks made plain LF."""
    return request.form.get("text", "").replace("\r\n", "\n").replace("\r", "\n")


def _own_version(number: int) -> RulesetVersion:
    version = rulesets.find_version(current_user.merchant_id, number)
    if version is None:
        abort(404, _("There is no version %(number)s.", number=number))
    return version


def listing(text: str) -> dict:
    """The text as numbered, coloured lines, each with the findings that point at it."""
    found = rulesets.diagnostics(merchant(), text) if text.strip() else []
    by_line: dict[int, list] = {}
    lines = text.split("\n")
    for d in found:
        line = min(max(d.line, 1), len(lines))
        column = min(max(d.column, 1), len(lines[line - 1]) + 1)
        by_line.setdefault(line, []).append(
            {
                "severity": d.severity,
                "message": rules_text.message(d),
                "column": column,
                "width": d.width,
            }
        )
    errors = sum(d.severity == "error" for d in found)
    return {
        "rows": list(enumerate(highlight(text), start=1)),
        "findings": by_line,
        "errors": errors,
        "warnings": len(found) - errors,
        "empty": not text.strip(),
    }


def _editor_context(text: str, **extra) -> dict:
    latest = rulesets.latest_version(current_user.merchant_id)
    context = {
        "active": rulesets.active_version(current_user.merchant_id),
        "versions": rulesets.versions(current_user.merchant_id, 20),
        "text": text,
        "comment": "",
        "base": latest.number if latest else 0,
        "check": listing(text),
        "templates": TEMPLATES,
        "template_texts": rules_text.TEMPLATE_TEXTS,
        "conflict": None,
        "problem": None,
    }
    context.update(extra)
    return context


# --- the editor ----------------------------------------------------------------------------


@bp.get("/rules")
def page():
    active = rulesets.active_version(current_user.merchant_id)
    text = active.text if active else ""
    if request.args.get("template"):
        chosen = template(request.args["template"])
        if chosen is None:
            abort(404, _("There is no such template."))
        text = chosen.text
    elif request.args.get("from", "").isdigit():
        text = _own_version(int(request.args["from"])).text
    return render_page("rules/page.html", "editor", **_editor_context(text))


def _plain_request_editor():
    """A fragment URL asked without htmx (a bookmark, no JavaScript): the whole editor page
    with the text the form sent, instead of a lone fragment."""
    if partial_request():
        return None
    return render_page("rules/page.html", "editor", **_editor_context(_text()))


@bp.post("/rules/check")
def check():
    """The live check: called while the merchant types (debounced)."""
    if (page := _plain_request_editor()) is not None:
        return page
    text = _text()
    if len(text) > MAX_TEXT:
        check = listing("") | {"too_long": format_number(MAX_TEXT)}
        return render_page("rules/page.html", "check", status=413, check=check)
    return render_page("rules/page.html", "check", check=listing(text))


@bp.post("/rules")
def save():
    text, comment = _text(), request.form.get("comment", "").strip()
    problem = None
    if not text.strip():
        problem = _("The rules are empty. Write at least one rule line, or start from a template.")
    elif len(text) > MAX_TEXT:
        problem = _(
            "The rules are too long (at most %(limit)s characters).", limit=format_number(MAX_TEXT)
        )
    elif len(comment) > MAX_COMMENT:
        problem = _(
            "The comment must be at most %(limit)s characters.", limit=format_number(MAX_COMMENT)
        )
    if problem:
        context = _editor_context(text, comment=comment, problem=problem)
        return render_page("rules/page.html", "editor", status=422, **context)
    try:
        base = int(request.form.get("base", "0"))
    except ValueError:
        base = -1  # an unreadable base can only be a conflict
    try:
        version = rulesets.save_version(
            merchant(), text, current_user.email, comment or None, base, check_base=True
        )
    except rulesets.VersionConflict as conflict:
        db.session.rollback()
        latest = conflict.latest
        old = rulesets.find_version(current_user.merchant_id, base) if base > 0 else None
        context = _editor_context(
            text,
            comment=comment,
            conflict={
                "latest": latest,
                "base": base,
                "diff": rulesets.line_diff(old.text if old else "", latest.text),
                "mine": rulesets.line_diff(latest.text, text),
            },
        )
        return render_page("rules/page.html", "editor", status=409, **context)
    db.session.commit()
    return redirect(url_for("rules_page.version_page", number=version.number, saved=1), 303)


# --- the dry run ---------------------------------------------------------------------------


def _refused(exc: rules.RulesError, block: str):
    refused = rules_text.translated(exc.errors)
    return render_page("rules/page.html", block, status=422, refused=refused, comparison=None)


@bp.post("/rules/preview")
def preview_today():
    if (page := _plain_request_editor()) is not None:
        return page
    today = today_for(merchant())
    try:
        comparison = preview.compare(merchant(), _text(), today)
    except rules.RulesError as exc:
        return _refused(exc, "preview")
    return render_page(
        "rules/page.html", "preview", comparison=comparison, refused=None, shown=SHOWN_ORDERS
    )


@bp.post("/rules/forecast")
def forecast():
    if (page := _plain_request_editor()) is not None:
        return page
    today = today_for(merchant())
    try:
        result = preview.forecast(merchant(), _text(), today)
    except rules.RulesError as exc:
        return _refused(exc, "forecast")
    return render_page("rules/page.html", "forecast", forecast=result, refused=None)


@bp.post("/rules/preview/orders/<path:number>")
def order_timeline(number: str):
    if (page := _plain_request_editor()) is not None:
        return page
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    try:
        result = preview.timeline(order, _text(), today_for(merchant()))
    except rules.RulesError as exc:
        return _refused(exc, "timeline")
    return render_page("rules/page.html", "timeline", timeline=result, refused=None)


# --- versions ------------------------------------------------------------------------------


def _version_context(version: RulesetVersion, **extra) -> dict:
    own = current_user.merchant_id
    against_number = request.args.get("against", "")
    if against_number.isdigit():
        against = _own_version(int(against_number))
    else:
        against = rulesets.find_version(own, version.based_on or version.number - 1)
    check = listing(version.text)
    context = {
        "version": version,
        "active": rulesets.active_version(own),
        "versions": rulesets.versions(own, 50),
        "check": check,
        "against": against,
        "diff": rulesets.line_diff(against.text, version.text) if against else None,
        "saved": request.args.get("saved") == "1",
        "refused": None,
    }
    context.update(extra)
    return context


@bp.get("/rules/versions/<int:number>")
def version_page(number: int):
    version = _own_version(number)
    return render_page("rules/version.html", "content", **_version_context(version))


@bp.get("/rules/versions/<int:number>/progress")
def progress(number: int):
    if not partial_request():
        return redirect(url_for("rules_page.version_page", number=number), 303)
    version = _own_version(number)
    return render_page("rules/version.html", "progress", version=version)


@bp.get("/rules/versions/<int:number>/activate")
def confirm_activation(number: int):
    """Shows once more what activating this version changes today, before it is done."""
    version = _own_version(number)
    return _confirmation(version)


def _confirmation(version: RulesetVersion, status: int = 200, refused=None):
    comparison = None
    check = listing(version.text)
    if not check["errors"]:
        comparison = preview.compare(merchant(), version.text, today_for(merchant()))
    return render_page(
        "rules/activate.html",
        "content",
        status=status,
        version=version,
        active=rulesets.active_version(current_user.merchant_id),
        check=check,
        comparison=comparison,
        shown=SHOWN_ORDERS,
        refused=refused,
    )


@bp.post("/rules/versions/<int:number>/activate")
def activate(number: int):
    version = _own_version(number)
    if version.active:
        return redirect(url_for("rules_page.version_page", number=number), 303)
    try:
        rulesets.activate(merchant(), version, current_user.email, recompute=False)
    except rules.RulesError as exc:
        db.session.rollback()
        return _confirmation(version, status=422, refused=rules_text.translated(exc.errors))
    db.session.commit()
    current_app.extensions["job_queue"].enqueue("worker.jobs.recompute_next_due", version.id)
    return redirect(url_for("rules_page.version_page", number=number), 303)
