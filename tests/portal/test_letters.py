"""The letters in the portal: the Letters page (view a letter's PDF, cancel one), the Print runs
page (start, download the merged PDF and its manifest, mark printed and posted), the order page's
letters and invoice, and the shop's invoice upload through the API. Real PDFs throughout."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from ledger.permissions import Role
from tests.portal.conftest import PORTAL_RULES, Portal, order_body
from tests.portal.test_roles import _user

ADDRESS = "Hauptstraße 5\n10115 Berlin"


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_address(number: str, address: str | None = ADDRESS) -> dict:
    body = order_body(number)
    if address:
        body["customer"]["address"] = address
    return body


def deliver_letters(app) -> list[int]:
    """What the worker does with the waiting letter messages: each becomes a letter."""
    from ledger.db import db
    from ledger.models import Letter, OutboxMessage
    from worker import jobs

    with app.app_context():
        ids = db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == "letter", OutboxMessage.state == "pending"
            )
        ).all()
        for message_id in ids:
            assert jobs.deliver(message_id) == "sent"
        return list(db.session.scalars(select(Letter.id).order_by(Letter.id)))


@pytest.fixture
def letters(app, portal, seed, merchant_info):
    """Three orders with an address, each with payment information by letter, delivered."""
    seed(merchant_info["id"], [with_address(f"AK-{n}") for n in (1, 2, 3)], PORTAL_RULES)
    for n in (1, 2, 3):
        answer = portal.post(f"/orders/AK-{n}/letters", {"kind": "payment_info"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert "waits for the next print run" in answer.get_data(as_text=True)
    return deliver_letters(app)


def test_the_letters_page_lists_them_and_filters_by_state(portal, letters):
    page = portal.get("/letters").get_data(as_text=True)
    for n in (1, 2, 3):
        assert f'href="/orders/AK-{n}"' in page and f"Kunde AK-{n}" in page
    assert page.index("AK-3") < page.index("AK-1")  # newest first
    assert "payment information" in page and "View PDF" in page and "Cancel letter" in page
    assert "AK-1" not in portal.get("/letters?state=posted").get_data(as_text=True)
    odd = portal.get("/letters?state=nonsense").get_data(as_text=True)
    assert "Unknown state" in odd and "AK-1" in odd


def test_a_letters_pdf_only_for_its_own_merchant(app, portal, letters, make_merchant):
    answer = portal.get(f"/letters/{letters[0]}.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("inline")
    assert len(PdfReader(io.BytesIO(answer.data)).pages) >= 1
    other = Portal(app, make_merchant("Bergladen AG"))
    assert other.get(f"/letters/{letters[0]}.pdf").status_code == 404
    assert other.post(f"/letters/{letters[0]}/cancel", {"reason": "x"}).status_code == 404
    assert other.get("/print-runs/1.pdf").status_code == 404
    assert portal.get("/letters/99999.pdf").status_code == 404


def test_cancel_a_letter_swaps_its_row(app, portal, letters):
    answer = portal.post(f"/letters/{letters[1]}/cancel", {"reason": "customer phoned"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert html.strip().startswith(f'<tr id="letter-{letters[1]}"')
    assert "cancelled" in html and "customer phoned" in html and "Cancel letter" not in html
    again = portal.post(f"/letters/{letters[1]}/cancel", {"reason": "twice"})
    assert again.status_code == 422
    assert "Nothing was changed: the letter is cancelled." in again.get_data(as_text=True)
    # German
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    german = portal.post(f"/letters/{letters[1]}/cancel", {"reason": "twice"})
    assert "der Brief ist storniert" in german.get_data(as_text=True)


def test_a_print_run_downloads_and_moves_on(app, portal, letters):
    page = portal.get("/print-runs").get_data(as_text=True)
    assert "3 letters are waiting for a print run." in page and "Start print run" in page
    started = portal.post("/print-runs").get_data(as_text=True)
    assert "Print run 1 started with 3 letters." in started
    nothing = portal.post("/print-runs").get_data(as_text=True)
    assert "Nothing to print: no letter is waiting." in nothing
    portal.post(f"/letters/{letters[0]}/cancel", {"reason": "paid"})  # after the run was made
    merged = portal.get("/print-runs/1.pdf")
    assert merged.status_code == 200 and merged.mimetype == "application/pdf"
    assert merged.headers["Content-Disposition"].startswith("attachment")
    manifest = portal.get("/print-runs/1/manifest.csv")
    assert manifest.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(manifest.get_data(as_text=True))))
    assert [int(row["letter"]) for row in rows] == letters[1:]
    assert [row["order"] for row in rows] == ["AK-2", "AK-3"]
    assert rows[0]["town"] == "10115 Berlin" and rows[0]["recipient"] == "Kunde AK-2"
    pages = sum(int(row["pages"]) for row in rows)
    assert len(PdfReader(io.BytesIO(merged.data)).pages) == pages
    refused = portal.post("/print-runs/1/posted")
    assert refused.status_code == 422 and "the print run is open" in refused.get_data(as_text=True)
    assert "The print run is marked printed." in portal.post("/print-runs/1/printed").get_data(
        as_text=True
    )
    posted = portal.post("/print-runs/1/posted").get_data(as_text=True)
    assert "The print run is marked posted." in posted and "Mark posted" not in posted
    from ledger.db import db
    from ledger.models import Letter

    with app.app_context():
        states = [db.session.get(Letter, i).state for i in letters]
    assert states == ["cancelled", "posted", "posted"]
    row = portal.post(f"/letters/{letters[1]}/cancel", {"reason": "too late"})
    assert row.status_code == 422 and "the letter is posted" in row.get_data(as_text=True)


def test_the_order_page_shows_its_letters_and_refuses_without_an_address(
    app, portal, seed, merchant_info, letters
):
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert 'id="letters"' in page and f"/letters/{letters[0]}.pdf" in page
    assert "Send payment slip by letter (payment information)" in page
    assert "Send invoice by letter" not in page  # no invoice stored
    refused = portal.post("/orders/AK-1/letters", {"kind": "invoice"})
    assert refused.status_code == 422
    assert "the order has no invoice" in refused.get_data(as_text=True)
    seed(merchant_info["id"], [with_address("AK-9", None)])
    page = portal.get("/orders/AK-9").get_data(as_text=True)
    assert "the order has no postal address" in page
    refused = portal.post("/orders/AK-9/letters", {"kind": "payment_info"})
    assert refused.status_code == 422
    assert "Nothing was changed: the order has no postal address." in refused.get_data(as_text=True)
    assert portal.post("/orders/AK-1/letters", {"kind": "x"}).status_code == 422


def test_invoice_upload_through_the_api_and_its_letter(app, portal, letters, merchant_info):
    api = app.test_client()
    headers = {"Authorization": f"Bearer {merchant_info['token']}"}
    good = pdf_bytes(2)
    stored = api.post(
        "/api/v1/orders/AK-1/invoice",
        data=good,
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert stored.status_code == 201, stored.json
    assert stored.json["pages"] == 2 and stored.json["size"] == len(good)
    assert stored.json["filename"] == "AK-1.pdf" and stored.json["order"] == "AK-1"
    html_as_pdf = api.post(
        "/api/v1/orders/AK-2/invoice",
        data={"file": (io.BytesIO(b"<html><body>Rechnung</body></html>"), "RE-2.pdf")},
        headers=headers,
    )
    assert html_as_pdf.status_code == 422
    assert html_as_pdf.json["errors"] == [{"field": "file", "message": "the file is not a PDF"}]
    assert api.post(
        "/api/v1/orders/AK-2/invoice", data=good, headers={**headers, "Content-Type": "text/html"}
    ).status_code == 415  # fmt: skip
    huge = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    too_big = api.post(
        "/api/v1/orders/AK-2/invoice",
        data=huge,
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert too_big.status_code == 413
    unknown = api.post(
        "/api/v1/orders/NOPE-1/invoice",
        data=good,
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert unknown.status_code == 404
    multipart = api.post(
        "/api/v1/orders/AK-2/invoice",
        data={"file": (io.BytesIO(pdf_bytes(1)), "RE-2.pdf")},
        headers=headers,
    )
    assert multipart.status_code == 201 and multipart.json["filename"] == "RE-2.pdf"
    # the order page: the download link and the button; the download itself
    page = portal.get("/orders/AK-1").get_data(as_text=True)
    assert "/orders/AK-1/invoice.pdf" in page and "Send invoice by letter" in page
    download = portal.get("/orders/AK-1/invoice.pdf")
    assert download.status_code == 200 and download.data == good
    assert portal.get("/orders/AK-3/invoice.pdf").status_code == 404
    assert portal.post("/orders/AK-1/letters", {"kind": "invoice"}).status_code == 200
    made = deliver_letters(app)
    from ledger.db import db
    from ledger.models import Letter

    with app.app_context():
        letter = db.session.get(Letter, made[-1])
        assert letter.kind == "invoice" and letter.pages >= 3  # the invoice's two, the slip


def test_roles_view_but_only_dunning_may_act(app, merchant_info, letters):
    viewer = _user(app, merchant_info, Role.VIEWER)
    page = viewer.get("/letters").get_data(as_text=True)
    assert "View PDF" in page and "Cancel letter" not in page
    assert viewer.get(f"/letters/{letters[0]}.pdf").status_code == 200
    runs = viewer.get("/print-runs").get_data(as_text=True)
    assert "Start print run" not in runs
    assert viewer.post("/print-runs").status_code == 403
    assert viewer.post(f"/letters/{letters[0]}/cancel", {"reason": "x"}).status_code == 403
    order = viewer.get("/orders/AK-1").get_data(as_text=True)
    assert "Send payment slip by letter (payment information)" not in order
    clerk = _user(app, merchant_info, Role.CLERK)
    assert "Print run 1 started" in clerk.post("/print-runs").get_data(as_text=True)


def test_the_pages_in_german(portal, letters):
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    page = portal.get("/letters").get_data(as_text=True)
    assert "Briefe" in page and "Brief stornieren" in page and "Zahlungsinformation" in page
    runs = portal.get("/print-runs").get_data(as_text=True)
    assert "Druckauftrag starten" in runs
