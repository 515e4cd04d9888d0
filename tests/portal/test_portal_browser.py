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


# Every Content-Security-Policy violation a page reports, across navigations (Playwright's init
# script and binding are not subject to the page's CSP).
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation({
    directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, page: document.location.href,
    element: e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : null,
  });
});
"""


class CspWatch:
    def __init__(self):
        self.violations: list[dict] = []
        self.console: list[str] = []

    def problems(self) -> list:
        # Chromium also logs each refusal to the console ("… violates the following Content
        # Security Policy directive …").
        csp_console = [m for m in self.console if "Content Security Policy" in m]
        return self.violations + csp_console


@pytest.fixture
def csp(browser):
    """csp.page(): a new page whose CSP violations (events and console) are collected; the
    test ends with an assertion that there were none."""
    watch = CspWatch()

    def new_page():
        page = browser.new_page(locale="en-US")  # the tests read English pages
        page.expose_binding(
            "reportCspViolation", lambda _source, report: watch.violations.append(report)
        )
        page.add_init_script(WATCH_CSP)
        page.on("console", lambda message: watch.console.append(message.text))
        return page

    watch.page = new_page
    yield watch
    assert not watch.problems(), "\n".join(map(str, watch.problems()))


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


def test_log_in_open_an_order_and_see_its_next_step(live_server, csp, shop):
    page = csp.page()
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
    assert next_step.locator(".next-date").inner_text() == "Oct 15, 2026"
    assert "after 21 days" in page.locator("#order").inner_text()

    # An htmx action carries the CSRF token from <body> and swaps the order block.
    page.fill("#block-reason", "customer called, pays on Monday")
    page.click("text=Block dunning")
    page.locator(".alert-notice", has_text="Dunning is blocked.").wait_for()
    assert "Nothing is planned while dunning is blocked." in next_step.inner_text()
    # Last: Playwright's screenshot leaves style="" on the inputs (hiding the caret), which a
    # later htmx swap would copy over and the CSP would (rightly) refuse.
    page.screenshot(path="/tmp/mahnwerk-order-page.png", full_page=True)


def test_edit_rules_with_a_typo_preview_save_and_activate(app, live_server, csp, shop):
    """The rules editor as a merchant uses it: the live check puts the error under its line, the
    preview counts what the text would do today next to the active rules, and a saved version
    becomes active only through the confirmation."""
    from tests.portal.test_portal_runs_outbox import drain

    page = csp.page()
    page.goto(f"{live_server}/login?next=/orders")
    page.fill("input[name=email]", shop["email"])
    page.fill("input[name=password]", shop["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/orders")
    page.goto(f"{live_server}/rules")
    assert "No errors" in page.locator("#check").inner_text()

    editor = page.locator("#rules-text")
    editor.fill("")
    editor.press_sequentially("vorkasse:\n    after 7 days: remind\n    after 10 days: cancl")
    finding = page.locator("#check li.finding.error")
    finding.wait_for()
    assert 'did you mean "cancel"' in finding.inner_text()
    above = finding.evaluate(
        "f => [f.previousElementSibling.className, f.previousElementSibling.dataset.line]"
    )
    assert above == ["listing-line error", "3"]  # right under line 3
    assert page.locator(".gutter").inner_text().split() == ["1", "2", "3"]

    editor.press("Backspace")
    editor.press_sequentially("el\n")
    page.locator("#check .badge", has_text="No errors").wait_for()

    def preview_counts() -> dict[str, tuple[str, str]]:
        page.click("#preview-button")
        page.locator("#preview table.compare").wait_for()
        counts = {}
        for row in page.locator("#preview tr[data-kind]").all():
            cells = row.locator("td").all_inner_texts()
            counts[row.get_attribute("data-kind")] = (cells[1], cells[2])
        page.evaluate("document.querySelector('#preview table.compare').remove()")
        return counts

    # Today is 2026-10-10: AK-10001 is 9 days unpaid, AK-10003 5 days; the card does nothing.
    assert preview_counts() == {"remind": ("0", "1")}
    editor.fill(editor.input_value().replace("after 7 days", "after 5 days"))
    assert preview_counts() == {"remind": ("0", "2")}

    page.fill("input[name=comment]", "remind sooner, cancel after 10 days")
    page.click("button:has-text('Save version')")
    page.wait_for_url(f"{live_server}/rules/versions/2?saved=1")
    assert "Saved as version 2." in page.locator(".alert-notice").inner_text()

    page.click("a:has-text('Activate…')")
    page.wait_for_url(f"{live_server}/rules/versions/2/activate")
    assert "+2 reminders" in page.locator(".differences").inner_text()
    page.click("button:has-text('Activate version 2')")
    page.wait_for_url(f"{live_server}/rules/versions/2")
    drain(app)  # the worker recomputes every open order's next step
    page.locator("#recompute", has_text="Active since").wait_for()
    page.goto(f"{live_server}/rules")
    assert "Active: version 2" in page.locator(".active-version").inner_text()
    page.screenshot(path="/tmp/mahnwerk-rules-page.png", full_page=True)


def _log_in(page, live_server, shop, then: str = "/orders"):
    """Logged in through the login form, and on `then` (a login of its own lands on the
    dashboard)."""
    page.goto(f"{live_server}/login?next={then}")
    page.fill("input[name=email]", shop["email"])
    page.fill("input[name=password]", shop["password"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}{then}")


def test_no_page_breaks_the_content_security_policy(app, live_server, csp, shop):
    """The main pages and their htmx interactions under the portal's CSP (script-src 'self',
    style-src 'self': no inline script or style anywhere), with no violation reported."""
    from tests.portal.test_portal_runs_outbox import drain

    page = csp.page()
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    response = page.goto(f"{live_server}/login")
    assert "style-src 'self';" in response.headers["content-security-policy"]
    _log_in(page, live_server, shop)
    page.fill("input[name=q]", "Anna")
    page.wait_for_url(f"{live_server}/orders?q=Anna")
    page.goto(f"{live_server}/orders/AK-10001")
    page.locator("#next-step").wait_for()

    page.goto(f"{live_server}/rules")
    editor = page.locator("#rules-text")
    editor.fill(editor.input_value().replace("after 14 days", "after 5 days"))
    page.locator("#check .badge", has_text="No errors").wait_for()
    page.click("#preview-button")
    page.locator("#preview table.compare").wait_for()
    page.locator("#preview button.chip", has_text="AK-10001").first.click()
    page.locator("#timeline h2", has_text="AK-10001").wait_for()
    page.click("button:has-text('Show the next 60 days')")
    page.locator("#forecast svg.chart").wait_for()

    app.config["MAHNWERK_TODAY"] = "2026-10-20"  # AK-10001's reminder is due
    page.goto(f"{live_server}/runs")
    page.click("button:has-text('Run now')")
    page.locator("#run-progress").wait_for()
    drain(app)
    page.locator("#run-progress.state-done").wait_for()
    page.goto(f"{live_server}/outbox")
    page.locator("#results", has_text="AK-10001").wait_for()
    page.select_option("select[name=kind]", "email")
    page.wait_for_url(f"{live_server}/outbox?kind=email")
    page.locator("#results details summary").first.click()  # its text loads when opened
    page.locator("#results details pre.message-body").first.wait_for()

    page.click("button:has-text('Log out')")
    page.wait_for_url(f"{live_server}/login")
    page.screenshot(path="/tmp/mahnwerk-login-page.png", full_page=True)
