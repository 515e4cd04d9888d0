"""The merchant's settings (owner only): company and letterhead, mail, bank accounts, payment
terms, matching, webhook, shop, API tokens, time zone, run hour, interest."""

from __future__ import annotations

from flask import Blueprint

from portal.auth import require_login

bp = Blueprint("settings", __name__)
bp.before_request(require_login)


@bp.get("/settings")
def page():
    return "settings: to be built"
