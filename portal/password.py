"""The pages behind the links in mails, used logged out: accepting an invitation, asking for a
password reset and setting the new password. Also the words for the password policy's refusals
and the links' absolute URLs, which the team and account pages share."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ledger import accounts, queueing, team
from ledger.db import db
from portal import GENERATION_KEY
from portal.ui import error_page

bp = Blueprint("password", __name__)


def link(purpose: str, token: str) -> str:
    """The link's absolute URL from the configured PORTAL_URL (a request's Host header could be
    forged, and the link would carry the token to someone else's server)."""
    endpoint = "password.invite" if purpose == team.INVITE else "password.reset"
    path = url_for(endpoint, token=token)[len(request.script_root) :]
    return current_app.config["PORTAL_URL"] + path


def password_error(exc: accounts.AccountError) -> str:
    """The policy's refusal in the user's language."""
    reason = getattr(exc, "reason", None)
    if reason == "too_short":
        return _(
            "The password needs at least %(num)d characters.", num=accounts.MIN_PASSWORD_LENGTH
        )
    if reason == "common":
        return _("This is one of the most common passwords; please choose another one.")
    if reason == "email":
        return _("The password must not contain your email address.")
    if reason == "merchant":
        return _("The password must not contain your company's name.")
    return _("This password cannot be used.")


def new_password(form) -> tuple[str, str | None]:
    """The new password typed twice: the password, or an error for the form."""
    password = form.get("password", "")
    if password != form.get("password_again", ""):
        return password, _("The two passwords differ.")
    return password, None


def _gone(state: str):
    if state == "unknown":
        return error_page(
            404, _("Link not found"), _("This link is not valid. Please check the address.")
        )
    return error_page(
        410,
        _("Link no longer valid"),
        _("This link was used already or has expired; nothing was changed. Ask for a new one."),
    )


def _log_in(user) -> None:
    logout_user()
    login_user(user)
    session[GENERATION_KEY] = user.session_generation


def _set_password(apply) -> str | None:
    """A POSTed new password (twice, by the policy) handed to `apply` and committed: the error
    to show under the field, or None (also for a GET, which sets nothing)."""
    if request.method != "POST":
        return None
    password, error = new_password(request.form)
    if error is not None:
        return error
    try:
        apply(password)
    except accounts.AccountError as exc:
        db.session.rollback()
        return password_error(exc)
    db.session.commit()
    return None


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    row, state = team.find_token(token, team.INVITE)
    if state != "ok":
        return _gone(state)
    user = row.user
    error = _set_password(lambda password: team.accept_invitation(row, password))
    if request.method == "POST" and error is None:
        _log_in(user)
        return redirect(url_for("dashboard.page"))
    page = render_template("auth/invite.html", user=user, token=token, error=error)
    return page, 422 if error else 200


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot():
    if request.method == "GET":
        return render_template("auth/forgot.html", sent=False, email="")
    email = request.form.get("email", "").strip()[:254]
    if not email:
        page = render_template(
            "auth/forgot.html", sent=False, email="", error=_("Please enter your email address.")
        )
        return page, 422
    result = team.request_reset(email, request.remote_addr, link)
    db.session.commit()
    if result is False:
        error = _("Too many requests from your network; please try again in 15 minutes.")
        return render_template("auth/forgot.html", sent=False, email=email, error=error), 429
    if result is not None:
        queueing.deliver_soon(result.id)
    # The same answer whether or not there is such an account.
    return render_template("auth/forgot.html", sent=True, email=email)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    row, state = team.find_token(token, team.RESET)
    if state != "ok":
        return _gone(state)
    error = _set_password(lambda password: team.reset_password(row, password))
    if request.method == "POST" and error is None:
        logout_user()
        session.pop(GENERATION_KEY, None)
        flash(_("Your new password is set. Please log in with it."), "info")
        return redirect(url_for("auth.login"))
    page = render_template("auth/reset.html", user=row.user, token=token, error=error)
    return page, 422 if error else 200
