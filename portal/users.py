"""The team (owner only): who is in it with which role, invitations by mail, role changes,
deactivation, and whether owners must log in with two-factor."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ledger import queueing, team
from ledger.db import db
from ledger.permissions import ROLES
from portal.auth import require_login
from portal.password import link
from portal.ui import actor, render_page

bp = Blueprint("users", __name__)
bp.before_request(require_login)


def _refusal(exc: team.TeamError) -> str:
    """A refused change in the user's language."""
    return {
        "email": _("This is not an email address."),
        "role": _("Please choose one of the roles."),
        "exists": _(
            "This email address has an account already (in this or another team); nothing was sent."
        ),
        "self": _("You cannot change your own role or deactivate yourself."),
        "last_owner": _(
            "The team needs an active owner: make someone else owner first, then change this user."
        ),
        "not_invited": _("This user is not waiting for an invitation."),
    }.get(exc.reason, str(exc))


def _page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    return render_page(
        "users/list.html",
        "team",
        status=status,
        users=team.members(current_user.merchant_id),
        status_of=team.status,
        roles=ROLES,
        errors=errors or {},
        form=form or {"email": "", "role": "clerk"},
    )


def _member(user_id: int):
    user = team.member(current_user.merchant_id, user_id)
    if user is None:
        abort(404, _("There is no such user in your team."))
    return user


def _done(message: str):
    flash(message, "info")
    return redirect(url_for("users.user_list"))


@bp.get("/users")
def user_list():
    return _page()


@bp.post("/users/invite")
def invite():
    form = {
        "email": request.form.get("email", "").strip()[:254],
        "role": request.form.get("role", ""),
    }
    try:
        _user, message = team.invite(
            current_user.merchant, form["email"], form["role"], actor(), link
        )
    except team.TeamError as exc:
        db.session.rollback()
        field = "role" if exc.reason == "role" else "email"
        return _page({field: _refusal(exc)}, form, 422)
    db.session.commit()
    queueing.deliver_soon(message.id)
    return _done(_("Invitation sent to %(email)s.", email=form["email"].lower()))


def _change(user_id: int, change, notice: str):
    user = _member(user_id)
    try:
        change(user)
    except team.TeamError as exc:
        db.session.rollback()
        return _page({f"user-{user.id}": _refusal(exc)}, status=409)
    db.session.commit()
    return _done(notice % {"email": user.email})


@bp.post("/users/<int:user_id>/role")
def change_role(user_id: int):
    me = current_user._get_current_object()
    role = request.form.get("role", "")
    return _change(
        user_id,
        lambda user: team.change_role(user, role, me),
        _("The role of %(email)s is changed."),
    )


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    me = current_user._get_current_object()
    return _change(
        user_id,
        lambda user: team.deactivate(user, me),
        _("%(email)s is deactivated and logged out."),
    )


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    me = current_user._get_current_object()
    return _change(user_id, lambda user: team.reactivate(user, me), _("%(email)s is active again."))


@bp.post("/users/<int:user_id>/resend")
def resend(user_id: int):
    user = _member(user_id)
    try:
        message = team.resend_invitation(user, actor(), link)
    except team.TeamError as exc:
        db.session.rollback()
        return _page({f"user-{user.id}": _refusal(exc)}, status=409)
    db.session.commit()
    queueing.deliver_soon(message.id)
    return _done(_("A new invitation is on its way to %(email)s.", email=user.email))


@bp.post("/users/two-factor")
def two_factor_rule():
    required = request.form.get("owners_need_totp") == "on"
    team.set_owners_need_totp(current_user.merchant, required, actor())
    db.session.commit()
    if required:
        return _done(_("Owners must now log in with two-factor."))
    return _done(_("Owners may log in without two-factor."))
