"""One's own account (any role): the password, the language, two-factor login. Also the rule
that an owner whose merchant asks for two-factor login reaches nothing else until enrolled."""

from __future__ import annotations

import segno
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ledger import accounts, team, throttle, two_factor
from ledger.db import db
from portal import GENERATION_KEY
from portal.access import is_public
from portal.auth import lockout_message, require_login
from portal.password import new_password, password_error
from portal.ui import render_page

bp = Blueprint("account", __name__)
bp.before_request(require_login)

# What an owner who must enrol may still reach (besides the public pages).
ENROLMENT_ENDPOINTS = {
    "account.two_factor",
    "account.start_two_factor",
    "account.confirm_two_factor",
    "auth.language",
}


@bp.before_app_request
def _enrolment_first():
    """Owners must use two-factor login (Merchant.owners_need_totp): until they enrolled,
    every page sends them to the enrolment."""
    endpoint = request.endpoint
    if endpoint is None or is_public(endpoint) or endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not current_user.is_authenticated or not two_factor.must_enrol(current_user):
        return None
    target = url_for("account.two_factor")
    if request.htmx:
        response = redirect(target)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _user():
    return current_user._get_current_object()


def _page(errors: dict | None = None, status: int = 200):
    return render_page(
        "account/page.html", "content", status=status, errors=errors or {}, user=_user()
    )


def _locked_out(user, field: str):
    """A password checked for someone logged in counts against the login lock like a login's
    (a stolen session must not be a way to guess the password): the refusal while locked, else
    None, with the attempt counted (`_checked` settles it)."""
    lock = throttle.begin_attempt(user.email, request.remote_addr)
    db.session.commit()
    if lock is None:
        return None
    throttle.refused(lock, user.email, request.remote_addr)
    db.session.commit()
    return _page({field: lockout_message(lock)}, 429)


def _checked(user, right: bool) -> None:
    """After the password check: a wrong one may lock the account, a right one is forgotten."""
    if right:
        throttle.record_success(user.email, request.remote_addr)
    else:
        throttle.record_failure(user.email, request.remote_addr)
    db.session.commit()


@bp.get("/account")
def page():
    return _page()


@bp.post("/account/password")
def change_password():
    user = _user()
    password, error = new_password(request.form)
    if error:
        return _page({"password": error}, 422)
    if locked := _locked_out(user, "current_password"):
        return locked
    try:
        team.change_password(user, request.form.get("current_password", ""), password)
    except accounts.PasswordRefused as exc:
        db.session.rollback()
        _checked(user, True)  # the current password was right (it is checked first)
        return _page({"password": password_error(exc)}, 422)
    except accounts.AccountError:
        db.session.rollback()
        _checked(user, False)
        return _page({"current_password": _("The current password is wrong.")}, 422)
    throttle.record_success(user.email, request.remote_addr)
    db.session.commit()
    session[GENERATION_KEY] = user.session_generation  # this session goes on, the others end
    flash(_("Your password is changed. Your other logins have ended."), "info")
    return redirect(url_for("account.page"))


def _qr_code(uri: str) -> Markup:
    """The provisioning URI as an inline SVG (segno writes no style attributes: the CSP holds)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your app"))
    return Markup(svg)  # noqa: S704 - segno's own markup of our own URI


def _enrolment(error: str | None = None, status: int = 200):
    user = _user()
    context = {"user": user, "error": error, "qr": None, "secret": None}
    if user.totp_secret and not two_factor.enabled(user):
        context["qr"] = _qr_code(two_factor.provisioning_uri(user))
        context["secret"] = user.totp_secret
    context["required"] = two_factor.must_enrol(user)
    return render_page("account/two_factor.html", "content", status=status, **context)


@bp.get("/account/two-factor", endpoint="two_factor")
def enrolment_page():
    """Where the enrolment rule and the login send owners who must enrol."""
    return _enrolment()


@bp.post("/account/two-factor/start")
def start_two_factor():
    try:
        two_factor.start(_user())
    except two_factor.TwoFactorError:
        return redirect(url_for("account.page"))
    db.session.commit()
    return redirect(url_for("account.two_factor"))


@bp.post("/account/two-factor/confirm")
def confirm_two_factor():
    user = _user()
    try:
        two_factor.confirm(user, request.form.get("code", ""))
    except two_factor.TwoFactorError as exc:
        db.session.rollback()
        if exc.reason != "code":
            return redirect(url_for("account.page"))
        return _enrolment(_("Wrong code. Please enter the code your app shows now."), 422)
    db.session.commit()
    session[GENERATION_KEY] = user.session_generation  # this session goes on, the others end
    flash(_("Two-factor login is on. From now on, logging in asks for a code."), "info")
    return redirect(url_for("account.page"))


@bp.post("/account/two-factor/disable")
def disable_two_factor():
    user = _user()
    if locked := _locked_out(user, "disable_password"):
        return locked
    try:
        two_factor.disable(user, request.form.get("password", ""), request.form.get("code", ""))
    except two_factor.TwoFactorError as exc:
        db.session.rollback()
        _checked(user, exc.reason not in ("password", "code"))
        errors = {
            "password": {"disable_password": _("The password is wrong.")},
            "code": {"disable_code": _("Wrong code. Please enter the code your app shows now.")},
        }.get(exc.reason, {})
        return _page(errors, 422 if errors else 409)
    throttle.record_success(user.email, request.remote_addr)
    db.session.commit()
    flash(_("Two-factor login is off."), "info")
    if two_factor.must_enrol(user):
        return redirect(url_for("account.two_factor"))
    return redirect(url_for("account.page"))
