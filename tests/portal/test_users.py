"""The team page and the account flows through the real portal: invitations and password resets
by real mail (the SMTP sink), one-time links, the password policy under its field, role changes
and deactivation that take effect at once, the last owner kept."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.portal.conftest import Portal, csrf_token, login

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
LINK_RE = re.compile(r"https?://\S+/(?:invite|password/reset)/[A-Za-z0-9_\-]+")


def deliver_mail(app) -> None:
    """What the worker does with the queued messages: send each through SMTP (to the sink)."""
    from ledger import outbox
    from worker.jobs import deliver

    with app.app_context():
        for message_id in outbox.pending_ids():
            assert deliver(message_id) == "sent"


def link_in(mail) -> str:
    """The path of the one-time link in a mail (the test client speaks to the app directly)."""
    match = LINK_RE.search(mail.get_content())
    assert match, mail.get_content()
    return urlsplit(match.group(0)).path


def mails_to(mail_sink, address: str) -> list:
    return [m for m in mail_sink.messages() if m["To"] == address]


def form_post(client, path: str, data: dict, token_page: str | None = None):
    """A plain form POST with the CSRF token of the page it comes from."""
    token = csrf_token(client, token_page or path)
    return client.post(path, data={**data, "csrf_token": token})


def invite(portal: Portal, email: str, role: str = "clerk"):
    return portal.post("/users/invite", {"email": email, "role": role}, htmx=False)


def accept(app, mail_sink, email: str, password: str = PASSWORD):
    """Open the invitation's link in a fresh browser and set the password."""
    deliver_mail(app)
    path = link_in(mails_to(mail_sink, email)[-1])
    client = app.test_client()
    response = form_post(client, path, {"password": password, "password_again": password})
    return client, response


def user_row(app, email: str):
    from ledger.db import db
    from ledger.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def test_an_invitation_arrives_and_its_link_logs_the_invitee_in(app, portal, mail_sink):
    response = invite(portal, "anna@alpenkiste.example", "accountant")
    assert response.status_code == 302
    page = portal.get("/users").get_data(as_text=True)
    assert "anna@alpenkiste.example" in page and "invited" in page and "Resend invitation" in page
    # Invited, no password yet: nobody logs in as her.
    assert login(app.test_client(), "anna@alpenkiste.example", "").status_code == 401

    deliver_mail(app)
    (mail,) = mails_to(mail_sink, "anna@alpenkiste.example")
    assert mail["X-Mahnwerk-Purpose"] == "invitation"
    assert "Alpenkiste GmbH" in mail["Subject"]
    assert "Einladung" in mail["Subject"]  # the merchant's language (de by default)
    assert "Rolle: Buchhaltung" in mail.get_content()
    path = link_in(mail)
    assert LINK_RE.search(mail.get_content()).group(0).startswith("http://127.0.0.1:5000/invite/")

    client = app.test_client()
    assert "Set the password for anna@alpenkiste.example" in client.get(path).get_data(True)
    response = form_post(client, path, {"password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert client.get("/orders").status_code == 200  # logged in
    assert client.get("/users").status_code == 403  # as an accountant

    # The link is used up; the password works from now on.
    again = app.test_client().get(path)
    assert again.status_code == 410 and "no longer valid" in again.get_data(as_text=True)
    assert login(app.test_client(), "anna@alpenkiste.example", PASSWORD).status_code == 302
    user = user_row(app, "anna@alpenkiste.example")
    assert user.invited_at is None and user.password_changed_at and user.role == "accountant"
    # The outbox keeps the mail, not the key to the account.
    outbox = portal.get("/outbox").get_data(as_text=True)
    assert "/invite/" not in outbox


def test_the_invitation_link_is_stored_only_as_its_hash_and_hidden_until_sent(
    app, portal, mail_sink
):
    from ledger.db import db
    from ledger.models import OutboxMessage, UserToken

    invite(portal, "ben@alpenkiste.example")
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id))
    page = portal.get(f"/outbox/{message_id}").get_data(as_text=True)
    assert "/invite/" not in page and "one-time link" in page
    deliver_mail(app)
    token = link_in(mails_to(mail_sink, "ben@alpenkiste.example")[0]).rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.scalar(select(UserToken))
        assert row.token_hash != token and len(row.token_hash) == 64
        assert row.expires_at - row.created_at == timedelta(days=7)
        message = db.session.scalar(select(OutboxMessage))
        assert token not in message.body and "link" not in (message.payload or {})


def test_an_english_merchant_invites_in_english(app, make_merchant, mail_sink):
    info = make_merchant("Bergladen AG", language="en")
    owner = Portal(app, info)
    invite(owner, "cleo@bergladen.example", "viewer")
    deliver_mail(app)
    (mail,) = mails_to(mail_sink, "cleo@bergladen.example")
    assert mail["Subject"] == "Invitation to Mahnwerk for Bergladen AG"
    assert "Your role: viewer" in mail.get_content()


def test_unknown_expired_and_reused_invitation_links(app, portal, mail_sink):
    from ledger.db import db
    from ledger.models import UserToken

    assert app.test_client().get("/invite/not-a-token").status_code == 404
    response = app.test_client().post("/invite/x" * 3, data={})
    assert response.status_code in (400, 404)  # no CSRF token: refused before anything

    invite(portal, "dora@alpenkiste.example")
    deliver_mail(app)
    path = link_in(mails_to(mail_sink, "dora@alpenkiste.example")[0])
    with app.app_context():
        row = db.session.scalar(select(UserToken))
        row.expires_at = row.created_at  # 7 days later
        db.session.commit()
    client = app.test_client()
    assert client.get(path).status_code == 410
    token = csrf_token(client, "/login")
    response = client.post(
        path, data={"password": PASSWORD, "password_again": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 410
    assert user_row(app, "dora@alpenkiste.example").invited_at is not None  # nothing changed

    # A new invitation ends the old link; the new one works once.
    portal.post(f"/users/{user_row(app, 'dora@alpenkiste.example').id}/resend", htmx=False)
    deliver_mail(app)
    new_path = link_in(mails_to(mail_sink, "dora@alpenkiste.example")[-1])
    assert new_path != path
    client, response = accept(app, mail_sink, "dora@alpenkiste.example")
    assert response.status_code == 302
    assert app.test_client().get(new_path).status_code == 410


def test_an_email_that_has_an_account_is_refused(app, portal, make_merchant, mail_sink):
    other = make_merchant("Bergladen AG")
    for email in ("owner@alpenkiste.example", other["email"].upper()):
        response = invite(portal, email)
        assert response.status_code == 422
        assert "has an account already" in response.get_data(as_text=True)
    response = invite(portal, "not an address")
    assert response.status_code == 422 and "not an email address" in response.get_data(True)
    response = invite(portal, "eva@alpenkiste.example", "staff")
    assert response.status_code == 422 and "choose one of the roles" in response.get_data(True)
    deliver_mail(app)
    assert mail_sink.messages() == []


def test_the_password_policy_refuses_under_the_field(app, portal, mail_sink):
    invite(portal, "frieda.berger@alpenkiste.example")
    deliver_mail(app)
    path = link_in(mails_to(mail_sink, "frieda.berger@alpenkiste.example")[0])
    client = app.test_client()
    cases = {
        "short": "The password needs at least 10 characters.",
        "Sonnenschein": "one of the most common passwords",
        "frieda.berger-2026": "must not contain your email address",
        "Alpenkiste forever": "must not contain your company",
    }
    for password, text in cases.items():
        response = form_post(client, path, {"password": password, "password_again": password})
        assert response.status_code == 422, password
        assert text in response.get_data(as_text=True), password
    response = form_post(client, path, {"password": PASSWORD, "password_again": "other one!"})
    assert "The two passwords differ." in response.get_data(as_text=True)
    assert user_row(app, "frieda.berger@alpenkiste.example").invited_at is not None
    # In German for a German browser.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    response = form_post(client, path, {"password": "short", "password_again": "short"})
    assert "mindestens 10 Zeichen" in response.get_data(as_text=True)


def test_reset_by_mail_sets_a_new_password_and_ends_every_session(
    app, portal, merchant_info, mail_sink
):
    email = merchant_info["email"]
    client = app.test_client()
    assert "Forgot password?" in client.get("/login").get_data(as_text=True)
    response = form_post(client, "/password/forgot", {"email": email.upper()})
    answer = response.get_data(as_text=True)
    assert response.status_code == 200 and "a link to set a new password is on its way" in answer
    deliver_mail(app)
    (mail,) = mails_to(mail_sink, email)
    assert mail["X-Mahnwerk-Purpose"] == "password_reset"
    path = link_in(mail)

    response = form_post(client, path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert portal.get("/orders").status_code == 302  # the session that was open is over
    assert login(app.test_client(), email, PASSWORD).status_code == 401
    assert login(app.test_client(), email, NEW_PASSWORD).status_code == 302
    assert app.test_client().get(path).status_code == 410  # once only
    assert user_row(app, email).password_changed_at is not None
    owner = Portal(app, {"email": email, "password": NEW_PASSWORD})
    audit = owner.get("/audit").get_data(as_text=True)
    assert "user.password_reset" in audit or "user.password reset" in audit
    assert "/password/reset/" not in audit


def test_a_newer_reset_link_ends_the_older_one(app, merchant_info, mail_sink):
    client = app.test_client()
    for _ in range(2):
        form_post(client, "/password/forgot", {"email": merchant_info["email"]})
    deliver_mail(app)
    first, second = (link_in(m) for m in mails_to(mail_sink, merchant_info["email"]))
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_a_reset_link_expires_after_an_hour(app, merchant_info, mail_sink):
    from ledger.db import db
    from ledger.models import UserToken

    form_post(app.test_client(), "/password/forgot", {"email": merchant_info["email"]})
    deliver_mail(app)
    path = link_in(mails_to(mail_sink, merchant_info["email"])[0])
    with app.app_context():
        row = db.session.scalar(select(UserToken))
        assert row.expires_at - row.created_at == timedelta(hours=1)
        row.expires_at = row.created_at
        db.session.commit()
    assert app.test_client().get(path).status_code == 410


def test_reset_for_an_unknown_or_deactivated_account_sends_nothing_and_says_the_same(
    app, portal, merchant_info, mail_sink
):
    client = app.test_client()
    known = form_post(client, "/password/forgot", {"email": merchant_info["email"]})
    unknown = form_post(client, "/password/forgot", {"email": "nobody@nowhere.example"})
    # The CSRF token is signed with a timestamp: two requests a second apart differ.
    strip = re.compile(r'name="csrf_token" value="[^"]+"|"X-CSRFToken": "[^"]+"|[\w.+-]+@[\w.-]+')
    assert strip.sub("", known.get_data(True)) == strip.sub("", unknown.get_data(True))
    assert known.status_code == unknown.status_code == 200
    deliver_mail(app)
    assert [m["To"] for m in mail_sink.messages()] == [merchant_info["email"]]

    invite(portal, "gerd@alpenkiste.example")
    accept(app, mail_sink, "gerd@alpenkiste.example")
    portal.post(f"/users/{user_row(app, 'gerd@alpenkiste.example').id}/deactivate", htmx=False)
    mail_sink.clear()
    response = form_post(client, "/password/forgot", {"email": "gerd@alpenkiste.example"})
    assert response.status_code == 200
    deliver_mail(app)
    assert mail_sink.messages() == []


def test_reset_mails_are_limited(app, merchant_info, mail_sink):
    client = app.test_client()
    for _ in range(5):
        response = form_post(client, "/password/forgot", {"email": merchant_info["email"]})
        assert response.status_code == 200  # the same answer every time
    deliver_mail(app)
    assert len(mails_to(mail_sink, merchant_info["email"])) == 3  # per account and hour
    for n in range(10):
        response = form_post(client, "/password/forgot", {"email": f"x{n}@example.com"})
    assert response.status_code == 429  # per client address


def test_a_role_change_takes_effect_at_once(app, portal, mail_sink):
    invite(portal, "hanna@alpenkiste.example", "owner")
    hanna, _ = accept(app, mail_sink, "hanna@alpenkiste.example")
    assert hanna.get("/users").status_code == 200
    hanna_id = user_row(app, "hanna@alpenkiste.example").id
    response = portal.post(f"/users/{hanna_id}/role", {"role": "viewer"}, htmx=False)
    assert response.status_code == 302
    assert hanna.get("/settings").status_code == 403  # the same session, now a viewer
    assert hanna.get("/users").status_code == 403
    assert hanna.get("/orders").status_code == 200
    assert user_row(app, "hanna@alpenkiste.example").role == "viewer"


def test_deactivation_ends_the_session_and_the_login(app, portal, mail_sink):
    invite(portal, "ida@alpenkiste.example", "clerk")
    ida, _ = accept(app, mail_sink, "ida@alpenkiste.example")
    assert ida.get("/orders").status_code == 200
    ida_id = user_row(app, "ida@alpenkiste.example").id
    response = portal.post(f"/users/{ida_id}/deactivate", htmx=False)
    assert response.status_code == 302
    assert ida.get("/orders").status_code == 302  # logged out
    assert login(app.test_client(), "ida@alpenkiste.example", PASSWORD).status_code == 401
    assert "deactivated" in portal.get("/users").get_data(as_text=True)
    portal.post(f"/users/{ida_id}/reactivate", htmx=False)
    assert login(app.test_client(), "ida@alpenkiste.example", PASSWORD).status_code == 302


def test_the_last_owner_and_oneself_are_protected(app, portal, merchant_info, mail_sink):
    me = user_row(app, merchant_info["email"]).id
    for path, data in ((f"/users/{me}/role", {"role": "clerk"}), (f"/users/{me}/deactivate", {})):
        response = portal.post(path, data, htmx=False)
        assert response.status_code == 409
        assert "cannot change your own role or deactivate yourself" in response.get_data(True)
    invite(portal, "jan@alpenkiste.example", "owner")
    jan, _ = accept(app, mail_sink, "jan@alpenkiste.example")
    jan_portal = Portal(app, {"email": "jan@alpenkiste.example", "password": PASSWORD})
    # Two owners: jan may demote the first; then jan is the last and nobody may demote him.
    assert jan_portal.post(f"/users/{me}/role", {"role": "clerk"}, htmx=False).status_code == 302
    assert user_row(app, merchant_info["email"]).role == "clerk"
    assert portal.get("/users").status_code == 403
    # Jan is the last active owner now: no one demotes or deactivates him (the rule is the
    # ledger's, whoever asks).
    from ledger import team
    from ledger.db import db
    from ledger.models import User

    with app.app_context():
        jan_user = db.session.scalar(select(User).where(User.email == "jan@alpenkiste.example"))
        first = db.session.get(User, me)
        for change in (
            lambda: team.change_role(jan_user, "viewer", first),
            lambda: team.deactivate(jan_user, first),
        ):
            try:
                change()
            except team.TeamError as exc:
                assert exc.reason == "last_owner"
            else:
                raise AssertionError("the last owner was changed")


def test_users_of_another_merchant_are_not_found(app, portal, make_merchant):
    other = make_merchant("Bergladen AG")
    other_id = user_row(app, other["email"]).id
    assert portal.post(f"/users/{other_id}/deactivate", htmx=False).status_code == 404
    assert user_row(app, other["email"]).active


def test_the_owners_two_factor_switch_is_audited(app, portal):
    response = portal.post("/users/two-factor", {"owners_need_totp": "on"}, htmx=False)
    assert response.status_code == 302
    from ledger.db import db
    from ledger.models import AuditEntry, Merchant

    with app.app_context():
        assert db.session.scalar(select(Merchant)).owners_need_totp is True
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "settings.owners_need_totp")
        )
        assert entry.detail == {"required": True}


def test_the_account_page_changes_the_password(app, portal, merchant_info):
    page = portal.get("/account").get_data(as_text=True)
    assert "Change password" in page and "Two-factor login" in page
    other = Portal(app, merchant_info)
    wrong = portal.post(
        "/account/password",
        {"current_password": "not it", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        htmx=False,
    )
    assert wrong.status_code == 422 and "current password is wrong" in wrong.get_data(True)
    weak = portal.post(
        "/account/password",
        {"current_password": PASSWORD, "password": "qwertyuiop", "password_again": "qwertyuiop"},
        htmx=False,
    )
    assert weak.status_code == 422 and "most common passwords" in weak.get_data(True)
    response = portal.post(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        htmx=False,
    )
    assert response.status_code == 302
    assert portal.get("/orders").status_code == 200  # this session goes on
    assert other.get("/orders").status_code == 302  # the other one ended
    assert login(app.test_client(), merchant_info["email"], NEW_PASSWORD).status_code == 302


def test_user_create_applies_the_policy(app, merchant_info):
    runner = app.test_cli_runner()
    args = ["user", "create", "karla@alpenkiste.example", "--merchant", merchant_info["name"]]
    for password, text in (("short one", "at least"), ("1234567890", "most common")):
        result = runner.invoke(args=[*args, "--password-stdin"], input=f"{password}\n")
        assert result.exit_code != 0 and text in result.output
    result = runner.invoke(args=[*args, "--password-stdin"], input="Karla's password\n")
    assert result.exit_code != 0 and "email" in result.output
    result = runner.invoke(args=[*args, "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output


def test_password_guesses_from_a_logged_in_session_count_against_the_login_lock(
    app, portal, merchant_info
):
    """A stolen session must not be a way to guess the password: the account page's checks
    count like logins, and five wrong ones lock the account (the login too)."""
    guess = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    for _ in range(5):
        wrong = portal.post("/account/password", {"current_password": "not it"} | guess)
        assert wrong.status_code == 422
    locked = portal.post("/account/password", {"current_password": PASSWORD} | guess)
    assert locked.status_code == 429 and "Too many failed logins" in locked.get_data(True)
    elsewhere = app.test_client()
    assert login(elsewhere, merchant_info["email"], PASSWORD).status_code == 429
