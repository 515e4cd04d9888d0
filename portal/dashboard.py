"""The dashboard, the first page after login: the book today and over time."""

from __future__ import annotations

from flask import Blueprint

from portal.auth import require_login

bp = Blueprint("dashboard", __name__)
bp.before_request(require_login)


@bp.get("/dashboard")
def page():
    return "dashboard: to be built"
