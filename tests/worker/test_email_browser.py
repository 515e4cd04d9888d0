"""A reminder's HTML part through a browser's eyes: the mail as it arrived in the SMTP sink,
its inline images as data: URIs, shown by Debian's chromium at a mail client's 600 px."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from ledger import dunning
from ledger.db import db
from ledger.models import OutboxMessage
from tests.ledger.test_documents import zbar
from worker.jobs import deliver

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


def _html_with_data_uris(mail) -> str:
    """The HTML part as a mail client shows it: each cid: image from its inline part."""
    html = mail.get_body(("html",)).get_content()
    for part in mail.walk():
        if part["Content-ID"]:
            cid = part["Content-ID"].strip("<>")
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(f"cid:{cid}", f"data:{part.get_content_type()};base64,{data}")
    return html


def test_the_html_part_at_600_px_shows_a_scannable_qr_code(
    browser, card_merchant, add_order, mail_sink, tmp_path
):
    order = add_order(card_merchant, "AK-1", amount="249.90")
    order.customer_name = "Anna-Katharina Schmidt-Oberhuber"
    dunning.execute(card_merchant, date(2026, 10, 15))
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.order_id == order.id))
    assert deliver(message.id) == "sent"
    [mail] = mail_sink.messages()
    html = _html_with_data_uris(mail)
    assert "cid:" not in html

    page = browser.new_page(viewport={"width": 600, "height": 900})
    page.set_content(html)
    qr = page.locator('img[alt="Mit Ihrer Banking-App scannen"]')
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0
    box = qr.bounding_box()
    assert box["width"] > 100 and box["x"] >= 0 and box["x"] + box["width"] <= 600
    assert page.evaluate("document.documentElement.scrollWidth") <= 600  # no sideways scroll
    assert page.get_by_text("Offener Betrag").is_visible()
    assert page.get_by_text("DE02 1203 0000 0000 2020 51").is_visible()

    shot = tmp_path / "reminder-600.png"
    page.screenshot(path=str(shot), full_page=True)
    payload = zbar(Image.open(shot).convert("L"), tmp_path).splitlines()
    assert payload[0] == "BCD" and payload[7].startswith("EUR")
    assert Decimal(payload[7][3:]) == Decimal("249.90")
    assert payload[9] == order.payment_reference
    page.close()
