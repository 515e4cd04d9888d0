"""The team: invite by email, change roles, deactivate (owner only)."""

from __future__ import annotations

from flask import Blueprint

from portal.auth import require_login

bp = Blueprint("users", __name__)
bp.before_request(require_login)


@bp.get("/users")
def user_list():
    return "users: to be built"
