"""Two-factor login through the portal: enrolment with a real authenticator's code (pyotp), the
code step after the password, a code counting once, wrong codes locking like wrong passwords,
and owners made to enrol when their merchant asks for it."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from tests.portal.conftest import Portal, csrf_token, login

SECRET_RE = re.compile(r'<code class="totp-secret">([A-Z2-7]+)</code>')


def enrol(portal: Portal) -> pyotp.TOTP:
    """Start, read the secret off the page (as a person would type it), confirm with a code."""
    response = portal.post("/account/two-factor/start", htmx=False)
    assert response.status_code == 302
    page = portal.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and 'class="segno"' in page and "style=" not in page
    totp = pyotp.TOTP(SECRET_RE.search(page).group(1))
    response = portal.post("/account/two-factor/confirm", {"code": totp.now()}, htmx=False)
    assert response.status_code == 302
    return totp


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the step after now: accepted (one step of tolerance either side), and not
    the enrolment's own, which counted once already."""
    return totp.at(time.time() + totp.interval)


def user(app, email):
    from ledger.db import db
    from ledger.models import User

    with app.app_context():
        row = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(row)
        return row


def code_step(client, code: str):
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": token})


def test_enrolment_shows_a_qr_code_and_needs_a_right_code(app, portal, merchant_info):
    portal.post("/account/two-factor/start", htmx=False)
    page = portal.get("/account/two-factor").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    assert user(app, merchant_info["email"]).totp_enabled_at is None  # not in force yet
    wrong = portal.post("/account/two-factor/confirm", {"code": "000000"}, htmx=False)
    assert wrong.status_code == 422 and "Wrong code" in wrong.get_data(as_text=True)
    assert user(app, merchant_info["email"]).totp_enabled_at is None
    right = portal.post(
        "/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()}, htmx=False
    )
    assert right.status_code == 302
    row = user(app, merchant_info["email"])
    assert row.totp_enabled_at is not None and row.totp_secret == secret
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=merchant_info["email"], issuer_name="Mahnwerk (Alpenkiste GmbH)"
    )
    assert "issuer=Mahnwerk%20%28Alpenkiste%20GmbH%29" in uri
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.totp_enabled")
        )
        assert entry is not None and secret not in str(entry.detail)


def test_login_asks_for_the_code_and_a_code_counts_once(app, portal, merchant_info):
    totp = enrol(portal)
    client = app.test_client()
    response = login(client, merchant_info["email"], merchant_info["password"])
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert client.get("/orders").status_code == 302  # not logged in before the code
    code = next_code(totp)
    response = code_step(client, code)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert client.get("/orders").status_code == 200

    # The same code again (someone who saw it): refused.
    thief = app.test_client()
    login(thief, merchant_info["email"], merchant_info["password"])
    response = code_step(thief, code)
    assert response.status_code == 401 and "Wrong code" in response.get_data(as_text=True)
    assert thief.get("/orders").status_code == 302


def test_the_code_step_without_a_password_goes_back_to_the_login(app, portal):
    enrol(portal)
    response = app.test_client().get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_wrong_codes_lock_the_login_like_wrong_passwords(app, portal, merchant_info):
    totp = enrol(portal)
    client = app.test_client()
    assert login(client, merchant_info["email"], merchant_info["password"]).status_code == 302
    statuses = [code_step(client, "123456" if totp.now() != "123456" else "654321").status_code
                for _ in range(4)]  # fmt: skip
    # The password step counted once, four wrong codes make five: the account is locked.
    assert statuses == [401, 401, 401, 429]
    response = login(app.test_client(), merchant_info["email"], merchant_info["password"])
    assert response.status_code == 429  # even with the right password (and then the code)


def test_disabling_needs_the_password_and_a_code(app, portal, merchant_info):
    totp = enrol(portal)
    wrong = portal.post(
        "/account/two-factor/disable",
        {"password": "not it", "code": next_code(totp)},
        htmx=False,
    )
    assert wrong.status_code == 422 and "password is wrong" in wrong.get_data(as_text=True)
    right = portal.post(
        "/account/two-factor/disable",
        {"password": merchant_info["password"], "code": next_code(totp)},
        htmx=False,
    )
    assert right.status_code == 302
    assert user(app, merchant_info["email"]).totp_enabled_at is None
    client = app.test_client()
    response = login(client, merchant_info["email"], merchant_info["password"])
    assert response.headers["Location"] == "/dashboard"


def test_owners_must_enrol_when_the_merchant_asks(app, portal, merchant_info):
    from ledger import accounts
    from ledger.db import db

    with app.app_context():
        merchant = accounts.find_merchant(merchant_info["name"])
        accounts.create_user("clerk@alpenkiste.example", merchant, "correct horse battery", "clerk")
        db.session.commit()
    portal.post("/users/two-factor", {"owners_need_totp": "on"}, htmx=False)

    # The owner's open session: every page leads to the enrolment, logout still works.
    response = portal.get("/orders")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    htmx = portal.get("/orders", htmx=True)
    assert htmx.headers["HX-Redirect"] == "/account/two-factor"
    assert portal.post("/orders/AK-1/remind", htmx=False).status_code == 302
    page = portal.get("/account/two-factor").get_data(as_text=True)
    assert "Your team asks owners to log in with two-factor" in page

    # A fresh login lands on the enrolment too; a clerk is not asked.
    client = app.test_client()
    response = login(client, merchant_info["email"], merchant_info["password"])
    assert response.headers["Location"] == "/account/two-factor"
    clerk = Portal(app, {"email": "clerk@alpenkiste.example", "password": "correct horse battery"})
    assert clerk.get("/orders").status_code == 200

    enrol(portal)
    assert portal.get("/orders").status_code == 200
