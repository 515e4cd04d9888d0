"""The portal: login, CSRF, htmx, and the blueprints. Views are thin: request → ledger → render."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from ledger.db import db
from ledger.models import User

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def init_portal(app: Flask) -> None:
    from portal import api, auth, orders, outbox, rules_page, runs, ui

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    htmx.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(api.bp)
    for module in (auth, orders, rules_page, outbox, runs):
        app.register_blueprint(module.bp)
    ui.register(app)
