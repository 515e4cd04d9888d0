"""Portal fixtures: logging in through the real login form (with its CSRF token), a merchant
with orders, and a live server for the browser test."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PORTAL_RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
ORDER_DAY = date(2026, 10, 1)


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = TOKEN_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


class Portal:
    """A logged-in test client that sends the CSRF token the way the pages do."""

    def __init__(self, app, info: dict):
        self.app = app
        self.info = info
        self.client = app.test_client()
        response = login(self.client, info["email"], info["password"])
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf_token(self.client, "/orders")

    def get(self, path, htmx=False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", "HX-Request-Type": "partial", **headers}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path, data=None, htmx=True, **kwargs):
        """Like an htmx request from a page: the token in the X-CSRFToken header."""
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers |= {"HX-Request": "true", "HX-Request-Type": "partial"}
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)


@pytest.fixture
def merchant_info(make_merchant):
    return make_merchant("Alpenkiste GmbH")


@pytest.fixture
def portal(app, merchant_info):
    return Portal(app, merchant_info)


def order_body(number: str, **overrides) -> dict:
    body = {
        "number": number,
        "customer": {
            "name": overrides.pop("name", f"Kunde {number}"),
            "email": f"{number.lower()}@example.de",
            "country": overrides.pop("country", "DE"),
            "language": "de",
            "type": "b2c",
        },
        "amount": overrides.pop("amount", "80.00"),
        "currency": "EUR",
        "payment_method": overrides.pop("method", "prepayment"),
        "ordered_on": overrides.pop("ordered_on", ORDER_DAY).isoformat(),
    }
    body.update(overrides)
    return body


@pytest.fixture
def seed(app):
    """seed(merchant_id, [order bodies], rules=None) through the ledger, committed."""
    from ledger import orders, rulesets
    from ledger.db import db
    from ledger.models import Merchant

    def run(merchant_id: int, bodies: list[dict], rules: str | None = None):
        with app.app_context():
            merchant = db.session.get(Merchant, merchant_id)
            if rules:
                rulesets.save_and_activate(merchant, rules, "test")
            for body in bodies:
                orders.upsert_order(merchant, orders.parse_order(body), "api")
            db.session.commit()

    return run


@pytest.fixture
def live_server(app):
    """The app on a free port in a background thread (werkzeug, threaded)."""
    from werkzeug.serving import make_server

    from tests.conftest import free_port

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def shop(app, make_merchant):
    """A test client of the shop API: a merchant with the card's rules, its bearer token set."""
    from ledger import rulesets
    from ledger.accounts import find_merchant
    from ledger.db import db

    info = make_merchant()
    with app.app_context():
        rulesets.save_and_activate(find_merchant(info["name"]), PORTAL_RULES, "test")
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {info['token']}"
    return client


def count(app, model) -> int:
    """How many rows of `model` are stored."""
    from ledger.db import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))
