"""The portal in German (the default) and English: the language chosen per user or by the
browser, every extracted string translated, dates, times and money in the user's locale and
the merchant's time zone."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po

from tests.portal.conftest import Portal

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def test_every_string_of_the_portal_has_its_german_translation(tmp_path):
    """Extract as `make i18n-update` does; each message needs a German text in messages.po
    (a string added to a page or view without one fails here)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with CATALOG.open("rb") as f:
        german = {m.id: m for m in read_po(f, locale="de") if m.id}
    untranslated = sorted(
        str(i) for i in wanted if i not in german or not german[i].string or german[i].fuzzy
    )
    assert untranslated == []
    assert len(wanted) > 5


def test_german_is_the_default_and_the_browser_may_ask_for_english(app):
    client = app.test_client()
    german = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in german.get_data(as_text=True)
    unknown = client.get("/login", headers={"Accept-Language": "fr-FR"})
    assert '<html lang="de">' in unknown.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_a_user_picks_the_language_and_keeps_it(app, merchant_info):
    portal = Portal(app, merchant_info)
    assert ">Orders</a>" in portal.get("/orders").get_data(as_text=True)  # the browser: en
    response = portal.client.post(
        "/account/language",
        data={"language": "de", "next": "/orders?status=unpaid", "csrf_token": portal.token},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/orders?status=unpaid"
    )
    page = portal.get("/orders").get_data(as_text=True)
    assert ">Bestellungen</a>" in page and '<html lang="de">' in page
    assert ">English</button>" in page


def test_dates_times_and_money_in_the_users_locale(app):
    from flask_babel import force_locale

    from portal.i18n import ago, day, money

    with app.test_request_context():
        with force_locale("de"):
            assert day(date(2026, 11, 30)) == "30.11.2026"
            # stored as UTC; shown in the merchant's zone (Europe/Berlin: UTC+1 in winter)
            assert day(datetime(2026, 11, 30, 13, 5)) == "30.11.2026, 14:05"
            assert money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
            assert money(Decimal("1234.5"), "CHF") == "CHF\xa01'234.50"
            assert ago(datetime(2026, 11, 30, 13, 2), now=datetime(2026, 11, 30, 13, 5)) == (
                "vor 3 Minuten"
            )
        with force_locale("en"):
            assert day(date(2026, 11, 30)) == "Nov 30, 2026"
            assert money(Decimal("1234.5"), "EUR") == "€1,234.50"


def test_the_order_pages_in_german(app, merchant_info, seed):
    from tests.portal.conftest import PORTAL_RULES, order_body

    seed(merchant_info["id"], [order_body("AK-1", amount="1234.50")], PORTAL_RULES)
    portal = Portal(app, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "Als bezahlt markieren" in page and "Zahlungserinnerung senden" in page
    assert "Nächster Schritt" in page and "1.234,50\xa0€" in page
    assert "Mark paid" not in page and "Next step" not in page
    listing = portal.get("/orders").get_data(as_text=True)
    assert ">offen<" in listing or "offen</span>" in listing  # the status, translated


def test_state_badges_in_german(app, merchant_info, seed):
    """Runs, messages and bank transactions show their stored state through the label filter
    (an outbox message is withdrawn, "zurückgezogen", not cancelled like an order)."""
    from tests.portal.conftest import PORTAL_RULES, order_body
    from tests.portal.test_portal_runs_outbox import drain

    seed(merchant_info["id"], [order_body("AK-1")], PORTAL_RULES)
    portal = Portal(app, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    portal.post("/runs", htmx=False)
    drain(app)
    runs = portal.get("/runs").get_data(as_text=True)
    assert ">fertig</span>" in runs and ">done</span>" not in runs
    dashboard = portal.get("/dashboard").get_data(as_text=True)
    assert ">fertig</span>" in dashboard and ">done</span>" not in dashboard


def test_payment_methods_and_rules_templates_in_german(app, merchant_info, seed):
    from tests.portal.conftest import PORTAL_RULES, order_body

    seed(merchant_info["id"], [order_body("AK-1", method="invoice")], PORTAL_RULES)
    portal = Portal(app, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    listing = portal.get("/orders").get_data(as_text=True)
    assert "<td>Rechnung</td>" in listing and ">Vorkasse</option>" in listing
    assert "<td>invoice</td>" not in listing
    assert "<dd>Rechnung</dd>" in portal.get("/orders/AK-1").get_data(as_text=True)
    rules = portal.get("/rules").get_data(as_text=True)
    assert "Vorkasse: erinnern, dann stornieren" in rules
    assert "Prepayment: remind, then cancel" not in rules
