"""The bank page in a real browser: upload a statement, assign a suggested payment with one
click, and find it on the order page (Debian's chromium driven by Playwright, under the CSP)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bench.camt_file import Booking, camt053
from tests.portal.conftest import order_body
from tests.portal.test_portal_browser import _log_in, browser, csp  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

IBAN = "DE02120300000000202051"
DAY = date(2026, 10, 5)


@pytest.fixture
def shop(app, make_merchant, seed):
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    info = make_merchant("Alpenkiste GmbH")
    seed(
        info["id"],
        [
            order_body("AK-10001", name="Anna Schmidt", amount="49.90"),
            order_body("AK-10002", name="Lukas Müller", amount="120.00"),
            order_body("AK-10003", name="Max Mustermann", amount="30.00"),
        ],
    )
    return info


def statement_file() -> bytes:
    return camt053(
        IBAN,
        [
            # AK-10001 without its prefix, paid by someone else: a suggestion only.
            Booking(
                Decimal("49.90"),
                DAY,
                name="Max Mustermann",
                remittance="Bestellung 10001",
                end_to_end="E1",
            ),
            Booking(Decimal("120.00"), DAY, name="Lukas Müller", remittance="AK-10002"),
        ],
    )


def test_upload_a_statement_assign_a_suggestion_and_see_the_order_paid(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, live_server, shop)
    page.click("nav.mainnav a:has-text('Bank')")
    page.wait_for_url(f"{live_server}/bank")
    assert "never imported" in page.locator("#accounts").inner_text()
    assert "DE02 1203 0000 0000 2020 51" in page.locator("#accounts").inner_text()

    page.set_input_files(
        "#statement-files",
        files=[
            {"name": "october.xml", "mimeType": "application/xml", "buffer": statement_file()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a statement"},
        ],
    )
    assert page.locator(".drop-files").inner_text() == "october.xml, notes.txt"
    page.click("#upload button[type=submit]")
    result = page.locator("#import-result")
    result.wait_for()
    good = result.locator("li.import-ok").inner_text()
    assert "2 transactions, 2 new, 0 known, 1 matched, 1 suggested, 0 unmatched" in good
    assert "notes.txt refused:" in result.locator("li.import-refused").inner_text()
    assert page.url == f"{live_server}/bank"  # swapped in place by bank.js
    assert "Oct 5, 2026" in page.locator("#accounts").inner_text()  # bank data as of
    assert "october.xml" in page.locator("#history").inner_text()

    inbox = page.locator("#inbox-results")
    assert "Bestellung 10001" in inbox.inner_text()
    assert "order number similar in the text" in inbox.inner_text()
    inbox.locator("button", has_text="Assign to AK-10001").click()
    page.locator(".alert-notice", has_text="is assigned to AK-10001").wait_for()
    assert "No payment is waiting" in page.locator("#inbox-results").inner_text()

    page.goto(f"{live_server}/orders/AK-10001")
    assert page.locator(".page-head .badge.status-paid").inner_text() == "paid"
    payments = page.locator("#bank-payments").inner_text()
    assert "Max Mustermann" in payments and "october.xml" in payments
    assert "assigned by hand" in payments
    page.click("#bank-payments a:has-text('Transaction')")
    page.locator("#assignments", has_text="AK-10001").wait_for()
    page.screenshot(path="/tmp/mahnwerk-bank-transaction.png", full_page=True)


def test_drop_files_onto_the_drop_zone_and_filter_the_inbox(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    _log_in(page, live_server, shop)
    page.goto(f"{live_server}/bank")
    body = list(statement_file())
    page.evaluate(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "dropped.xml",
                                        {type: "application/xml"}));
            const zone = document.querySelector(".drop-zone");
            zone.dispatchEvent(new DragEvent("dragover", {bubbles: true, dataTransfer: transfer}));
            zone.dispatchEvent(new DragEvent("drop", {bubbles: true, dataTransfer: transfer}));
        }""",
        body,
    )
    assert page.locator(".drop-files").inner_text() == "dropped.xml"
    page.click("#upload button[type=submit]")
    page.locator("#import-result li.import-ok", has_text="dropped.xml").wait_for()

    page.fill("#inbox input[type=search]", "nobody")
    page.wait_for_url(f"{live_server}/bank?q=nobody")
    page.locator("#inbox-results", has_text="No payment is waiting that matches").wait_for()
    page.fill("#inbox input[type=search]", "muster")
    page.wait_for_url(f"{live_server}/bank?q=muster")
    page.locator("#inbox-results", has_text="Bestellung 10001").wait_for()

    # Leaving the search box asks for nothing more: its value was searched already (the list
    # is not swapped under what the user moves on to).
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.locator("#inbox input[type=search]").blur()
    page.wait_for_timeout(500)
    assert not [url for url in requests if "/bank?" in url], requests
    page.locator("#inbox-results", has_text="Bestellung 10001").wait_for()

    # Split it: first a wrong sum (refused inline, what was typed kept), then the right one.
    row_actions = page.locator("#inbox-results .bank-actions").first
    row_actions.locator("summary", has_text="Split").click()
    orders = row_actions.locator("details.split input[name=order]")
    amounts = row_actions.locator("details.split input[name=amount]")
    orders.nth(0).fill("AK-10001")
    amounts.nth(0).fill("19,90")
    orders.nth(1).fill("AK-10003")
    amounts.nth(1).fill("20")
    row_actions.locator("button", has_text="Split").click()
    page.locator("#bank-error", has_text="the parts add up to 39.90").wait_for()
    row_actions = page.locator("#inbox-results .bank-actions").first
    amounts = row_actions.locator("details.split input[name=amount]")
    assert amounts.nth(0).input_value() == "19,90"
    amounts.nth(1).fill("30,00")
    row_actions.locator("button", has_text="Split").click()
    page.locator(".alert-notice", has_text="is assigned to AK-10001, AK-10003").wait_for()
    assert page.url == f"{live_server}/bank?q=muster"
    page.screenshot(path="/tmp/mahnwerk-bank-page.png", full_page=True)
