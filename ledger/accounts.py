"""Merchants, users and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ledger.db import db
from ledger.models import ApiToken, Merchant, User, utcnow
from ledger.permissions import ROLES

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


class AccountError(ValueError):
    pass


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


def create_user(email: str, merchant: Merchant, password: str, role: str = "owner") -> User:
    email = email.strip().lower()
    if not valid_email(email):
        raise AccountError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise AccountError(f"user {email!r} exists already")
    user = User(email=email, merchant=merchant, password_hash=_hasher.hash(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        _hasher.hash(password)  # same work either way, so timing does not reveal accounts
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def set_password(user: User, new_password: str) -> None:
    """A new password for the user; it ends every session the user has (the caller commits, and
    keeps its own session by storing the new generation in it)."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = _hasher.hash(new_password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Every session cookie issued to the user so far stops working (logout, password change)."""
    user.session_generation = (user.session_generation or 0) + 1


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(merchant: Merchant, label: str | None = None) -> str:
    """Return a new bearer token; only its hash is kept."""
    token = "mw_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(merchant=merchant, token_hash=_token_hash(token), prefix=token[:10], label=label)
    )
    db.session.flush()
    return token


def merchant_for_token(token: str) -> Merchant | None:
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    row.last_used_at = utcnow()
    return row.merchant
