"""Strict input: a table of bad requests, each answered 422 naming the field (404 for a path that
cannot name an order, 413 for an oversize body), never a 500, and nothing stored: no order, no
ledger entry, no audit entry, no idempotency record. And the good edge cases still accepted.
Runs on whatever database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.portal.conftest import count

NUMBER = "AK-1001"  # the order the payment cases pay for


def order_body(**overrides) -> dict:
    body = {
        "number": NUMBER,
        "customer": {
            "name": "Anna Schmidt",
            "email": "anna@example.de",
            "country": "DE",
            "language": "de",
            "type": "b2c",
        },
        "amount": "49.90",
        "currency": "EUR",
        "payment_method": "prepayment",
        "ordered_on": "2026-11-01",
    }
    body.update(overrides)
    return body


def payment_body(**overrides) -> dict:
    return {"amount": "20.00", "paid_on": "2026-11-03"} | overrides


def stored(app) -> dict[str, int]:
    from ledger.models import AuditEntry, IdempotentRequest, LedgerEntry, Order

    models = (Order, LedgerEntry, AuditEntry, IdempotentRequest)
    return {model.__name__: count(app, model) for model in models}


# --- the table ------------------------------------------------------------------------------
# Each case: (name, change, field). A change is a dict merged into the body, or a function that
# changes a copy of it; the field is the dotted name the 422 must list.


def customer(**fields):
    def change(body):
        body["customer"].update(fields)

    return change


def without(*path):
    def change(body):
        node = body
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


ORDER_CASES = [
    # order number
    ("number missing", without("number"), "number"),
    ("number null", {"number": None}, "number"),
    ("number as integer", {"number": 1001}, "number"),
    ("number empty", {"number": ""}, "number"),
    ("number with slash", {"number": "AK/1"}, "number"),
    ("number '.'", {"number": "."}, "number"),
    ("number '..'", {"number": ".."}, "number"),
    ("number with CR LF", {"number": "AK\r\n1"}, "number"),
    ("number with NUL", {"number": "AK\x001"}, "number"),
    ("number with zero-width space", {"number": "AK\u200b1"}, "number"),
    ("number of 65 characters", {"number": "A" * 65}, "number"),
    ("number of 1000 characters", {"number": "A" * 1000}, "number"),
    ("number starting with '-'", {"number": "-AK1"}, "number"),
    ("number with inner space", {"number": "AK 1"}, "number"),
    ("number with umlaut", {"number": "ÄK-1"}, "number"),
    ("number with fullwidth digits", {"number": "ＡＫ１"}, "number"),
    ("number as list", {"number": ["AK-1"]}, "number"),
    ("number with lone surrogate", {"number": "AK\ud800"}, "number"),
    # customer
    ("customer missing", without("customer"), "customer.name"),
    ("customer as string", {"customer": "Anna"}, "customer"),
    ("customer as list", {"customer": []}, "customer"),
    ("name missing", without("customer", "name"), "customer.name"),
    ("name empty", customer(name=""), "customer.name"),
    ("name only spaces", customer(name="   "), "customer.name"),
    ("name of 201 characters", customer(name="A" * 201), "customer.name"),
    ("name with LF", customer(name="Anna\nSchmidt"), "customer.name"),
    ("name with NUL", customer(name="Anna\x00"), "customer.name"),
    ("name with tab", customer(name="Anna\tSchmidt"), "customer.name"),
    ("name with C1 control", customer(name="Anna\x85"), "customer.name"),
    ("name with DEL", customer(name="Anna\x7f"), "customer.name"),
    ("name with lone surrogate", customer(name="Anna \udc00"), "customer.name"),
    ("name with bidi override", customer(name="Anna \u202eSchmidt"), "customer.name"),
    ("name with line separator", customer(name="Anna\u2028Schmidt"), "customer.name"),
    ("name as object", customer(name={"first": "Anna"}), "customer.name"),
    ("name as number", customer(name=42), "customer.name"),
    ("email not an address", customer(email="not-an-address"), "customer.email"),
    ("email header injection", customer(email="a@example.de\r\nBcc: x@y.z"), "customer.email"),
    ("email too long", customer(email="a" * 250 + "@example.de"), "customer.email"),
    ("email with zero-width space", customer(email="anna\u200b@example.de"), "customer.email"),
    ("email with quotes", customer(email='"anna s"@example.de'), "customer.email"),
    ("email domain with underscore", customer(email="anna@ex_ample.de"), "customer.email"),
    ("email domain without TLD", customer(email="anna@localhost"), "customer.email"),
    ("email as number", customer(email=42), "customer.email"),
    ("country as name", customer(country="Germany"), "customer.country"),
    ("country with digit", customer(country="D1"), "customer.country"),
    ("country non-ASCII", customer(country="ÄÖ"), "customer.country"),
    ("country as list", customer(country=["DE"]), "customer.country"),
    ("language unknown", customer(language="es"), "customer.language"),
    ("language as list", customer(language=["de"]), "customer.language"),
    ("type unknown", customer(type="vip"), "customer.type"),
    ("type as boolean", customer(type=True), "customer.type"),
    ("region of 11 characters", customer(region="A" * 11), "customer.region"),
    ("region with NUL", customer(region="B\x00Y"), "customer.region"),
    ("address with CR LF", customer(address="Hauptstr. 1\r\n80331 München"), "customer.address"),
    ("address with NUL", customer(address="Hauptstr. 1\x00"), "customer.address"),
    ("address of 501 characters", customer(address="A" * 501), "customer.address"),
    # amount
    ("amount missing", without("amount"), "amount"),
    ("amount '1e30'", {"amount": "1e30"}, "amount"),
    ("amount 1e30 as number", {"amount": 1e30}, "amount"),
    ("amount 1e308 as number", {"amount": 1e308}, "amount"),
    ("amount of 29 digits", {"amount": "1" * 29}, "amount"),
    ("amount of 29 digits as number", {"amount": 10**28}, "amount"),
    ("amount of 11 integer digits", {"amount": "12345678901.00"}, "amount"),
    ("amount with underscores", {"amount": "1_000.00"}, "amount"),
    ("amount in Arabic-Indic digits", {"amount": "\u0661\u0662\u0663"}, "amount"),
    ("amount in fullwidth digits", {"amount": "４９.９０"}, "amount"),
    ("amount with three places", {"amount": "12.345"}, "amount"),
    ("amount with three places as number", {"amount": 12.345}, "amount"),
    ("amount negative", {"amount": "-5"}, "amount"),
    ("amount zero", {"amount": 0}, "amount"),
    ("amount '0.00'", {"amount": "0.00"}, "amount"),
    ("amount 'NaN'", {"amount": "NaN"}, "amount"),
    ("amount 'Infinity'", {"amount": "Infinity"}, "amount"),
    ("amount boolean", {"amount": True}, "amount"),
    ("amount German style", {"amount": "1.000,00"}, "amount"),
    ("amount with comma", {"amount": "49,90"}, "amount"),
    ("amount with currency sign", {"amount": "49.90 €"}, "amount"),
    ("amount with plus sign", {"amount": "+49.90"}, "amount"),
    ("amount empty", {"amount": ""}, "amount"),
    ("amount as object", {"amount": {"value": "49.90"}}, "amount"),
    ("amount as list", {"amount": ["49.90"]}, "amount"),
    # currency and method
    ("currency USD", {"currency": "USD"}, "currency"),
    ("currency as list", {"currency": ["EUR"]}, "currency"),
    ("currency symbol", {"currency": "€"}, "currency"),
    ("payment_method as list", {"payment_method": ["prepayment"]}, "payment_method"),
    ("payment_method as object", {"payment_method": {}}, "payment_method"),
    ("payment_method unknown", {"payment_method": "bitcoin"}, "payment_method"),
    ("payment_method with NUL", {"payment_method": "cod\x00"}, "payment_method"),
    # dates
    ("ordered_on 9999-12-21", {"ordered_on": "9999-12-21"}, "ordered_on"),
    ("ordered_on 9999-12-2x", {"ordered_on": "9999-12-2x"}, "ordered_on"),
    ("ordered_on ISO week date", {"ordered_on": "2026-W01-1"}, "ordered_on"),
    ("ordered_on basic format", {"ordered_on": "20261101"}, "ordered_on"),
    ("ordered_on with time", {"ordered_on": "2026-11-01T00:00:00"}, "ordered_on"),
    ("ordered_on German style", {"ordered_on": "1.11.2026"}, "ordered_on"),
    ("ordered_on 30 February", {"ordered_on": "2026-02-30"}, "ordered_on"),
    ("ordered_on before 2000", {"ordered_on": "1999-12-31"}, "ordered_on"),
    ("ordered_on as number", {"ordered_on": 20261101}, "ordered_on"),
    ("ordered_on fullwidth digits", {"ordered_on": "２０２６-11-01"}, "ordered_on"),
    ("due_on after 2100", {"due_on": "2101-01-01"}, "due_on"),
    ("due_on before ordered_on", {"due_on": "2026-10-01"}, "due_on"),
    # invoice number and tags
    ("invoice_number with LF", {"invoice_number": "RE\n1"}, "invoice_number"),
    ("invoice_number of 65 characters", {"invoice_number": "R" * 65}, "invoice_number"),
    ("tags as object", {"tags": {}}, "tags"),
    ("tags as string", {"tags": "wholesale"}, "tags"),
    ("21 tags", {"tags": ["t"] * 21}, "tags"),
    ("tag of 41 characters", {"tags": ["x" * 41]}, "tags.0"),
    ("tag as number", {"tags": ["ok", 1]}, "tags.1"),
    ("tag empty", {"tags": [""]}, "tags.0"),
    ("tag with LF", {"tags": ["a\nb"]}, "tags.0"),
    ("tag as list", {"tags": [["nested"]]}, "tags.0"),
]

PAYMENT_CASES = [
    ("payment amount missing", {"amount": None}, "amount"),
    ("payment amount zero", {"amount": "0"}, "amount"),
    ("payment amount negative", {"amount": -1}, "amount"),
    ("payment amount with exponent", {"amount": "1e3"}, "amount"),
    ("payment amount 1e30", {"amount": 1e30}, "amount"),
    ("payment amount three places", {"amount": "0.001"}, "amount"),
    ("payment amount Arabic-Indic", {"amount": "\u0662\u0660"}, "amount"),
    ("payment amount boolean", {"amount": False}, "amount"),
    ("paid_on missing", {"paid_on": None}, "paid_on"),
    ("paid_on not a date", {"paid_on": "x"}, "paid_on"),
    ("paid_on ISO week date", {"paid_on": "2026-W45-2"}, "paid_on"),
    ("paid_on 9999-12-31", {"paid_on": "9999-12-31"}, "paid_on"),
    ("paid_on 0001-01-01", {"paid_on": "0001-01-01"}, "paid_on"),
    ("reference with LF", {"reference": "AK-1001\nSchmidt"}, "reference"),
    ("reference with NUL", {"reference": "AK\x001001"}, "reference"),
    ("reference of 201 characters", {"reference": "r" * 201}, "reference"),
    ("reference as number", {"reference": 1001}, "reference"),
    ("reference as list", {"reference": ["AK-1001"]}, "reference"),
]


def _apply(body: dict, change) -> dict:
    body = copy.deepcopy(body)
    if callable(change):
        change(body)
    else:
        body.update(change)
    return body


def _check_refusals(app, shop, url, base, cases, title):
    before = stored(app)
    wrong = []
    for name, change, field in cases:
        response = shop.post(url, json=_apply(base, change))
        fields = (
            {e["field"]: e["message"] for e in response.json.get("errors", [])}
            if response.is_json
            else {}
        )
        if response.status_code != 422 or field not in fields:
            wrong.append(f"{name}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        elif response.json["error"] != title or not all(fields.values()):
            wrong.append(f"{name}: {response.json}")
    assert not wrong, "\n".join(wrong)
    assert stored(app) == before


def test_bad_orders_are_refused_naming_the_field(app, shop):
    assert len(ORDER_CASES) + len(PAYMENT_CASES) + len(RAW_CASES) + len(PATH_CASES) >= 60
    _check_refusals(app, shop, "/api/v1/orders", order_body(), ORDER_CASES, "invalid order")
    assert stored(app)["Order"] == 0


def test_bad_payments_are_refused_naming_the_field(app, shop):
    assert shop.post("/api/v1/orders", json=order_body()).status_code == 201
    url = f"/api/v1/orders/{NUMBER}/payments"
    _check_refusals(app, shop, url, payment_body(), PAYMENT_CASES, "invalid payment")
    before = stored(app)
    long_key = shop.post(url, json=payment_body(), headers={"Idempotency-Key": "k" * 201})
    assert long_key.status_code == 422
    assert long_key.json["errors"][0]["field"] == "Idempotency-Key"
    assert stored(app) == before


# --- bodies that are not a JSON object, or too big --------------------------------------------

BIG = 64 * 1024
RAW_CASES = [
    # (name, data, content type, status)
    ("form-encoded body", b"number=AK-1", "application/x-www-form-urlencoded", 422),
    ("text/plain JSON", json.dumps(order_body()).encode(), "text/plain", 422),
    ("empty body", b"", "application/json", 422),
    ("truncated JSON", b'{"number": "AK-1"', "application/json", 422),
    ("JSON array", b"[1, 2]", "application/json", 422),
    ("JSON null", b"null", "application/json", 422),
    ("JSON string", b'"AK-1"', "application/json", 422),
    ("NaN literal", json.dumps(order_body()).replace('"49.90"', "NaN").encode(), None, 422),
    ("invalid UTF-8", b'{"number": "\xff\xfe"}', "application/json", 422),
    ("5000-digit integer", ('{"amount": ' + "9" * 5000 + "}").encode(), None, 422),
    ("deeply nested", b"[" * 50_000 + b"]" * 50_000, "application/json", 413),
    ("nested below the limit", b"[" * 30_000 + b"]" * 30_000, "application/json", 422),
    ("1 MB tag", json.dumps(order_body(tags=["x" * 1_000_000])).encode(), None, 413),
    ("100 000 tags", json.dumps(order_body(tags=["t"] * 100_000)).encode(), None, 413),
    ("body over the limit", json.dumps(order_body(note="n" * BIG)).encode(), None, 413),
]


@pytest.mark.parametrize("endpoint", ["orders", "payments"])
def test_bodies_that_are_not_a_json_object_or_too_big(app, shop, endpoint):
    if endpoint == "payments":
        assert shop.post("/api/v1/orders", json=order_body()).status_code == 201
    url = "/api/v1/orders" if endpoint == "orders" else f"/api/v1/orders/{NUMBER}/payments"
    before = stored(app)
    wrong = []
    for name, data, content_type, status in RAW_CASES:
        response = shop.post(url, data=data, content_type=content_type or "application/json")
        if response.status_code != status or response.json["errors"][0]["field"] != "body":
            wrong.append(f"{name}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    assert not wrong, "\n".join(wrong)
    assert stored(app) == before


# --- paths that cannot name an order ---------------------------------------------------------

PATH_CASES = [
    "%00",
    "AK%001001",
    "A" * 1000,
    "AK%0D%0A1001",
    "AK%0A1001",
    "%7F",
    "%C2%85",  # C1 NEL
    "%ED%A0%80",  # a UTF-8-encoded surrogate: not UTF-8
    "%FF%FE",
    "AK%2F1001",  # an encoded slash is a slash to the router
    "%2E%2E",
    ".",
    "AK%E2%80%8B1001",  # zero-width space: a lookup that finds nothing
]


def test_paths_that_cannot_name_an_order_are_404(app, shop):
    assert shop.post("/api/v1/orders", json=order_body()).status_code == 201
    before = stored(app)
    wrong = []
    for number in PATH_CASES:
        for method, url in (
            ("get", f"/api/v1/orders/{number}"),
            ("post", f"/api/v1/orders/{number}/payments"),
        ):
            if method == "get":
                response = shop.get(url)
            else:
                response = shop.post(url, json=payment_body(), headers={"Idempotency-Key": "k1"})
            if response.status_code not in (404, 422):
                wrong.append(f"{method} {url[:80]}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert stored(app) == before
    assert shop.get(f"/api/v1/orders/{NUMBER}").status_code == 200


def test_refusals_do_not_echo_the_bad_input(shop):
    response = shop.post("/api/v1/orders", json=order_body(number="\ud800\x00" + "X" * 900))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "XXXX" not in text and "\\u0000" not in text and "\\ud800" not in text
    assert shop.get("/api/v1/orders/%00" + "Y" * 900).get_data(as_text=True).count("Y") == 0


# --- what must still be accepted ---------------------------------------------------------------

GOOD_ORDERS = [
    ("German method words", {"payment_method": "Vorkasse"}, "payment_method", "prepayment"),
    ("rechnung", {"payment_method": "rechnung"}, "payment_method", "invoice"),
    ("NACHNAHME", {"payment_method": "NACHNAHME"}, "payment_method", "cod"),
    ("amount as JSON number", {"amount": 49.9}, "amount", "49.90"),
    ("amount as integer", {"amount": 50}, "amount", "50.00"),
    ("amount one place", {"amount": "49.9"}, "amount", "49.90"),
    ("amount trailing zeros", {"amount": "49.9000"}, "amount", "49.90"),
    ("largest amount", {"amount": "9999999999.99"}, "amount", "9999999999.99"),
    ("smallest amount", {"amount": "0.01"}, "amount", "0.01"),
    ("amount with spaces", {"amount": " 49.90 "}, "amount", "49.90"),
    ("currency lower case", {"currency": "chf"}, "currency", "CHF"),
    ("first day", {"ordered_on": "2000-01-01"}, "ordered_on", "2000-01-01"),
    ("last day", {"ordered_on": "2100-12-31"}, "ordered_on", "2100-12-31"),
    ("null for optional fields", {"due_on": None, "invoice_number": None, "tags": None}, "", ""),
    ("unknown fields are ignored", {"channel": "web", "items": [{"sku": 1}]}, "", ""),
]


@pytest.mark.parametrize(("change", "field", "expected"), [c[1:] for c in GOOD_ORDERS])
def test_good_edge_cases_are_accepted(app, shop, change, field, expected):
    response = shop.post("/api/v1/orders", json=order_body(**change))
    assert response.status_code == 201, response.json
    if field:
        assert response.json[field] == expected


def test_good_customer_and_number_edge_cases(app, shop):
    from ledger import orders
    from ledger.db import db

    number = "Z9._-" + "a" * 59
    body = order_body(
        number=number,
        tags=["t" * 40] * 20,
        invoice_number="RE-2026/11-0001",
        due_on="2026-11-15",
    )
    body["customer"] = {
        "name": "  Zoë Ærøskøbing-Łukasiewicz 👩‍💻  ",  # the emoji's zero-width joiner too
        "email": "zoë.o'brien+shop@münchen.example.de",
        "country": "at",
        "language": "FR",
        "type": "B2B",
        "region": "w",
        "address": "Hauptstraße 1\nTür 4\n1010 Wien",
    }
    response = shop.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.json
    assert response.json["customer"]["name"] == "Zoë Ærøskøbing-Łukasiewicz 👩‍💻"
    assert response.json["customer"] | {"name": ""} == {
        "name": "",
        "email": "zoë.o'brien+shop@münchen.example.de",
        "country": "AT",
        "region": "W",
        "language": "fr",
        "type": "b2b",
        "number": None,  # the shop's customer number, none sent
    }
    read = shop.get(f"/api/v1/orders/{number}")
    assert read.status_code == 200 and read.json["number"] == number
    merchant_id = _merchant_id(app)
    with app.app_context():
        order = orders.find_order(merchant_id, number)
        assert order.postal_address == "Hauptstraße 1\nTür 4\n1010 Wien"
        assert order.tags == ["t" * 40] * 20
        db.session.rollback()

    payment = shop.post(
        f"/api/v1/orders/{number}/payments",
        json={"amount": 10, "paid_on": "2026-11-03", "reference": "Überweisung Zoë"},
    )
    assert payment.status_code == 201, payment.json
    assert Decimal(payment.json["paid_amount"]) == Decimal("10.00")


def _merchant_id(app) -> int:
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        return db.session.scalar(select(Merchant.id))
