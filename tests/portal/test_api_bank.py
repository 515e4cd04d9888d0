"""The bank endpoints of the shop API: statements in as multipart files, bank accounts."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from bench.camt_file import Booking, camt053
from ledger.models import BankImport, BankTransaction
from tests.portal.conftest import count, order_body

IBAN = "DE02120300000000202051"


def _post_file(shop, body: bytes, name: str = "auszug.xml"):
    return shop.post(
        "/api/v1/bank-statements",
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def test_a_statement_is_imported_once_and_matched(app, shop):
    created = shop.post("/api/v1/orders", json=order_body("AK-10001", amount="49.90"))
    assert created.status_code == 201
    paid = Booking(
        Decimal("49.90"), date(2026, 10, 5), name="Kunde AK-10001", remittance="AK-10001"
    )
    first = _post_file(shop, camt053(IBAN, [paid, Booking(Decimal("3.00"), date(2026, 10, 5))]))
    assert first.status_code == 201
    body = first.get_json()
    assert {k: body[k] for k in ("transactions", "new", "known", "matched", "unmatched")} == {
        "transactions": 2, "new": 2, "known": 0, "matched": 1, "unmatched": 1,
    }  # fmt: skip
    assert body["format"] == "camt.053.001.08" and body["data_as_of"] == "2026-10-05"
    again = _post_file(shop, camt053(IBAN, [paid, Booking(Decimal("3.00"), date(2026, 10, 5))]))
    assert (again.get_json()["new"], again.get_json()["known"]) == (0, 2)
    assert shop.get("/api/v1/orders/AK-10001").get_json()["status"] == "paid"


def test_a_refused_statement_is_422_and_stores_nothing(app, shop):
    for body, name, expected in [
        (b"<Document><x/></Document>", "x.xml", "not a bank statement"),
        (b"<Document", "broken.xml", "line 1"),
        (camt053("DE89370400440532013000", [Booking(Decimal("1"), date(2026, 1, 1))]), "o.xml",
         "not one of Alpenkiste GmbH's bank accounts"),
    ]:  # fmt: skip
        refused = _post_file(shop, body, name)
        assert refused.status_code == 422
        (error,) = refused.get_json()["errors"]
        assert error["field"] == "file" and expected in error["message"]
    missing = shop.post("/api/v1/bank-statements", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert count(app, BankImport) == count(app, BankTransaction) == 0


def test_bank_accounts(shop):
    listed = shop.get("/api/v1/bank-accounts").get_json()
    assert [a["iban"] for a in listed] == [IBAN] and listed[0]["data_as_of"] is None
    added = shop.post("/api/v1/bank-accounts", json={"iban": "CH93 0076 2011 6238 5295 7"})
    assert added.status_code == 201 and added.get_json()["currency"] == "CHF"
    bad = shop.post("/api/v1/bank-accounts", json={"iban": "CH93 0076 2011 6238 5295 8"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "iban"
    twice = shop.post("/api/v1/bank-accounts", json={"iban": IBAN})
    assert twice.status_code == 422 and "exists already" in twice.get_json()["errors"][0]["message"]
    assert shop.post("/api/v1/bank-accounts", json={"iban": 7}).status_code == 422
