"""The dashboard and the order list's lazy total in a real browser (htmx 4 under the CSP): the
dashboard fits a 375 px phone, its charts are SVG images, "Recompute now" answers in place; the
list's open total arrives after the list, for its filter."""

from __future__ import annotations

import pytest

from tests.portal.test_portal_browser import _log_in, browser, csp, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_the_dashboard_on_a_phone(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.set_viewport_size({"width": 375, "height": 740})
    _log_in(page, live_server, shop, "/dashboard")
    page.goto(f"{live_server}/dashboard")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing off-screen
    charts = page.locator("svg.chart[role=img]")  # ages and months (no reminders yet)
    assert charts.count() == 2
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    opened = page.locator("#figures .dash-card").first.inner_text().split()
    assert opened[:3] == ["3", "open", "orders"] and "€249.90" in opened
    if shot := __import__("os").environ.get("DASHBOARD_SCREENSHOT"):
        page.screenshot(path=shot, full_page=True)
    page.click("text=Recompute now")
    page.locator("#figures [role=status]", has_text="Recomputing").wait_for()


def test_the_order_list_loads_its_open_total_after_the_list(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    _log_in(page, live_server, shop, "/dashboard")
    page.goto(f"{live_server}/orders?method=invoice")
    total = page.locator("#open-total:not([aria-busy])")
    total.wait_for()
    assert total.inner_text() == "Open: €120.00"
    page.select_option("select[name=method]", "prepayment")
    page.wait_for_url(f"{live_server}/orders?method=prepayment")
    page.locator("#open-total:not([aria-busy])", has_text="€129.90").wait_for()
