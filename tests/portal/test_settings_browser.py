"""The settings page in a real browser (htmx 4, the Content-Security-Policy): a refused form
comes back as its section with the reason under the field, a saved one with its notice, and a
new API token is shown once in its section without any CSP violation."""

from __future__ import annotations

import pytest

from tests.portal.test_portal_browser import _log_in, browser, csp, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_sections_answer_in_place(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    _log_in(page, live_server, shop, "/dashboard")
    page.goto(f"{live_server}/settings")
    section = page.locator("#settings-time")
    section.locator("select[name=run_hour]").select_option("7")
    section.locator("button[type=submit]").click()
    page.locator("#settings-time .alert-notice").wait_for()
    assert "Hour of the daily run" in page.locator("#settings-time .alert-notice").inner_text()

    mail = page.locator("#settings-mail")
    mail.locator("input[name=reply_to_email]").fill("antwort@")
    mail.locator("button[type=submit]").click()
    page.locator("#error-reply_to_email").wait_for()
    assert "Not an email address" in page.locator("#error-reply_to_email").inner_text()
    assert page.url == f"{live_server}/settings"  # no page change: the section was swapped

    tokens = page.locator("#settings-tokens")
    tokens.locator("input[name=label]").fill("Shopware live")
    tokens.get_by_role("button", name="Create token").click()
    page.locator("#new-token").wait_for()
    assert page.locator("#new-token").inner_text().startswith("mw_")
    assert csp.problems() == []
