"""A merchant's team: invitations, roles, deactivation, and one-time links by mail (invitation
and password reset).

A link's token is shown once (in the mail) and kept only as its SHA-256. An invitation lasts
7 days, a reset 1 hour; using one, or issuing a newer one of the same purpose, ends it. The mail
goes through the outbox like every other message; it carries its link in the payload, so that
the outbox page never shows it and delivery strikes it from the stored body
(ledger.outbox.mark_sent).

Rules that hold here, whoever calls: nobody changes their own role or deactivates themselves,
and a merchant always keeps one active owner.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import func, select, update

from ledger import accounts, audit, outbox, throttle
from ledger.db import db
from ledger.models import Merchant, OutboxMessage, User, UserToken, utcnow
from ledger.permissions import ROLES, Role

INVITE = "invite"
RESET = "reset"
LIFETIME = {INVITE: timedelta(days=7), RESET: timedelta(hours=1)}
MAIL_PURPOSE = {INVITE: "invitation", RESET: "password_reset"}
RESETS_PER_HOUR = 3  # mails to one account; more requests are answered alike and send nothing
RESETS_PER_ADDRESS = 10  # requests from one client address per 15 minutes (throttle.WINDOW)
MAIL_LANGUAGES = ("de", "en", "fr", "it")  # as the digest: the merchant's team reads these

# Builds the absolute URL of a link from its token (the portal knows its routes and base URL).
LinkMaker = Callable[[str, str], str]  # (purpose, token) -> URL


class TeamError(ValueError):
    """A refused change; `reason` names the rule (the portal words it), the text is English."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def status(user: User) -> str:
    """active, invited (no password yet) or deactivated."""
    if not user.active:
        return "deactivated"
    if user.invited_at is not None:
        return "invited"
    return "active"


def members(merchant_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.merchant_id == merchant_id).order_by(func.lower(User.email))
        )
    )


def member(merchant_id: int, user_id: int) -> User | None:
    """A user of this merchant (another merchant's user is nobody here)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.merchant_id == merchant_id else None


# --- invitations -------------------------------------------------------------------------


def invite(
    merchant: Merchant, email: str, role: str, actor: str, link: LinkMaker
) -> tuple[User, OutboxMessage]:
    """A new user without a password, and the mail with the link that sets it. The caller
    commits and then hands the message to the worker."""
    email = email.strip().lower()
    if not accounts.valid_email(email):
        raise TeamError("email", f"not an email address: {email!r}")
    if role not in ROLES:
        raise TeamError("role", f"unknown role {role!r}")
    if accounts.find_user(email) is not None:
        raise TeamError("exists", f"user {email!r} exists already")
    user = User(
        email=email,
        merchant=merchant,
        role=role,
        password_hash=accounts.UNUSABLE_PASSWORD,
        invited_at=utcnow(),
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    message = _send_link(user, INVITE, link, actor)
    audit.record(merchant.id, actor, "user.invited", email=email, role=role)
    return user, message


def resend_invitation(user: User, actor: str, link: LinkMaker) -> OutboxMessage:
    """A fresh link for an invitation still open (the old link stops working)."""
    if status(user) != "invited":
        raise TeamError("not_invited", f"{user.email} is not waiting for an invitation")
    user.invited_at = utcnow()
    message = _send_link(user, INVITE, link, actor)
    audit.record(user.merchant_id, actor, "user.invitation_resent", email=user.email)
    return message


def accept_invitation(token: UserToken, password: str) -> User:
    """The invitee sets a password (policy applies): the user is active, the link used."""
    user = token.user
    accounts.set_password(user, password)
    user.invited_at = None
    token.used_at = utcnow()
    audit.record(user.merchant_id, f"user:{user.email}", "user.joined", role=user.role)
    return user


# --- roles and deactivation --------------------------------------------------------------


def _active_owners(merchant_id: int) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.merchant_id == merchant_id,
            User.role == Role.OWNER,
            User.active.is_(True),
            User.invited_at.is_(None),
        )
    )


def _is_last_owner(user: User) -> bool:
    return (
        status(user) == "active"
        and user.role == Role.OWNER
        and _active_owners(user.merchant_id) <= 1
    )


def change_role(user: User, role: str, by: User) -> None:
    if role not in ROLES:
        raise TeamError("role", f"unknown role {role!r}")
    if user.id == by.id:
        raise TeamError("self", "nobody changes their own role")
    if role == user.role:
        return
    if role != Role.OWNER and _is_last_owner(user):
        raise TeamError("last_owner", "the last active owner keeps the owner role")
    audit.record(
        user.merchant_id, f"user:{by.email}", "user.role_changed",
        email=user.email, old_role=user.role, new_role=role,
    )  # fmt: skip
    user.role = role


def deactivate(user: User, by: User) -> None:
    """The user cannot log in any more: their sessions and open links end at once."""
    if user.id == by.id:
        raise TeamError("self", "nobody deactivates themselves")
    if not user.active:
        return
    if _is_last_owner(user):
        raise TeamError("last_owner", "the last active owner cannot be deactivated")
    user.active = False
    accounts.end_sessions(user)
    _end_tokens(user)
    audit.record(user.merchant_id, f"user:{by.email}", "user.deactivated", email=user.email)


def reactivate(user: User, by: User) -> None:
    """Back in the team (an invitation that was open needs a new link: resend)."""
    if user.active:
        return
    user.active = True
    audit.record(user.merchant_id, f"user:{by.email}", "user.reactivated", email=user.email)


def set_owners_need_totp(merchant: Merchant, required: bool, actor: str) -> None:
    if bool(merchant.owners_need_totp) == required:
        return
    merchant.owners_need_totp = required
    audit.record(merchant.id, actor, "settings.owners_need_totp", required=required)


# --- password reset ----------------------------------------------------------------------


def request_reset(email: str, address: str | None, link: LinkMaker) -> OutboxMessage | None | bool:
    """A reset link by mail, if the address belongs to an active user and the limits allow.
    Returns the message, None when nothing is sent (no such user, deactivated, invited, or
    its hourly limit reached: the page answers the same), or False when the client address
    is over its limit (the page says so: that reveals nothing about accounts). The caller
    commits."""
    if not throttle.allow_request(f"reset:{throttle.address_key(address)}", RESETS_PER_ADDRESS):
        return False
    user = accounts.find_user(email) if email.isprintable() else None
    if user is None or status(user) != "active":
        return None
    recent = db.session.scalar(
        select(func.count(UserToken.id)).where(
            UserToken.user_id == user.id,
            UserToken.purpose == RESET,
            UserToken.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if recent >= RESETS_PER_HOUR:
        return None
    message = _send_link(user, RESET, link, f"login:{address or 'unknown'}")
    audit.record(user.merchant_id, f"login:{address or 'unknown'}", "user.reset_requested",
                 email=user.email)  # fmt: skip
    return message


def reset_password(token: UserToken, password: str) -> User:
    """The new password (policy applies); every session of the user ends, the link is used."""
    user = token.user
    accounts.set_password(user, password)
    token.used_at = utcnow()
    _end_tokens(user, RESET)
    audit.record(user.merchant_id, f"user:{user.email}", "user.password_reset")
    return user


def change_password(user: User, current: str, new: str) -> None:
    """From the account page: the current password first. Raises AccountError."""
    if not accounts.verify_password(user, current):
        raise accounts.AccountError("the current password is wrong")
    accounts.set_password(user, new)
    _end_tokens(user, RESET)  # a reset link sent before would undo the change
    audit.record(user.merchant_id, f"user:{user.email}", "user.password_changed")


# --- one-time links ----------------------------------------------------------------------


def _hash(token: str) -> str:
    return accounts.token_hash(token)


def _end_tokens(user: User, purpose: str | None = None, now: datetime | None = None) -> None:
    """Every open link of the user (of one purpose) stops working."""
    now = now or utcnow()
    query = update(UserToken).where(
        UserToken.user_id == user.id, UserToken.used_at.is_(None), UserToken.expires_at > now
    )
    if purpose:
        query = query.where(UserToken.purpose == purpose)
    db.session.execute(query.values(expires_at=now).execution_options(synchronize_session=False))


def issue_token(user: User, purpose: str) -> str:
    """A new link token (shown once); older open ones of the same purpose end."""
    now = utcnow()
    _end_tokens(user, purpose, now)
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
    )
    return token


def find_token(token: str, purpose: str) -> tuple[UserToken | None, str]:
    """The link's row and its state: "ok", "unknown" (no such link), "used" or "expired"
    (also ended by a newer link, a deactivation, or an invitation already accepted)."""
    if not token or len(token) > 200 or not token.isprintable():
        return None, "unknown"
    row = db.session.scalar(select(UserToken).where(UserToken.token_hash == _hash(token)))
    if row is None or row.purpose != purpose:
        return None, "unknown"
    if row.used_at is not None:
        return row, "used"
    if row.expires_at <= utcnow() or not row.user.active:
        return row, "expired"
    if purpose == INVITE and row.user.invited_at is None:
        return row, "used"
    return row, "ok"


def _language(user: User, purpose: str) -> str:
    """An invitation in the merchant's language; a reset in the user's own, else that."""
    wanted = user.language if purpose == RESET and user.language else user.merchant.language
    return wanted if wanted in MAIL_LANGUAGES else "en"


def _send_link(user: User, purpose: str, link: LinkMaker, actor: str) -> OutboxMessage:
    token = issue_token(user, purpose)
    url = link(purpose, token)
    language = _language(user, purpose)
    merchant = user.merchant
    context = {
        "user": user,
        "merchant": merchant,
        "link": url,
        "role": user.role,
        "hours": int(LIFETIME[purpose].total_seconds() // 3600),
        "days": LIFETIME[purpose].days,
        "actor": actor.removeprefix("user:"),
    }
    name = "invite" if purpose == INVITE else "reset"
    text = render_template(f"mail/{name}.{language}.txt", **context)
    subject, _, body = text.partition("\n\n")
    message = outbox.add(
        merchant.id,
        "email",
        MAIL_PURPOSE[purpose],
        user.email,
        subject=subject.removeprefix("Subject: ").strip(),
        body=body.strip() + "\n",
        payload={"link": url},
    )
    db.session.flush()
    return message
