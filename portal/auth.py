"""Logging in and out of the portal, and the login check every other page uses."""

from __future__ import annotations

from math import ceil
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from ledger import accounts, audit, throttle
from ledger.db import db
from ledger.models import utcnow
from portal import GENERATION_KEY, login_manager
from portal.i18n import LANGUAGES, day

bp = Blueprint("auth", __name__)


def require_login():
    """`before_request` hook for the page blueprints: every page needs a logged-in user."""
    if current_user.is_authenticated:
        return None
    if request.htmx:
        # A fragment would land inside the page; send the whole browser to the login page.
        response = login_manager.unauthorized()
        response.status_code = 401
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    return login_manager.unauthorized()


@bp.post("/account/language")
def language():
    """The user's own choice of the portal's language (any role may make it)."""
    if not current_user.is_authenticated:
        return require_login()
    chosen = request.form.get("language", "")
    if chosen in LANGUAGES:
        current_user.language = chosen
        audit.record(
            current_user.merchant_id, f"user:{current_user.email}", "user.language", None,
            language=chosen,
        )  # fmt: skip
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("orders.order_list"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the login page cannot be used to send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _lockout_message(lock: throttle.Lock) -> str:
    minutes = max(ceil((lock.until - utcnow()).total_seconds() / 60), 1)
    return ngettext(
        "Too many failed logins. Logging in is blocked until %(time)s (in %(num)d minute); "
        "please try again then.",
        "Too many failed logins. Logging in is blocked until %(time)s (in %(num)d minutes); "
        "please try again then.",
        minutes,
        time=day(lock.until),
    )


def _locked(lock: throttle.Lock, email: str, next_url: str | None):
    text = _lockout_message(lock)
    page = render_template("auth/login.html", error=text, email=email, next=next_url)
    seconds = max(ceil((lock.until - utcnow()).total_seconds()), 1)
    return page, 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("orders.order_list"))
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not email or not password:
            error = _("Please enter your email address and your password.")
            status = 401
        else:
            address = request.remote_addr
            # Refused while locked, else counted before the (slow) password check, so that
            # parallel guesses cannot get past the limit (ledger/throttle.py has the policy).
            lock = throttle.begin_attempt(email, address)
            db.session.commit()
            if lock is not None:
                throttle.refused(lock, email, address)
                return _locked(lock, email, next_url)
            # An address with control characters cannot be an account (nor go to the database).
            user = accounts.authenticate(email if email.isprintable() else "", password)
            if user is None:
                db.session.rollback()
                lock = throttle.record_failure(email, address)
                db.session.commit()
                throttle.prune()
                db.session.commit()
                if lock is not None:
                    return _locked(lock, email, next_url)
                error = _("Wrong email address or password.")
                status = 401
            else:
                throttle.record_success(email, address)
                db.session.commit()  # last_login_at, and a password hash upgrade if any
                login_user(user)
                # Checked on every request: logout and a password change end this session.
                session[GENERATION_KEY] = user.session_generation
                return redirect(next_url or url_for("orders.order_list"))
    return render_template("auth/login.html", error=error, email=email, next=next_url), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every copy of this session's cookie (and the user's other sessions) stops working.
        accounts.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.pop(GENERATION_KEY, None)
    return redirect(url_for("auth.login"))
