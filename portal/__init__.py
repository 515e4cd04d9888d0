"""The portal: login, CSRF, htmx, and the blueprints. Views are thin: request → ledger → render."""

from __future__ import annotations

from flask import Flask, session
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from ledger.db import db
from ledger.models import User

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
# The user's session generation at login; a session whose generation is behind is over.
GENERATION_KEY = "session_generation"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or session.get(GENERATION_KEY) != user.session_generation:
        return None  # logged out or password changed since: the login page again
    if not user.active:
        return None  # deactivated (which ends the sessions too)
    return user


def init_portal(app: Flask) -> None:
    from portal import (
        access,
        account,
        api,
        api_docs,
        audit_details,
        audit_page,
        auth,
        bank,
        bulk,
        collection,
        customer,
        dashboard,
        i18n,
        letters,
        messages,
        order_edits,
        orders,
        outbox,
        password,
        reasons,
        refunds,
        rules_page,
        runs,
        security,
        settings,
        shop_sync,
        static_files,
        ui,
        users,
    )

    # Ahead of the CSRF check, which reads the form: the statement upload's own size limit.
    app.before_request(bank.limit_upload)
    app.before_request(settings.limit_upload)
    customer.register(app)  # the customer page (no login; its upload limit) and claims' proofs
    static_files.register(app)  # versioned URLs, cached for a year

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    htmx.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(api.bp)
    app.register_blueprint(api_docs.bp)  # GET /api/docs, the API contract for people
    for module in (
        auth,
        dashboard,
        orders,
        bulk,
        letters,
        messages,
        rules_page,
        outbox,
        runs,
        bank,
        refunds,
        collection,
        order_edits,
        shop_sync,
        audit_page,
        settings,
        users,
        account,
        password,
    ):
        app.register_blueprint(module.bp)
    i18n.register(app)
    ui.register(app)
    reasons.register(app)
    audit_details.register(app)
    access.register(app)
    security.register(app)
