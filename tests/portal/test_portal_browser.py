"""The portal in a real browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

from datetime import date

import pytest

from tests.portal.conftest import PORTAL_RULES, order_body

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def shop(app, make_merchant, seed):
    """A merchant with the card's rules and a few orders; today is pinned to 2026-10-10."""
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    info = make_merchant("Alpenkiste GmbH")
    seed(
        info["id"],
        [
            order_body("AK-10001", name="Anna Schmidt", amount="49.90"),
            order_body("AK-10002", name="Lukas Müller", method="invoice", amount="120.00"),
            order_body("AK-10003", name="Sophie Weber", ordered_on=date(2026, 10, 5)),
        ],
        rules=PORTAL_RULES,
    )
    return info


def test_log_in_open_an_order_and_see_its_next_step(live_server, browser, shop):
    page = browser.new_page()
    page.goto(f"{live_server}/orders")
    assert page.url.startswith(f"{live_server}/login")  # the login comes first

    page.fill("input[name=email]", shop["email"])
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".alert-error").inner_text() == "Wrong email address or password."

    page.fill("input[name=password]", shop["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/orders")
    assert page.locator("a.order-link").count() == 3

    # The search filters the list through htmx, and the URL follows.
    page.fill("input[name=q]", "Anna")
    page.wait_for_url(f"{live_server}/orders?q=Anna")
    page.locator("a.order-link", has_text="AK-10001").wait_for()
    assert page.locator("a.order-link").count() == 1

    page.click("a.order-link >> text=AK-10001")
    page.wait_for_url(f"{live_server}/orders/AK-10001")
    next_step = page.locator("#next-step")
    assert "remind" in next_step.inner_text()
    assert next_step.locator(".next-date").inner_text() == "2026-10-15"
    assert "after 21 days" in page.locator("#order").inner_text()
    page.screenshot(path="/tmp/mahnwerk-order-page.png", full_page=True)

    # An htmx action carries the CSRF token from <body> and swaps the order block.
    page.fill("#block-reason", "customer called, pays on Monday")
    page.click("text=Block dunning")
    page.locator(".alert-notice", has_text="Dunning is blocked.").wait_for()
    assert "Nothing is planned while dunning is blocked." in next_step.inner_text()
