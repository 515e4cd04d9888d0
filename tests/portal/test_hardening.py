"""Web hardening: the login throttle and its lockout, security headers, cookie flags, and
sessions that end at logout and at a password change."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from ledger import throttle
from tests.portal.conftest import login, order_body

LOCKED = "Too many failed logins. Logging in is blocked until"


@contextmanager
def restarted(app, **config):
    """A second app on the same database (and instance folder, so the same secret key): what a
    restart of the portal gives."""
    from app import create_app
    from ledger.db import db

    keep = ("TESTING", "REDIS_URL", "SQLALCHEMY_DATABASE_URI", "RQ_QUEUE")
    other = create_app({key: app.config[key] for key in keep} | config)
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def fail(client, email, times):
    for _ in range(times):
        response = login(client, email, "not the password")
    return response


def audit_entries(app, action="login.locked"):
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [(row.merchant_id, row.actor, row.detail) for row in rows]


def text_of(response) -> str:
    return response.get_data(as_text=True)


def without_times(text: str) -> str:
    return re.sub(r"\d", "#", text)


# -- the login throttle ------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(app, merchant_info):
    client = app.test_client()
    for attempt in range(1, throttle.ACCOUNT_FAILURES):
        response = login(client, merchant_info["email"], f"wrong {attempt}")
        assert response.status_code == 401
        assert "Wrong email address or password." in text_of(response)

    response = login(client, merchant_info["email"], "wrong 5")  # the fifth: locked from now
    assert response.status_code == 429
    assert LOCKED in text_of(response)

    response = login(client, merchant_info["email"].upper(), merchant_info["password"])
    assert response.status_code == 429  # the right password too, however the address is spelt
    page = text_of(response)
    assert LOCKED in page
    # the time in the merchant's zone, as the English page writes it ("Nov 30, 2026, 9:47 PM")
    assert re.search(r"until \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d\s?[AP]M \(in 15 minutes\)", page)
    assert 14 * 60 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert client.get("/orders").status_code == 302  # not logged in

    [(merchant_id, actor, detail)] = audit_entries(app)
    assert merchant_id == merchant_info["id"]
    assert actor == "login:127.0.0.1"
    assert detail["scope"] == "account"
    assert detail["key"] == f"account:{merchant_info['email']}"
    assert detail["locked_until"]

    # Another account is not affected.
    assert login(app.test_client(), "other@example.com", "whatever it is").status_code == 401


def test_unknown_account_gets_the_same_lockout_and_goes_to_the_log(
    app, merchant_info, caplog, monkeypatch
):
    # Alembic's fileConfig (the migrations at the session's start) disables existing loggers.
    monkeypatch.setattr(throttle.log, "disabled", False)
    caplog.set_level(logging.INFO, logger="ledger.throttle")
    known = fail(app.test_client(), merchant_info["email"], throttle.ACCOUNT_FAILURES)
    unknown = fail(app.test_client(), "nobody@example.com", throttle.ACCOUNT_FAILURES)
    assert unknown.status_code == known.status_code == 429
    message = re.compile(r'<div class="alert alert-error" role="alert">([^<]*)</div>')
    assert without_times(message.search(text_of(unknown)).group(1)) == without_times(
        message.search(text_of(known)).group(1)
    )
    # Only the known account has a merchant to audit; the unknown one is logged.
    assert [entry[0] for entry in audit_entries(app)] == [merchant_info["id"]]
    assert any("login locked: account:nobody@example.com" in r.getMessage() for r in caplog.records)
    login(app.test_client(), "nobody@example.com", "again")
    assert any("login refused while locked" in r.getMessage() for r in caplog.records)


def test_a_lockout_survives_a_restart(app, merchant_info):
    fail(app.test_client(), merchant_info["email"], throttle.ACCOUNT_FAILURES)
    with restarted(app) as again:
        response = login(again.test_client(), merchant_info["email"], merchant_info["password"])
        assert response.status_code == 429
        assert LOCKED in text_of(response)


def test_the_lock_ends_and_the_next_one_lasts_twice_as_long(app, merchant_info, monkeypatch):
    from ledger.models import utcnow

    start = utcnow()
    clock = {"now": start}
    monkeypatch.setattr(throttle, "utcnow", lambda: clock["now"])
    monkeypatch.setattr("portal.auth.utcnow", lambda: clock["now"])
    client = app.test_client()

    fail(client, merchant_info["email"], throttle.ACCOUNT_FAILURES)
    clock["now"] = start + timedelta(minutes=14, seconds=59)
    assert login(client, merchant_info["email"], merchant_info["password"]).status_code == 429

    clock["now"] = start + timedelta(minutes=15)
    response = fail(client, merchant_info["email"], throttle.ACCOUNT_FAILURES)
    assert "(in 30 minutes)" in text_of(response)  # the second lock in a row: doubled
    clock["now"] += timedelta(minutes=30)
    assert "(in 60 minutes)" in text_of(fail(client, merchant_info["email"], 5))

    clock["now"] += timedelta(minutes=60)
    assert login(client, merchant_info["email"], merchant_info["password"]).status_code == 302
    # The success forgot the account's lockouts: the next lock is the shortest again.
    client = app.test_client()
    assert "(in 15 minutes)" in text_of(fail(client, merchant_info["email"], 5))


def test_lock_lengths_double_up_to_a_day():
    lengths = [throttle.lock_length(n) for n in range(1, 10)]
    assert lengths[:4] == [timedelta(minutes=m) for m in (15, 30, 60, 120)]
    assert lengths[-1] == timedelta(hours=24)
    assert throttle.lock_length(1000) == timedelta(hours=24)


def test_a_successful_login_resets_the_account_count(app, merchant_info):
    client = app.test_client()
    fail(client, merchant_info["email"], throttle.ACCOUNT_FAILURES - 1)
    assert login(client, merchant_info["email"], merchant_info["password"]).status_code == 302
    client = app.test_client()
    response = fail(client, merchant_info["email"], throttle.ACCOUNT_FAILURES - 1)
    assert response.status_code == 401


def test_twenty_failures_from_one_address_lock_the_address(app, merchant_info):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for n in range(throttle.ADDRESS_FAILURES - 1):
        assert login(attacker, f"guess{n}@example.com", "password123").status_code == 401
    response = login(attacker, "guess-last@example.com", "password123")
    assert response.status_code == 429

    # Every account from that address, the right password included, until the lock ends.
    response = login(attacker, merchant_info["email"], merchant_info["password"])
    assert response.status_code == 429
    assert LOCKED in text_of(response)
    # The same account from another address logs in.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert login(other, merchant_info["email"], merchant_info["password"]).status_code == 302
    # No merchant to audit for an address lock on unknown accounts.
    assert audit_entries(app) == []


def test_attempts_are_counted_before_the_password_is_checked(ctx):
    """Parallel guesses cannot outrun the count: attempts still being checked count already."""
    from ledger.db import db

    for _ in range(throttle.ACCOUNT_FAILURES):
        assert throttle.begin_attempt("racer@example.com", "192.0.2.1") is None
    db.session.commit()
    lock = throttle.begin_attempt("racer@example.com", "192.0.2.1")
    assert lock is not None and lock.scope == "account"


def test_control_characters_in_the_email_are_a_plain_failure(app, merchant_info):
    client = app.test_client()
    response = login(client, "a\x00b@example.com", "password123")
    assert response.status_code == 401
    response = fail(client, "a\x00b@example.com", throttle.ACCOUNT_FAILURES)
    assert response.status_code == 429


# -- headers -------------------------------------------------------------------------------------


def assert_security_headers(response, hsts=False):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    if hsts:
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        )
    else:
        assert "Strict-Transport-Security" not in response.headers


def test_security_headers_on_pages_fragments_static_files_errors_and_the_api(
    app, portal, merchant_info
):
    for path in ["/orders", "/rules", "/outbox", "/runs", "/orders/NOPE", "/static/app.css"]:
        assert_security_headers(portal.get(path))
    assert_security_headers(portal.get("/orders", htmx=True))
    anonymous = app.test_client()
    assert_security_headers(anonymous.get("/login"))
    assert_security_headers(anonymous.get("/orders"))  # the redirect to the login
    api = app.test_client()
    assert_security_headers(api.get("/api/v1/orders/AK-1"))  # 401
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {merchant_info['token']}"
    response = api.post("/api/v1/orders", json=order_body("AK-1"))
    assert response.status_code == 201, text_of(response)
    assert_security_headers(response)
    assert_security_headers(api.get("/api/v1/orders/AK-1"))


def test_no_inline_script_or_style_in_the_templates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    pattern = re.compile(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*.html")
        # Mails and letters are documents for a mail client or WeasyPrint, never served as pages
        # (the outbox shows a mail's HTML in a sandboxed frame).
        if path.parent.name not in ("mail", "letters")
        for match in pattern.finditer(path.read_text())
    ]
    assert found == []


# -- cookies -------------------------------------------------------------------------------------


def session_cookie_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return header


def test_cookie_flags_without_https(app, merchant_info):
    response = login(app.test_client(), merchant_info["email"], merchant_info["password"])
    header = session_cookie_header(response)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header
    assert_security_headers(response)
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


def test_cookie_flags_and_hsts_with_mahnwerk_https(app, merchant_info, monkeypatch):
    monkeypatch.setenv("MAHNWERK_HTTPS", "1")
    with restarted(app) as https_app:
        assert https_app.config["SESSION_COOKIE_SECURE"] is True
        assert https_app.config["REMEMBER_COOKIE_SECURE"] is True
        client = https_app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        token = re.search(r'name="csrf_token" value="([^"]+)"', text_of(client.get("/login")))
        response = client.post(
            "/login",
            data={
                "email": merchant_info["email"],
                "password": merchant_info["password"],
                "csrf_token": token.group(1),
            },
            headers={"Referer": "https://localhost/login"},
        )
        assert response.status_code == 302
        header = session_cookie_header(response)
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
        assert_security_headers(response, hsts=True)
        assert_security_headers(client.get("/orders"), hsts=True)


# -- sessions that end -----------------------------------------------------------------------


def copy_session(source, target) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, portal):
    thief = app.test_client()
    copy_session(portal.client, thief)
    assert thief.get("/orders").status_code == 200  # the copy works while the session lives

    portal.client.post("/logout", data={"csrf_token": portal.token})
    assert portal.client.get("/orders").status_code == 302
    response = thief.get("/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    htmx = thief.get("/orders", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login"


def test_a_password_change_ends_every_session(app, portal, merchant_info):
    from ledger import accounts
    from ledger.db import db
    from ledger.models import User
    from tests.portal.conftest import Portal

    other = Portal(app, merchant_info)  # a second browser
    assert portal.get("/orders").status_code == 200
    assert other.get("/orders").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == merchant_info["email"]))
        accounts.set_password(user, "a brand new passphrase")
        db.session.commit()
    assert portal.get("/orders").status_code == 302
    assert other.get("/orders").status_code == 302

    assert (
        login(app.test_client(), merchant_info["email"], merchant_info["password"]).status_code
        == 401
    )
    fresh = app.test_client()
    assert login(fresh, merchant_info["email"], "a brand new passphrase").status_code == 302
    assert fresh.get("/orders").status_code == 200


def test_set_password_keeps_the_length_rule(ctx, make_merchant):
    from ledger import accounts
    from ledger.db import db
    from ledger.models import User

    info = make_merchant("Bergwerk AG")
    user = db.session.scalar(select(User).where(User.email == info["email"]))
    generation = user.session_generation
    with pytest.raises(accounts.AccountError):
        accounts.set_password(user, "short")
    assert user.session_generation == generation
