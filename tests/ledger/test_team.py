"""The team's rules in the ledger: the one password policy, one-time links, invited and
deactivated users who cannot log in, and TOTP codes that count once."""

from __future__ import annotations

import time

import pyotp
import pytest

from ledger import accounts, team, two_factor
from ledger.db import db


def _link(purpose: str, token: str) -> str:
    return f"https://mahnwerk.example/{purpose}/{token}"


@pytest.fixture
def merchant(ctx, make_merchant):
    return accounts.find_merchant(make_merchant("Alpenkiste GmbH")["name"])


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("kurz", "too_short"),
        ("123456789", "too_short"),
        ("QWERTYUIOP", "common"),  # case-insensitive
        ("Sonnenschein", "common"),  # from the German list
        ("Password123!", "common"),  # a common one with the usual digits and signs around it
        ("2024football", "common"),
        ("aaaaaaaaaaaa", "common"),  # too few different characters
        ("abcabcabcabc", "common"),
        ("my name is anna.schmidt", "email"),
        ("Schmidt2026!", "email"),  # a part of the local part
        ("alpenkiste rocks", "merchant"),
        ("ALPEN-KISTE 2026", "merchant"),  # separators do not hide it
    ],
)
def test_the_policy_refuses(password, reason):
    with pytest.raises(accounts.PasswordRefused) as refused:
        accounts.check_password(password, "anna.schmidt@alpenkiste.example", "Alpenkiste GmbH")
    assert refused.value.reason == reason


def test_the_policy_lets_good_passwords_through():
    accounts.check_password("correct horse battery", "anna@alpenkiste.example", "Alpenkiste GmbH")
    # Legal forms and short words of a name are not the name.
    accounts.check_password("gmbh and co kg for us", "al@example.com", "Pferde & Co. KG")
    assert len(accounts.common_passwords()) > 200
    assert accounts.common_passwords() is accounts.common_passwords()  # read once


def test_an_invited_user_cannot_log_in_until_the_link_sets_a_password(merchant):
    user, message = team.invite(merchant, "Anna@Example.com", "clerk", "user:owner", _link)
    db.session.commit()
    assert user.email == "anna@example.com" and team.status(user) == "invited"
    assert accounts.authenticate("anna@example.com", "") is None
    assert accounts.authenticate("anna@example.com", accounts.UNUSABLE_PASSWORD) is None
    token = message.payload["link"].rsplit("/", 1)[1]
    row, state = team.find_token(token, team.INVITE)
    assert state == "ok"
    assert team.find_token(token, team.RESET) == (None, "unknown")  # one purpose each
    team.accept_invitation(row, "correct horse battery")
    db.session.commit()
    assert team.status(user) == "active"
    assert accounts.authenticate("anna@example.com", "correct horse battery") is user
    assert team.find_token(token, team.INVITE)[1] == "used"


def test_deactivation_ends_open_links_and_the_login(merchant):
    owner = accounts.find_user("owner@alpenkiste.example")
    user, _message = team.invite(merchant, "ben@example.com", "viewer", "user:owner", _link)
    reset_user = accounts.create_user("cem@example.com", merchant, "correct horse battery")
    message = team.request_reset("cem@example.com", "127.0.0.1", _link)
    token = message.payload["link"].rsplit("/", 1)[1]
    generation = reset_user.session_generation
    team.deactivate(reset_user, owner)
    db.session.commit()
    assert team.find_token(token, team.RESET)[1] == "expired"
    assert reset_user.session_generation == generation + 1
    assert accounts.authenticate("cem@example.com", "correct horse battery") is None
    assert team.request_reset("cem@example.com", "127.0.0.1", _link) is None  # no mail
    with pytest.raises(team.TeamError, match="themselves"):
        team.deactivate(owner, owner)
    with pytest.raises(team.TeamError) as refused:
        team.change_role(owner, "viewer", user)
    assert refused.value.reason == "last_owner"


def test_a_new_password_or_two_factor_ends_what_was_issued_before(merchant):
    """A reset link sent before a password change would undo it; sessions that never showed a
    code must not outlive the switch to two-factor login."""
    user = accounts.create_user("dora@example.com", merchant, "correct horse battery")
    message = team.request_reset("dora@example.com", "127.0.0.1", _link)
    token = message.payload["link"].rsplit("/", 1)[1]
    team.change_password(user, "correct horse battery", "another long passphrase")
    db.session.commit()
    assert team.find_token(token, team.RESET)[1] == "expired"

    generation = user.session_generation
    secret = two_factor.start(user)
    two_factor.confirm(user, pyotp.TOTP(secret).now())
    assert user.session_generation == generation + 1


def test_a_totp_code_counts_once_and_only_near_now(merchant):
    user = accounts.find_user("owner@alpenkiste.example")
    secret = two_factor.start(user)
    totp = pyotp.TOTP(secret)
    now = time.time()
    assert not two_factor.verify(user, totp.at(now - 2 * totp.interval), now)  # too old
    assert not two_factor.verify(user, "12345", now)  # not 6 digits
    assert two_factor.verify(user, totp.at(now - totp.interval), now)  # one step of tolerance
    assert two_factor.verify(user, totp.at(now), now)
    assert not two_factor.verify(user, totp.at(now), now)  # the same step again
    assert not two_factor.verify(user, totp.at(now - totp.interval), now)  # an older one
    assert two_factor.verify(user, " ".join([totp.at(now + 30)[:3], totp.at(now + 30)[3:]]), now)


@pytest.mark.parametrize(
    ("language", "invitation", "reset"),
    [
        ("de", "Einladung", "Passwort"),
        ("en", "Invitation", "password"),
        ("fr", "Invitation", "mot de passe"),
        ("it", "Invito", "password"),
    ],
)
def test_the_team_mails_speak_the_merchants_language(merchant, language, invitation, reset):
    merchant.language = language
    _user, invited = team.invite(merchant, "eva@example.com", "clerk", "user:owner", _link)
    assert invitation in invited.subject and "/invite/" in invited.body
    accounts.create_user("finn@example.com", merchant, "correct horse battery")
    resetting = team.request_reset("finn@example.com", "127.0.0.1", _link)
    assert reset in resetting.subject and "/reset/" in resetting.body
    assert "{{" not in invited.body + resetting.body
