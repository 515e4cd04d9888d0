"""Accessibility of the portal in a real browser: axe-core (from npm, node_modules/axe-core)
checks the main pages against WCAG 2.1 A and AA at a phone's and a desktop's width, in German
and English; and the navigation, the order list's filters and its rows work from the keyboard."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bench.camt_file import Booking, camt053
from tests.portal.test_portal_browser import _log_in, browser, csp, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
WIDTHS = [{"width": 375, "height": 740}, {"width": 1280, "height": 800}]
WCAG_21_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE.exists():
        message = f"{AXE} is missing: `make test` (npm ci) installs axe-core"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE


@pytest.fixture
def book(app):
    """The demo shop (60 days of real runs: reminders, payments, cancellations, messages, a
    rules draft) with a bank statement imported (one payment suggested, one unknown) and one
    order blocked with a reason. Returns the login and the pages' paths."""
    from sqlalchemy import select

    from ledger import demo, lifecycle
    from ledger.accounts import find_merchant
    from ledger.bank import importing
    from ledger.db import db
    from ledger.models import (
        BankTransaction,
        DunningEvent,
        EntryKind,
        LedgerEntry,
        Order,
        Source,
        Status,
        TransactionState,
    )

    app.config["MAHNWERK_TODAY"] = "2026-11-20"
    with app.app_context():
        demo.load(40)
        merchant = find_merchant(demo.MERCHANT_NAME)
        today = app.config["MAHNWERK_TODAY"]
        reminded_and_paid = db.session.scalars(
            select(Order)
            .where(Order.merchant_id == merchant.id)
            .where(Order.id.in_(select(DunningEvent.order_id)))
            .where(
                Order.id.in_(
                    select(LedgerEntry.order_id).where(LedgerEntry.kind == EntryKind.PAYMENT)
                )
            )
            .order_by(Order.id)
        ).first()
        assert reminded_and_paid, "the demo has an order with reminders and a payment"
        open_orders = db.session.scalars(
            select(Order)
            .where(Order.merchant_id == merchant.id, Order.status == Status.UNPAID)
            .where(Order.currency == "EUR")
            .order_by(Order.id)
        ).all()
        suggested, blocked = open_orders[0], open_orders[1]
        day = date.fromisoformat(today) - timedelta(days=1)
        statement = camt053(
            merchant.iban,
            [
                # the order number without its prefix, paid by someone else: a suggestion
                Booking(
                    suggested.amount,
                    day,
                    name="Max Mustermann",
                    remittance=f"Bestellung {suggested.number.removeprefix('AK-')}",
                ),
                Booking(Decimal("17.30"), day, name="Unbekannt GmbH", remittance="Rechnung ?"),
            ],
        )
        importing.import_file(merchant, statement, "november.xml", "upload", "test", day)
        cause = lifecycle.Cause(
            "user:demo@mahnwerk.example", Source.MANUAL, day, reason="Kunde reklamiert"
        )
        lifecycle.block(lifecycle.lock(blocked), cause)
        db.session.commit()
        transaction = db.session.scalars(
            select(BankTransaction)
            .where(BankTransaction.state == TransactionState.SUGGESTED)
            .order_by(BankTransaction.id)
        ).first()
        paths = {
            "dashboard": "/dashboard",
            "orders": "/orders",
            "order": f"/orders/{reminded_and_paid.number}",
            "blocked order": f"/orders/{blocked.number}",
            "bank": "/bank",
            "bank transaction": f"/bank/transactions/{transaction.id}",
            "rules": "/rules",
            "rules version": "/rules/versions/2",
            "runs": "/runs",
            "outbox": "/outbox",
            "letters": "/letters",
            "print runs": "/print-runs",
            "audit log": "/audit",
            "team": "/users",
            "settings": "/settings",
            "API": "/api/docs",
        }
    return {"email": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD, "paths": paths}


def axe_violations(page, axe_script: Path) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script))
    result = page.evaluate(
        """async (tags) => {
          const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
          return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map((n) => n.target.join(" ")),
          }));
        }""",
        WCAG_21_A_AA,
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


def describe(where: str, violations: list[dict]) -> list[str]:
    return [
        f"{where}: {v['id']} ({v['impact']}: {v['help']}) at {', '.join(v['targets'][:8])}"
        for v in violations
    ]


@pytest.mark.parametrize("locale", ["de-DE", "en-US"])
def test_the_main_pages_have_no_serious_accessibility_violations(
    live_server,
    browser,  # noqa: F811
    axe_script,
    book,
    locale,
):
    # bypass_csp: axe is injected as a script the portal's CSP (script-src 'self') would refuse.
    context = browser.new_context(locale=locale, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []

    def check(name: str) -> None:
        for size in WIDTHS:
            page.set_viewport_size(size)
            where = f"{name} ({locale}, {size['width']} px)"
            problems.extend(describe(where, axe_violations(page, axe_script)))

    page.goto(f"{live_server}/login")
    check("login")
    page.fill("input[name=email]", book["email"])
    page.fill("input[name=password]", book["password"])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    for name, path in book["paths"].items():
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        check(name)
    context.close()
    assert not problems, "\n".join(problems)


FOCUSED = """() => {
  const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute("name"), cls: e.className,
          text: (e.innerText || "").trim(), outline: getComputedStyle(e).outlineStyle,
          outlineWidth: parseFloat(getComputedStyle(e).outlineWidth)};
}"""


def tab_until(page, wanted, limit: int = 40) -> list[dict]:
    """Press Tab until `wanted(focused element)` holds; the elements passed on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        seen.append(focused)
        if wanted(focused):
            return seen
    raise AssertionError(f"not reached by Tab; focus went through {seen}")


def test_on_a_phone_the_menu_works_from_the_keyboard(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.set_viewport_size({"width": 375, "height": 740})
    _log_in(page, live_server, shop, "/dashboard")
    page.goto(f"{live_server}/orders")
    menu = page.locator(".menu-button")
    before = tab_until(page, lambda e: "menu-button" in e["cls"])
    assert before[0]["cls"] == "skip-link"  # the first stop skips the navigation
    assert before[-1]["outline"] != "none" and before[-1]["outlineWidth"] >= 2  # focus is seen
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    links = page.locator(".mainnav a")
    assert links.first.is_visible()
    names = [links.nth(i).inner_text() for i in range(links.count())]
    reached = []
    for _ in names:
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED)["text"])
    assert reached == names  # every link, in order
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not links.first.is_visible()
    assert "menu-button" in page.evaluate(FOCUSED)["cls"]  # the focus is back on the button
    # Open again, and Enter on a link follows it.
    page.keyboard.press("Enter")
    tab_until(page, lambda e: e["tag"] == "a" and e["text"] == "Bank")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/bank")


def test_the_order_list_works_from_the_keyboard(live_server, csp, shop):  # noqa: F811
    page = csp.page()
    page.set_viewport_size({"width": 1280, "height": 800})
    _log_in(page, live_server, shop, "/dashboard")
    page.goto(f"{live_server}/orders")
    # The top bar fits the window: the account wraps below the navigation, not off-screen.
    logout = page.locator(".account button", has_text="Log out").bounding_box()
    assert logout["x"] + logout["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["cls"] == "skip-link"
    page.keyboard.press("Enter")  # past the navigation
    passed = tab_until(page, lambda e: "order-link" in e["cls"])
    fields = {e["name"] for e in passed if e["tag"] in ("input", "select")}
    assert {"q", "status", "method"} <= fields, passed
    assert any(e["tag"] == "button" and e["text"] == "Filter" for e in passed)
    first_row = passed[-1]
    assert first_row["outline"] != "none" and first_row["outlineWidth"] >= 2
    # The filter from the keyboard: type into the search, the list follows.
    page.locator("input[name=q]").focus()
    page.keyboard.type("Anna")
    page.wait_for_url(f"{live_server}/orders?q=Anna")
    page.locator("a.order-link", has_text="AK-10001").wait_for()
    assert page.locator("a.order-link").count() == 1
    # Leaving the search asks for nothing more (its value was searched already): the list is
    # not swapped under the focused link (which lost the focus and the Enter before).
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.locator("a.order-link").focus()
    page.wait_for_timeout(500)
    assert not [url for url in requests if "/orders?" in url], requests
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/orders/AK-10001")
