"""Re-reading an order from the shop (ledger/shop_sync.py) against a real HTTP server: the
signed GET, the API's parser and upsert, and every failure storing nothing but its audit entry."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from ledger import lifecycle, order_edits, shop_sync
from ledger.db import db
from ledger.models import AuditEntry, LedgerEntry, Source
from tests.conftest import DAY0, free_port

SECRET = "whsec_test-secret"


class ShopHandler(BaseHTTPRequestHandler):
    """Answers GET /shop/orders/<number> with what the test put in `answers` (path → (status,
    content type, body bytes, seconds to sleep first)); keeps each request's path and headers."""

    answers: dict = {}
    received: list = []

    def do_GET(self):  # noqa: N802 - the http.server API
        ShopHandler.received.append((self.path, dict(self.headers)))
        status, kind, body, sleep = ShopHandler.answers.get(
            self.path, (404, "application/json", b'{"error": "unknown"}', 0)
        )
        if sleep:
            time.sleep(sleep)
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (the timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def shop():
    ShopHandler.answers, ShopHandler.received = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), ShopHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/shop"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def body_of(number: str, **overrides) -> dict:
    body = {
        "number": number,
        "customer": {
            "name": f"Kunde {number}",
            "email": f"{number.lower()}@example.de",
            "country": "DE",
            "language": "de",
            "type": "b2c",
        },
        "amount": "80.00",
        "currency": "EUR",
        "payment_method": "prepayment",
        "ordered_on": DAY0.isoformat(),
    }
    customer = overrides.pop("customer", {})
    body["customer"].update(customer)
    body.update(overrides)
    return body


def answer(number: str, body, status=200, kind="application/json", sleep=0):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ShopHandler.answers[f"/shop/orders/{number}"] = (status, kind, raw, sleep)


@pytest.fixture
def merchant(card_merchant, shop):
    card_merchant.shop_url = shop
    card_merchant.webhook_secret = SECRET
    db.session.commit()
    return card_merchant


def audits(order, action):
    return db.session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.order_id == order.id, AuditEntry.action == action
        )
    ).all()


def snapshot(order):
    db.session.expire_all()
    entries = db.session.scalar(
        select(LedgerEntry.id)
        .where(LedgerEntry.order_id == order.id)
        .order_by(LedgerEntry.id.desc())
    )
    return (
        order.amount,
        order.customer_email,
        order.shop_changes,
        order.manual_fields,
        entries,
        len(audits(order, "order.updated")),
    )


def test_a_changed_amount_and_email_are_applied_and_the_request_is_signed(merchant, add_order):
    order = add_order(merchant, "A-1")
    db.session.commit()
    answer("A-1", body_of("A-1", amount="95.50", customer={"email": "neu@example.de"}))

    result = shop_sync.reread(order, "user:owner@alpenkiste.example")

    assert result.ok, result
    assert result.changes == {
        "customer_email": ["a-1@example.de", "neu@example.de"],
        "amount": ["80.00", "95.50"],
    }
    assert result.kept_aside == {}
    db.session.expire_all()
    assert order.amount == Decimal("95.50") and order.customer_email == "neu@example.de"
    assert order.statement.principal_open == Decimal("95.50")  # through the money ledger
    [detail] = audits(order, "order.reread")
    assert detail == result.changes
    assert audits(order, "order.reread_failed") == []

    [(path, headers)] = ShopHandler.received
    assert path == "/shop/orders/A-1"
    timestamp = headers["X-Mahnwerk-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(SECRET.encode(), f"{timestamp}.GET.{path}".encode(), hashlib.sha256)
    assert headers["X-Mahnwerk-Signature"] == "sha256=" + expected.hexdigest()


def test_the_same_data_again_changes_nothing(merchant, add_order):
    order = add_order(merchant, "A-2")
    db.session.commit()
    answer("A-2", body_of("A-2"))
    result = shop_sync.reread(order, "user:x")
    assert result.ok and result.changes == {} and result.kept_aside == {}
    assert audits(order, "order.reread") == [{}]


def test_a_field_edited_by_hand_keeps_the_shops_value_aside(merchant, add_order):
    order = add_order(merchant, "A-3")
    db.session.commit()
    cause = lifecycle.Cause("user:x", Source.MANUAL, DAY0)
    lifecycle.retrying(
        lambda: order_edits.edit_order(order, {"customer_email": "hand@example.de"}, cause)
    )
    answer("A-3", body_of("A-3", amount="90.00", customer={"email": "shop@example.de"}))

    result = shop_sync.reread(order, "user:x")

    assert result.ok
    assert result.changes == {"amount": ["80.00", "90.00"]}
    assert result.kept_aside == {"customer_email": "shop@example.de"}
    db.session.expire_all()
    assert order.customer_email == "hand@example.de"
    assert order.shop_changes == {"customer_email": "shop@example.de"}
    assert len(audits(order, "order.shop_change_ignored")) == 1


@pytest.mark.parametrize(
    ("status", "kind", "body", "error"),
    [
        (404, "application/json", b"{}", "the shop does not know this order (HTTP 404)"),
        (500, "text/plain", b"boom", "the shop answered HTTP %(status)s"),
        (200, "application/json", b"{not json", "the shop's answer is not JSON"),
        (200, "text/html", b"<html></html>", "the shop's answer is not JSON (%(type)s)"),
        (200, "application/json", b"[]", "the shop's order data is invalid"),
        (
            200,
            "application/json",
            b" " * (shop_sync.MAX_BYTES + 1),
            "the shop's answer is larger than %(limit)s bytes",
        ),
    ],
)
def test_a_bad_answer_stores_nothing_but_the_failure(
    merchant, add_order, status, kind, body, error
):
    order = add_order(merchant, "B-1")
    db.session.commit()
    before = snapshot(order)
    answer("B-1", body, status=status, kind=kind)

    result = shop_sync.reread(order, "user:x")

    assert not result.ok and result.error == error
    assert snapshot(order) == before
    [detail] = audits(order, "order.reread_failed")
    assert detail["reason"] == result.reason()
    assert audits(order, "order.reread") == []


def test_invalid_order_data_carries_the_parsers_messages(merchant, add_order):
    order = add_order(merchant, "B-2")
    db.session.commit()
    answer("B-2", body_of("B-2", amount="-5", customer={"email": "not an email"}))
    result = shop_sync.reread(order, "user:x")
    assert result.error == "the shop's order data is invalid"
    assert set(result.fields) == {"amount", "customer.email"}
    assert "amount" in audits(order, "order.reread_failed")[0]["reason"]


def test_another_number_is_refused(merchant, add_order):
    order = add_order(merchant, "B-3")
    db.session.commit()
    before = snapshot(order)
    answer("B-3", body_of("B-4", amount="1.00"))
    result = shop_sync.reread(order, "user:x")
    assert result.error == "the shop answered with another order number (%(number)s)"
    assert result.params == {"number": "B-4"}
    assert snapshot(order) == before


def test_a_shop_that_does_not_answer_in_time(merchant, add_order, monkeypatch):
    monkeypatch.setattr(shop_sync, "TIMEOUT_SECONDS", 0.3)
    order = add_order(merchant, "B-5")
    db.session.commit()
    answer("B-5", body_of("B-5", amount="1.00"), sleep=1.5)
    started = time.monotonic()
    result = shop_sync.reread(order, "user:x")
    assert time.monotonic() - started < 1.4
    assert result.error == "no answer within %(seconds)s seconds"
    assert result.params == {"seconds": 0.3}
    assert audits(order, "order.reread_failed") == [{"reason": "no answer within 0.3 seconds"}]


def test_nothing_listens(card_merchant, add_order, unused_port):
    card_merchant.shop_url = f"http://127.0.0.1:{unused_port}"
    order = add_order(card_merchant, "B-6")
    db.session.commit()
    result = shop_sync.reread(order, "user:x")
    assert result.error == "connection refused: nothing listens at that address and port"


def test_without_a_shop_url_or_on_an_internal_address(card_merchant, merchant, add_order, shop):
    order = add_order(card_merchant, "B-7")
    db.session.commit()
    answer("B-7", body_of("B-7", amount="1.00"))
    result = shop_sync.reread(order, "user:x", private_addresses=False)
    assert result.error == "refused: %(address)s is an internal address of this installation"
    assert ShopHandler.received == []
    card_merchant.shop_url = None
    db.session.commit()
    result = shop_sync.reread(order, "user:x")
    assert result.error == "no shop URL is set (settings)"
    assert len(audits(order, "order.reread_failed")) == 2


def test_the_number_is_quoted_in_the_path(merchant, add_order):
    order = add_order(merchant, "C.1_x-2")
    db.session.commit()
    answer("C.1_x-2", body_of("C.1_x-2"))
    assert shop_sync.reread(order, "user:x").ok
    assert shop_sync.order_url("https://shop.example/api/", "A 1/..") == (
        "https://shop.example/api/orders/A%201%2F.."
    )


@pytest.mark.parametrize(
    "url",
    [
        "shop.example",
        "ftp://shop.example",
        "http://shop.example/api",  # plain http only for this machine
        "https://user:pw@shop.example/api",
        "https://shop.example/api?token=1",
        "https://shop.example/api#x",
    ],
)
def test_a_shop_url_is_checked_like_a_webhook_url(card_merchant, url):
    from ledger import settings

    with pytest.raises(settings.SettingsRefused) as refused:
        settings.update(card_merchant, {"shop_url": url}, "test")
    assert set(refused.value.by_field) == {"shop_url"}
    assert card_merchant.shop_url is None


def test_a_good_shop_url_is_kept(card_merchant):
    from ledger import settings

    settings.update(card_merchant, {"shop_url": "https://shop.example/mahnwerk"}, "test")
    assert card_merchant.shop_url == "https://shop.example/mahnwerk"
    settings.update(card_merchant, {"shop_url": "http://127.0.0.1:8080/x"}, "test")
    assert card_merchant.shop_url == "http://127.0.0.1:8080/x"


def test_the_command_line_sets_the_shop_url_with_the_same_checks(app, card_merchant):
    runner = app.test_cli_runner()
    name = card_merchant.name
    args = ["merchant", "update", "--merchant", name, "--shop-url"]
    refused = runner.invoke(args=[*args, "https://shop.example/x?token=1"])
    assert refused.exit_code == 1 and "shop_url" in refused.output
    done = runner.invoke(args=[*args, "https://shop.example/mahnwerk"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert card_merchant.shop_url == "https://shop.example/mahnwerk"
    assert runner.invoke(args=[*args, ""]).exit_code == 0
    db.session.expire_all()
    assert card_merchant.shop_url is None


def test_an_erased_order_is_not_filled_again_from_the_shop(merchant, add_order):
    from ledger import manual

    order = add_order(merchant, "E-1")
    db.session.commit()
    lifecycle.retrying(lambda: manual.erase_personal_data(order, "user:x", DAY0))
    answer("E-1", body_of("E-1"))
    result = shop_sync.reread(order, "user:x")
    assert result.error == "the order's personal data is erased; it is not read again"
    assert ShopHandler.received == []
    db.session.expire_all()
    assert order.customer_email != "e-1@example.de"


def test_an_order_erased_while_the_shop_answers_is_not_filled_again(
    merchant, add_order, monkeypatch
):
    """The erasure lands between the check before asking the shop and the answer: the answer
    is applied to the order as it is then, locked, and refused."""
    from ledger import manual

    order = add_order(merchant, "E-2")
    db.session.commit()
    answer("E-2", body_of("E-2", amount="90.00"))
    fetch = shop_sync.fetch

    def fetch_while_erased(*args, **kwargs):
        data = fetch(*args, **kwargs)
        lifecycle.retrying(lambda: manual.erase_personal_data(order, "user:y", DAY0))
        return data

    monkeypatch.setattr(shop_sync, "fetch", fetch_while_erased)
    result = shop_sync.reread(order, "user:x")
    assert not result.ok and result.refusal.code == "erased"
    db.session.expire_all()
    assert order.customer_email == "[erased]" and order.amount != Decimal("90.00")
