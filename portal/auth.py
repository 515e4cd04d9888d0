"""Logging in and out of the portal, and the login check every other page uses."""

from __future__ import annotations

import time
from math import ceil
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from ledger import accounts, audit, throttle, two_factor
from ledger.db import db
from ledger.models import User, utcnow
from portal import GENERATION_KEY, login_manager
from portal.i18n import LANGUAGES, day

bp = Blueprint("auth", __name__)
# After the right password, a user with two-factor login has this long to enter the code.
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300


def landing_page() -> str:
    """Where a login ends when no page was asked for."""
    return url_for("dashboard.page")


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
    return redirect(_safe_next(request.form.get("next")) or landing_page())


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


def lockout_message(lock: throttle.Lock) -> str:
    minutes = max(ceil((lock.until - utcnow()).total_seconds() / 60), 1)
    return ngettext(
        "Too many failed logins. Logging in is blocked until %(time)s (in %(num)d minute); "
        "please try again then.",
        "Too many failed logins. Logging in is blocked until %(time)s (in %(num)d minutes); "
        "please try again then.",
        minutes,
        time=day(lock.until),
    )


def _locked(lock: throttle.Lock, email: str, next_url: str | None, template="auth/login.html"):
    text = lockout_message(lock)
    page = render_template(template, error=text, email=email, next=next_url)
    seconds = max(ceil((lock.until - utcnow()).total_seconds()), 1)
    return page, 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or landing_page())
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
            elif two_factor.enabled(user):
                # Not logged in yet: the code comes first. The attempt stays counted until the
                # code is right, so guessing codes runs into the same lock as guessing passwords.
                db.session.rollback()  # last_login_at waits for the code too
                session[PENDING_KEY] = {
                    "user": user.id,
                    "generation": user.session_generation,
                    "until": time.time() + PENDING_SECONDS,
                    "next": next_url,
                }
                return redirect(url_for("auth.two_factor"))
            else:
                throttle.record_success(email, address)
                db.session.commit()  # last_login_at, and a password hash upgrade if any
                return _logged_in(user, next_url)
    return render_template("auth/login.html", error=error, email=email, next=next_url), status


def _logged_in(user: User, next_url: str | None):
    login_user(user)
    # Checked on every request: logout and a password change end this session.
    session[GENERATION_KEY] = user.session_generation
    if two_factor.must_enrol(user):
        return redirect(url_for("account.two_factor"))
    return redirect(next_url or landing_page())


def _pending_user() -> tuple[User | None, dict]:
    """The user whose password was right a moment ago, while the code is awaited."""
    pending = session.get(PENDING_KEY) or {}
    if not pending or pending.get("until", 0) < time.time():
        return None, pending
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.active or user.session_generation != pending.get("generation"):
        return None, pending
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"], endpoint="two_factor")
def code_step():
    """The second step of a login with two-factor: the 6-digit code of the user's app."""
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        if pending:
            flash(_("The time for the code ran out. Please log in again."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/two_factor.html", error=None)
    address = request.remote_addr
    lock = throttle.begin_attempt(user.email, address)
    db.session.commit()
    if lock is not None:
        throttle.refused(lock, user.email, address)
        return _locked(lock, user.email, None, "auth/two_factor.html")
    if not two_factor.verify(user, request.form.get("code", "")):
        db.session.rollback()
        lock = throttle.record_failure(user.email, address)
        db.session.commit()
        if lock is not None:
            session.pop(PENDING_KEY, None)
            return _locked(lock, user.email, None, "auth/two_factor.html")
        page = render_template(
            "auth/two_factor.html", error=_("Wrong code. Please enter the current code.")
        )
        return page, 401
    session.pop(PENDING_KEY, None)
    throttle.record_success(user.email, address, attempts=2)  # the password's and the code's
    user.last_login_at = utcnow()
    db.session.commit()  # the code's time step, so it counts once
    return _logged_in(user, _safe_next(pending.get("next")))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every copy of this session's cookie (and the user's other sessions) stops working.
        accounts.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    session.pop(GENERATION_KEY, None)
    return redirect(url_for("auth.login"))
