"""Merchants, users and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ledger.db import db
from ledger.models import ApiToken, Merchant, User, utcnow
from ledger.permissions import ROLES

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"
# Parts of a name too short or too general to count as "contains the name" (legal forms).
_NAME_NOISE = {
    "gmbh", "mbh", "ag", "kg", "ohg", "ug", "se", "co", "ek", "e.k.", "sa", "sarl", "sàrl",
    "sagl", "ltd", "inc", "llc", "und", "and", "the", "der", "die", "das",
}  # fmt: skip
# A password hash that never verifies: an invited user has no password until the link sets one.
UNUSABLE_PASSWORD = "!unusable"
_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


class PasswordRefused(AccountError):
    """A password the policy refuses; `reason` says which rule (the portal words it in the
    user's language): too_short, common, email, merchant."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (ledger/data/common-passwords.txt), lowercased, read once."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def _name_parts(text: str, noise: set[str] = frozenset()) -> set[str]:
    """The parts of an email's local part or a company name a password must not contain:
    the whole (without separators) and each piece of at least 4 characters."""
    text = text.strip().lower()
    pieces = [p for p in re.split(r"[\s._+\-@,&/]+", text) if p and p not in noise]
    parts = {p for p in pieces if len(p) >= 4}
    whole = "".join(pieces)
    if len(whole) >= 4:
        parts.add(whole)
    return parts


def check_password(password: str, email: str = "", merchant_name: str = "") -> None:
    """The password policy, the one place it lives (invitation, reset, account page, `user
    create`): at least MIN_PASSWORD_LENGTH characters, not a common password, not containing
    the email's local part nor the merchant's name. Raises PasswordRefused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(
            "too_short", f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    lowered = password.lower()
    # "Password123!" is "password" with what everybody adds: judged by its letters.
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered.strip())
    if lowered.strip() in common_passwords() or core in common_passwords():
        raise PasswordRefused("common", "the password is one of the most common passwords")
    if len(set(lowered)) < 4:  # "aaaaaaaaaa", "abcabcabcabc"
        raise PasswordRefused("common", "the password is one of the most common passwords")
    squeezed = re.sub(r"[\s._+\-]+", "", lowered)
    local = email.strip().rpartition("@")[0] if "@" in email else email
    if any(part in lowered or part in squeezed for part in _name_parts(local)):
        raise PasswordRefused("email", "the password must not contain the email address")
    if any(part in lowered or part in squeezed for part in _name_parts(merchant_name, _NAME_NOISE)):
        raise PasswordRefused("merchant", "the password must not contain the company's name")


def valid_email(address: str) -> bool:
    return bool(address) and len(address) <= 254 and bool(EMAIL_RE.match(address))


def create_merchant(name: str, accounting_email: str, **fields) -> Merchant:
    name = name.strip()
    if not name:
        raise AccountError("merchant name must not be empty")
    if not valid_email(accounting_email):
        raise AccountError(f"not an email address: {accounting_email!r}")
    if find_merchant(name):
        raise AccountError(f"merchant {name!r} exists already")
    merchant = Merchant(name=name, accounting_email=accounting_email, **fields)
    db.session.add(merchant)
    db.session.flush()
    if merchant.iban:  # its first bank account (more: `mahnwerk bank account add`)
        from ledger.bank import accounts as bank_accounts

        try:
            account = bank_accounts.add_account(merchant, merchant.iban, bic=merchant.bic)
        except bank_accounts.AccountError as exc:
            raise AccountError(str(exc)) from exc
        merchant.iban = account.iban
    return merchant


def find_merchant(name: str) -> Merchant | None:
    return db.session.scalar(select(Merchant).where(Merchant.name == name))


def find_user(email: str) -> User | None:
    """The user with this address (any merchant's), however it is capitalised."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    email: str, merchant: Merchant, password: str, role: str = "owner", policy: bool = True
) -> User:
    """A user with a password; `policy=False` only for the demo's published login."""
    email = email.strip().lower()
    if not valid_email(email):
        raise AccountError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if policy:
        check_password(password, email, merchant.name)
    elif len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(
            "too_short", f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    if find_user(email):
        raise AccountError(f"user {email!r} exists already")
    user = User(
        email=email,
        merchant=merchant,
        password_hash=_hasher.hash(password),
        role=role,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose password this is, if they may log in: not deactivated, not invited (an
    invitation's link sets the first password)."""
    user = find_user(email)
    if user is None or not user.active or user.invited_at is not None:
        _hasher.hash(password)  # same work either way, so timing does not reveal accounts
        return None
    if not verify_password(user, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, new_password: str) -> None:
    """A new password for the user (the policy applies); it ends every session the user has
    (the caller commits, and keeps its own session by storing the new generation in it)."""
    check_password(new_password, user.email, user.merchant.name)
    user.password_hash = _hasher.hash(new_password)
    user.password_changed_at = utcnow()
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Every session cookie issued to the user so far stops working (logout, password change)."""
    user.session_generation = (user.session_generation or 0) + 1


def token_hash(token: str) -> str:
    """The SHA-256 kept of a secret handed out once (API tokens, invitation and reset links)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(merchant: Merchant, label: str | None = None) -> str:
    """Return a new bearer token; only its hash is kept."""
    token = "mw_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(merchant=merchant, token_hash=token_hash(token), prefix=token[:10], label=label)
    )
    db.session.flush()
    return token


def merchant_for_token(token: str) -> Merchant | None:
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    row.last_used_at = utcnow()
    return row.merchant
