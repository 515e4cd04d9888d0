"""The portal on a phone (375 px) and a desktop: the navigation behind a menu button, every
link reachable, in German for a German browser."""

from __future__ import annotations

import pytest

from tests.portal.test_portal_browser import _log_in, browser, csp, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_on_a_phone_the_navigation_opens_from_the_menu_button(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.set_viewport_size({"width": 375, "height": 740})
    _log_in(page, live_server, shop)
    menu = page.locator(".menu-button")
    bank = page.locator(".mainnav a", has_text="Bank")
    assert menu.is_visible() and not bank.is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert bank.is_visible()
    links = page.locator(".mainnav a")
    for i in range(links.count()):  # none cut off: each inside the phone's width
        box = links.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, links.nth(i).inner_text()
    bank.click()
    page.wait_for_url(f"{live_server}/bank")


def test_on_a_desktop_the_navigation_is_always_there(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, live_server, shop)
    assert not page.locator(".menu-button").is_visible()
    assert page.locator(".mainnav a", has_text="Bank").is_visible()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon.partition("?")[0].endswith("favicon.svg")  # ?v= its version
