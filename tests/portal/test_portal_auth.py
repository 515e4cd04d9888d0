"""Login, logout, the login requirement on every page, and CSRF on every form."""

from __future__ import annotations

import pytest

from tests.portal.conftest import csrf_token, login

PAGES = ["/", "/orders", "/orders/AK-1", "/rules", "/outbox", "/runs", "/runs/1/progress"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_htmx_request_without_login_redirects_the_whole_page(app):
    response = app.test_client().get("/orders", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"


def test_login_then_the_dashboard(app, merchant_info):
    client = app.test_client()
    response = login(client, merchant_info["email"], merchant_info["password"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    page = client.get("/orders")
    assert page.status_code == 200
    assert merchant_info["name"] in page.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for_but_never_offsite(app, merchant_info):
    client = app.test_client()
    token = csrf_token(client)
    data = {"email": merchant_info["email"], "password": merchant_info["password"]}
    response = client.post("/login", data=data | {"csrf_token": token, "next": "/runs"})
    assert response.headers["Location"] == "/runs"
    client = app.test_client()
    token = csrf_token(client)
    data |= {"csrf_token": token, "next": "//evil.example/x"}
    response = client.post("/login", data=data)
    assert response.headers["Location"] == "/dashboard"


def test_bad_password_shows_an_error_and_keeps_the_email(app, merchant_info):
    client = app.test_client()
    response = login(client, merchant_info["email"], "wrong password!")
    assert response.status_code == 401
    text = response.get_data(as_text=True)
    assert "Wrong email address or password." in text
    assert f'value="{merchant_info["email"]}"' in text
    assert client.get("/orders").status_code == 302  # still logged out


def test_unknown_user_gets_the_same_error(app, merchant_info):
    response = login(app.test_client(), "nobody@example.com", merchant_info["password"])
    assert response.status_code == 401
    assert "Wrong email address or password." in response.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(app, merchant_info):
    client = app.test_client()
    response = client.post(
        "/login", data={"email": merchant_info["email"], "password": merchant_info["password"]}
    )
    assert response.status_code == 400
    assert client.get("/orders").status_code == 302


def test_post_without_csrf_token_is_refused_and_changes_nothing(portal, seed, merchant_info, app):
    from ledger.db import db
    from ledger.models import Order
    from tests.portal.conftest import order_body

    seed(merchant_info["id"], [order_body("AK-1")])
    response = portal.client.post("/orders/AK-1/mark-paid", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Order).one().status == "unpaid"
    # With the token the same request goes through.
    assert portal.post("/orders/AK-1/mark-paid").status_code == 200


def test_logout_needs_a_post_with_token(portal):
    assert portal.client.post("/logout").status_code == 400
    assert portal.client.get("/orders").status_code == 200
    response = portal.client.post("/logout", data={"csrf_token": portal.token})
    assert response.status_code == 302
    assert portal.client.get("/orders").status_code == 302
