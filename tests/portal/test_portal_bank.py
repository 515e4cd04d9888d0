"""The bank page: statement upload (several files, each on its own), the Payments inbox and its
actions, the transaction page, and the order page's bank payments."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bench.camt_file import Booking, camt053
from ledger.models import BankImport, BankTransaction, LedgerEntry, PaymentAssignment
from portal.bank import parse_amount
from tests.portal.conftest import count, order_body

IBAN = "DE02120300000000202051"  # the test merchant's account (make_merchant)
DAY = date(2026, 10, 5)


@pytest.fixture
def shop(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    seed(
        merchant_info["id"],
        [
            order_body("AK-10001", name="Anna Schmidt", amount="49.90"),
            order_body("AK-10002", name="Lukas Müller", amount="120.00"),
            order_body("AK-10003", name="Lukas Müller", amount="30.00"),
        ],
    )
    return portal


def statement(*bookings: Booking, statement_id: str = "STMT-1") -> bytes:
    return camt053(IBAN, list(bookings), statement_id=statement_id)


# A payment naming AK-10001 without its prefix, by someone else: a suggestion, not assigned.
SUGGESTED = Booking(
    Decimal("49.90"), DAY, name="Max Mustermann", remittance="Bestellung 10001", end_to_end="E1"
)
# A payment naming nothing: unmatched.
UNKNOWN = Booking(Decimal("150.00"), DAY, name="Lukas Müller", remittance="Danke", end_to_end="E2")


def upload(portal, files: list[tuple[bytes, str]], htmx: bool = False):
    data = {"files": [(io.BytesIO(body), name) for body, name in files]}
    if not htmx:
        data["csrf_token"] = portal.token
    return portal.post("/bank/import", data, htmx=htmx, content_type="multipart/form-data")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def transactions(app) -> list[BankTransaction]:
    from ledger.db import db

    with app.app_context():
        rows = db.session.scalars(select(BankTransaction).order_by(BankTransaction.id)).all()
        db.session.expunge_all()
        return rows


def order(app, number: str):
    from ledger import orders
    from ledger.accounts import find_merchant
    from ledger.db import db

    with app.app_context():
        found = orders.find_order(find_merchant("Alpenkiste GmbH").id, number)
        db.session.expunge_all()
        return found


def imported(app, portal, *bookings: Booking) -> list[BankTransaction]:
    response = upload(portal, [(statement(*bookings), "day.xml")])
    assert response.status_code == 200, text(response)
    return transactions(app)


# --- upload -------------------------------------------------------------------------------------


def test_one_good_and_one_refused_file_in_one_request(app, shop):
    foreign = camt053("DE89370400440532013000", [UNKNOWN], statement_id="OTHER")
    response = upload(
        shop, [(statement(SUGGESTED, UNKNOWN), "october.xml"), (foreign, "other.xml")]
    )
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().lower().startswith("<!doctype html>")  # no JS: the whole page
    good = re.search(r'<li class="import-ok" data-file="october.xml">(.*?)</li>', page, re.S)
    assert good, page
    line = " ".join(good.group(1).split())
    assert "2 transactions, 2 new, 0 known, 0 matched, 1 suggested, 1 unmatched" in line
    refused = re.search(r'data-file="other.xml">(.*?)</li>', page, re.S).group(1)
    assert "refused" in refused and "DE89370400440532013000" in refused
    assert "not one of" in refused and "nothing of it was stored" in refused

    # The good one is stored, the refused one left nothing behind.
    assert count(app, BankImport) == 1
    assert [row.remittance for row in transactions(app)] == ["Bestellung 10001", "Danke"]
    assert "october.xml" in text(shop.get("/bank"))  # the import history

    # The same file again: every transaction known already.
    again = upload(shop, [(statement(SUGGESTED, UNKNOWN), "october-again.xml")], htmx=True)
    assert "2 transactions, 0 new, 2 known" in " ".join(text(again).split())
    assert count(app, BankTransaction) == 2


def test_the_htmx_upload_answers_the_bank_block(app, shop):
    response = upload(shop, [(statement(UNKNOWN), "a.xml")], htmx=True)
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="bank"')
    assert "<html" not in body and 'data-file="a.xml"' in body


def test_an_upload_without_files_or_with_garbage_says_so(app, shop):
    response = shop.post("/bank/import", {"csrf_token": shop.token}, htmx=False)
    assert response.status_code == 422
    assert "Choose at least one statement file" in text(response)
    response = upload(shop, [(b"\x00\x01 not a statement", "junk.bin")])
    assert response.status_code == 200
    assert re.search(r'data-file="junk.bin">\s*<strong>junk.bin</strong> refused:', text(response))
    assert count(app, BankImport) == 0


def test_an_over_size_upload_is_a_clear_413(app, shop, monkeypatch):
    import portal.bank

    monkeypatch.setattr(portal.bank, "UPLOAD_BYTES", 2000)
    response = upload(shop, [(statement(UNKNOWN) + b" " * 5000, "big.xml")])
    assert response.status_code == 413
    assert "The upload is too large" in text(response)
    assert "Nothing was imported" in text(response)
    assert count(app, BankImport) == 0


def test_a_file_over_the_per_file_limit_is_refused_alone(app, shop, monkeypatch):
    from ledger.bank import importing

    monkeypatch.setattr(importing, "MAX_BYTES", 4000)
    big = statement(UNKNOWN) + b" " * 5000
    response = upload(shop, [(big, "big.xml"), (statement(SUGGESTED), "small.xml")])
    page = text(response)
    assert re.search(r'data-file="big.xml">.*?larger than', page, re.S)
    assert 'class="import-ok" data-file="small.xml"' in page
    assert [row.remittance for row in transactions(app)] == ["Bestellung 10001"]


# --- the inbox ----------------------------------------------------------------------------------


def test_the_inbox_lists_a_suggested_payment_and_one_click_assigns_it(app, shop):
    [suggested, _unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    page = text(shop.get("/bank"))
    inbox = page[page.index('id="inbox-results"') :]
    assert "Bestellung 10001" in inbox and "Max Mustermann" in inbox
    assert "order number similar in the text" in inbox  # the suggestion's reasons
    assert "Assign to AK-10001" in inbox

    response = shop.post(
        f"/bank/transactions/{suggested.id}/assign", {"order": "AK-10001", "from": "inbox"}
    )
    assert response.status_code == 200, text(response)
    assert text(response).lstrip().startswith('<div id="bank"')
    assert "is assigned to AK-10001" in text(response)
    assert "Bestellung 10001" not in text(response)[text(response).index('id="inbox-results"') :]

    paid = order(app, "AK-10001")
    assert paid.status == "paid"
    detail = text(shop.get("/orders/AK-10001"))
    section = detail[detail.index('id="bank-payments"') :]
    assert "day.xml" in section and "Max Mustermann" in section
    assert f"/bank/transactions/{suggested.id}" in section
    assert "user:owner@alpenkiste.example" in section and "assigned by hand" in section


def test_assign_by_typed_number_as_a_plain_form_redirects_back(app, shop):
    [_suggested, unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    response = shop.post(
        f"/bank/transactions/{unknown.id}/assign",
        {"order": "AK-10002", "csrf_token": shop.token, "from": "inbox", "q": "Danke"},
        htmx=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/bank?q=Danke#inbox")
    assert "is assigned to AK-10002" in text(shop.get("/bank"))  # flashed
    assert order(app, "AK-10002").paid_total == Decimal("150.00")


def test_split_over_two_orders(app, shop):
    [_suggested, unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    response = shop.post(
        f"/bank/transactions/{unknown.id}/split",
        {"order": ["AK-10002", "AK-10003", "", ""], "amount": ["120,00", "30", "", ""]},
    )
    assert response.status_code == 200, text(response)
    assert "is assigned to AK-10002, AK-10003" in text(response)
    assert order(app, "AK-10002").status == "paid"
    assert order(app, "AK-10003").status == "paid"
    assert count(app, PaymentAssignment) == 2


def test_a_split_that_does_not_add_up_changes_nothing(app, shop):
    [_suggested, unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    response = shop.post(
        f"/bank/transactions/{unknown.id}/split",
        {"order": ["AK-10002", "AK-10003"], "amount": ["120.00", "20.00"]},
    )
    assert response.status_code == 422
    assert "Nothing was changed: the parts add up to 140.00" in text(response)
    # What was typed stays in the form.
    assert 'value="20.00"' in text(response)
    assert count(app, PaymentAssignment) == 0
    assert count(app, LedgerEntry) == _entries_without_payments(app)


def _entries_without_payments(app) -> int:
    from ledger.db import db

    with app.app_context():
        return db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.kind != "payment")
        )


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("split", {"order": ["AK-10002", "AK-10003"], "amount": ["abc", "30"]}, "is not an amount"),
        ("split", {"order": ["AK-10002", "AK-10003"], "amount": ["NaN", "30"]}, "is not an amount"),
        ("split", {"order": ["AK-10002", "AK-10003"], "amount": ["-5", "155"]}, "more than 0"),
        ("split", {"order": ["AK-10002", "AK-10003"], "amount": ["1.234", "30"]}, "two decimals"),
        ("split", {"order": ["AK-10002", ""], "amount": ["120", "30"]}, "no order number"),
        ("split", {"order": ["AK-10002"], "amount": ["150"]}, "at least two orders"),
        ("split", {"order": ["AK-10002", "NOPE-1"], "amount": ["120", "30"]}, "no order 'NOPE-1'"),
        ("assign", {"order": "NOPE-1"}, "no order 'NOPE-1'"),
        ("assign", {"order": ""}, "Give the order number"),
        ("assign", {"order": "X" * 500}, "no order with such a number"),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(app, shop, path, data, message):
    [_suggested, unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    response = shop.post(f"/bank/transactions/{unknown.id}/{path}", data | {"from": "inbox"})
    assert response.status_code == 422, text(response)
    assert message in text(response)
    assert 'role="alert"' in text(response)
    assert count(app, PaymentAssignment) == 0
    assert [row.state for row in transactions(app)] == ["suggested", "unmatched"]
    assert order(app, "AK-10002").paid_total == 0


def test_not_for_us_and_refund(app, shop):
    [suggested, unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    response = shop.post(f"/bank/transactions/{suggested.id}/not-for-us", {"from": "inbox"})
    assert response.status_code == 200
    assert "not for us" in text(response)
    response = shop.post(f"/bank/transactions/{unknown.id}/refund", {"from": "inbox"})
    assert response.status_code == 200
    body = text(response)
    refunds = body[body.index('id="refunds"') :]
    assert "Danke" in refunds and "Lukas Müller" in refunds
    assert [(row.state, row.reason) for row in transactions(app)] == [
        ("ignored", "not for us (user:owner@alpenkiste.example)"),
        ("refund", "to refund (user:owner@alpenkiste.example)"),
    ]
    # Done is done: a second action on it is refused, inline.
    again = shop.post(f"/bank/transactions/{unknown.id}/assign", {"order": "AK-10002"})
    assert again.status_code == 422
    assert "the transaction is refund already" in text(again)
    assert count(app, PaymentAssignment) == 0


def test_another_merchants_transaction_is_404(app, shop, make_merchant):
    [suggested, _unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    from tests.portal.conftest import Portal

    other = Portal(app, make_merchant("Bergwerk AG"))
    assert other.get(f"/bank/transactions/{suggested.id}").status_code == 404
    for path, data in [
        ("assign", {"order": "AK-10001"}),
        ("split", {"order": ["AK-10001", "AK-10002"], "amount": ["1", "48.90"]}),
        ("not-for-us", {}),
        ("refund", {}),
    ]:
        response = other.post(f"/bank/transactions/{suggested.id}/{path}", data)
        assert response.status_code == 404, path
    assert other.get("/bank/transactions/999999").status_code == 404
    assert "Bestellung 10001" not in text(other.get("/bank"))
    assert [row.state for row in transactions(app)] == ["suggested", "unmatched"]


def test_the_inbox_filters_fragment_and_full_page(app, shop):
    imported(app, shop, SUGGESTED, UNKNOWN)
    fragment = shop.get("/bank?state=unmatched&q=", htmx=True)
    assert fragment.status_code == 200
    body = text(fragment)
    assert body.lstrip().startswith('<div id="inbox-results"')
    assert "Danke" in body and "Bestellung 10001" not in body
    assert fragment.headers["HX-Push-Url"] == "/bank?state=unmatched"

    searched = text(shop.get("/bank?q=mustermann", htmx=True))
    assert "Bestellung 10001" in searched and "Danke" not in searched

    full = shop.get("/bank?state=unmatched")
    assert text(full).lstrip().lower().startswith("<!doctype html>")
    assert 'id="accounts"' in text(full) and "DE02 1203 0000 0000 2020 51" in text(full)

    wrong = text(shop.get("/bank?state=bogus&page=x", htmx=True))
    assert "Unknown state 'bogus'" in wrong and "Danke" in wrong


def test_the_transaction_page(app, shop):
    [suggested, _unknown] = imported(app, shop, SUGGESTED, UNKNOWN)
    full = shop.get(f"/bank/transactions/{suggested.id}")
    assert full.status_code == 200
    page = text(full)
    assert page.lstrip().lower().startswith("<!doctype html>")
    for expected in ("Bestellung 10001", "E1", "similar reference only", "day.xml"):
        assert expected in page
    assert "order number similar in the text" in page  # the suggestion and its reasons
    raw = re.search(r'id="raw">.*?<pre class="message-body"[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert '"Bestellung 10001"' in raw  # the raw fields as the reader took them, as JSON

    fragment = shop.get(f"/bank/transactions/{suggested.id}", htmx=True)
    assert text(fragment).lstrip().startswith('<div id="transaction"')

    # Assigning from the detail page answers the detail block.
    response = shop.post(
        f"/bank/transactions/{suggested.id}/assign", {"order": "AK-10001", "from": "detail"}
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="transaction"')
    assert "is assigned to AK-10001" in body
    assignments = body[body.index('id="assignments"') :]
    assert "AK-10001" in assignments and "assigned by hand" in assignments


def test_the_order_page_without_bank_payments(app, shop):
    page = text(shop.get("/orders/AK-10003"))
    assert "No bank payment is assigned to this order." in page


def test_the_bank_page_needs_a_login(app, merchant_info):
    client = app.test_client()
    assert client.get("/bank").status_code == 302
    assert client.get("/bank/transactions/1").status_code == 302


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("12", "12.00"),
        ("12,5", "12.50"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("30 €", "30.00"),
    ],
)
def test_amounts_as_people_type_them(typed, amount):
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["", "abc", "0", "-1", "1e400", "Infinity", "1.001"])
def test_amounts_refused(typed):
    with pytest.raises(ValueError):
        parse_amount(typed)


def test_a_payment_after_cancellation_is_refunded_from_the_order_page(app, shop):
    from ledger import lifecycle
    from ledger.db import db

    with app.app_context():
        found = db.session.merge(order(app, "AK-10003"))
        lifecycle.cancel(found, lifecycle.Cause("test", "manual", DAY))
        db.session.commit()
    late = Booking(Decimal("30.00"), DAY, name="Lukas Müller", remittance="AK-10003")
    upload(shop, [(statement(late), "late.xml")])
    cancelled = order(app, "AK-10003")
    assert cancelled.paid_after_cancellation and cancelled.status == "cancelled"
    page = text(shop.get("/orders/AK-10003"))
    assert "paid after cancellation" in page and "credit of €30.00" in page

    asked = shop.post("/orders/AK-10003/refund-request", {"csrf_token": shop.token}, htmx=False)
    assert asked.status_code in (200, 302)
    assert order(app, "AK-10003").refund_requested_on is not None
    bank_page = text(shop.get("/bank"))
    assert 'href="/orders/AK-10003"' in bank_page  # among the refunds to make
    again = shop.post("/orders/AK-10003/refund-request", {"csrf_token": shop.token}, htmx=False)
    assert order(app, "AK-10003").refund_requested_on is not None and again.status_code != 500

    shop.post("/orders/AK-10003/refund", {"csrf_token": shop.token}, htmx=False)
    refunded = order(app, "AK-10003")
    assert refunded.statement.credit == 0 and refunded.refund_requested_on is None
    assert not refunded.paid_after_cancellation
    assert 'href="/orders/AK-10003"' not in text(shop.get("/bank"))


def test_the_order_page_says_when_a_step_is_held_for_bank_data(app, portal, seed, merchant_info):
    from tests.portal.conftest import ORDER_DAY

    due = ORDER_DAY.toordinal() + 14
    app.config["MAHNWERK_TODAY"] = date.fromordinal(due).isoformat()
    rules = "hold while bank data older than 3 days\nvorkasse after 14 days: remind\n"
    seed(merchant_info["id"], [order_body("AK-20001")], rules=rules)
    page = text(portal.get("/orders/AK-20001"))
    assert "held: no bank data imported yet" in page

    old = date.fromordinal(due - 5)
    upload(portal, [(camt053(IBAN, [Booking(Decimal("1.00"), old)], period=(old, old)), "a.xml")])
    page = text(portal.get("/orders/AK-20001"))
    assert f"held: bank data from {old:%d.%m.}, older than 3 days" in page

    fresh = date.fromordinal(due - 1)
    upload(
        portal, [(camt053(IBAN, [Booking(Decimal("2.00"), fresh)], period=(fresh, fresh)), "b.xml")]
    )
    assert "held:" not in text(portal.get("/orders/AK-20001"))
