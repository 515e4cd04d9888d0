"""Two-factor login with time-based one-time codes (TOTP, RFC 6238: any authenticator app).

Enrolling stores a new secret that is not in force until a code from the app confirms it. A
code is checked with one time step (30 s) of tolerance either side, and each time step counts
once (`User.totp_last_step`): a code seen by someone else cannot be used again. Owners must
enrol when their merchant asks for it (`Merchant.owners_need_totp`).
"""

from __future__ import annotations

import hmac
import re
import time

import pyotp

from ledger import accounts, audit
from ledger.models import User, utcnow
from ledger.permissions import Role

VALID_WINDOW = 1  # steps of 30 s before and after now
_CODE = re.compile(r"^\d{6}$")


class TwoFactorError(ValueError):
    """`reason`: enabled, not_enrolling, code, password, not_enabled (worded by the portal)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None


def must_enrol(user: User) -> bool:
    """An owner of a merchant that asks owners for two-factor login, not yet enrolled."""
    return user.role == Role.OWNER and bool(user.merchant.owners_need_totp) and not enabled(user)


def start(user: User) -> str:
    """A new secret (not in force yet); starting again replaces an unconfirmed one."""
    if enabled(user):
        raise TwoFactorError("enabled", "two-factor login is on already")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """otpauth:// for the authenticator app's QR code."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email, issuer_name=f"Mahnwerk ({user.merchant.name})"
    )


def verify(user: User, code: str, now: float | None = None) -> bool:
    """Whether the code is right for now (±1 step) and its step was not used before; a right
    code's step is remembered (the caller commits)."""
    code = re.sub(r"\s+", "", code or "")
    if not user.totp_secret or not _CODE.match(code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(time.time() if now is None else now)  # a Unix time: no zone to err
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue  # this code (or an older one) was used already
        if hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def confirm(user: User, code: str) -> None:
    """The app shows the right code: two-factor login is on."""
    if enabled(user):
        raise TwoFactorError("enabled", "two-factor login is on already")
    if not user.totp_secret:
        raise TwoFactorError("not_enrolling", "no enrolment started")
    if not verify(user, code):
        raise TwoFactorError("code", "wrong code")
    user.totp_enabled_at = utcnow()
    # Sessions that never showed a code end (the caller keeps its own, as after a new password).
    accounts.end_sessions(user)
    audit.record(user.merchant_id, f"user:{user.email}", "user.totp_enabled")


def disable(user: User, password: str, code: str) -> None:
    """Off again: needs the password and a current code."""
    if not enabled(user):
        raise TwoFactorError("not_enabled", "two-factor login is off")
    if not accounts.verify_password(user, password):
        raise TwoFactorError("password", "wrong password")
    if not verify(user, code):
        raise TwoFactorError("code", "wrong code")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    audit.record(user.merchant_id, f"user:{user.email}", "user.totp_disabled")
