"""The customer page behind the personal link (portal/customer.py): the order's language, only
this order, the claim with a proof of each allowed type and refused ones, expired and forged
links, the rate limit; the team's proof download."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.portal.conftest import ORDER_DAY, Portal, order_body

TODAY = "2026-10-20"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def shop_orders(app, merchant_info, seed):
    app.config["MAHNWERK_TODAY"] = TODAY
    seed(
        merchant_info["id"],
        [
            order_body("A-1", name="Anna Alpha"),
            order_body("B-2", name="Bruno Beta", amount="55.00"),
        ],
        rules="vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n",
    )
    return merchant_info


def _link(app, number: str) -> str:
    from ledger import customer_links
    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        return customer_links.link_for(order).removeprefix(app.config["PORTAL_URL"])


def test_the_page_shows_this_order_only(app, shop_orders):
    client = app.test_client()
    page = client.get(_link(app, "A-1"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "A-1" in html and "80,00" in html and "B-2" not in html and "Bruno" not in html
    assert 'lang="de"' in html and "Ich habe bereits bezahlt" in html
    assert page.headers["Cache-Control"] == "no-store"


def image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (20, 120, 40)).save(out, kind)
    return out.getvalue()


def pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Kontoauszug</p>").write_pdf()


def _form_token(client, path: str) -> str:
    match = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert match, "the page's form carries no CSRF token"
    return match.group(1)


def _claim(client, path: str, proof: bytes | None = None, name="beleg.pdf", **fields):
    data = {"csrf_token": _form_token(client, path), "paid_on": "2026-10-05", "note": "Online"}
    data.update(fields)
    if proof is not None:
        data["proof"] = (io.BytesIO(proof), name)
    return client.post(path + "/claim", data=data, content_type="multipart/form-data")


def _claims(app):
    from ledger.db import db
    from ledger.models import PaymentClaim

    with app.app_context():
        return list(db.session.scalars(select(PaymentClaim)))


@pytest.mark.parametrize(
    "make, media_type",
    [(pdf, "application/pdf"), (lambda: image("JPEG"), "image/jpeg"),
     (lambda: image("PNG"), "image/png")],
    ids=["pdf", "jpeg", "png"],
)  # fmt: skip
def test_a_claim_with_a_proof_then_the_thank_you(app, shop_orders, make, media_type):
    client, path = app.test_client(), _link(app, "A-1")
    data = make()
    answer = _claim(client, path, data, name="kontoauszug-4711.upload")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("?done=claim")
    [stored] = _claims(app)
    assert stored.proof_type == media_type and stored.paid_on == date(2026, 10, 5)
    page = client.get(path).get_data(as_text=True)
    assert 'id="claim-thanks"' in page and "05.10.2026" in page
    assert "kontoauszug-4711" not in page and "/proof" not in page  # never shown back


@pytest.mark.parametrize(
    "proof, fields, message",
    [
        (b"<html><body>Bezahlt!</body></html>", {}, "kein PDF, JPEG oder PNG"),
        (b"%PDF-" + b"1" * (5 * 1024 * 1024), {}, "zu groß"),
        (None, {"paid_on": "2026-10-30"}, "in der Zukunft"),
        (None, {"paid_on": "2026-09-01"}, "vor der Bestellung (01.10.2026)"),
        (None, {"paid_on": "yesterday"}, "Datum an"),
    ],
    ids=["html-named-pdf", "over-5-mb", "future", "before-order", "no-date"],
)
def test_bad_claims_are_refused_under_their_field(app, shop_orders, proof, fields, message):
    client, path = app.test_client(), _link(app, "A-1")
    answer = _claim(client, path, proof, **fields)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert message in html and "Es wurde nichts gespeichert." in html
    assert 'aria-invalid="true"' in html
    assert _claims(app) == []


def test_a_far_too_big_request_is_cut_off_plainly(app, shop_orders):
    client, path = app.test_client(), _link(app, "A-1")
    answer = _claim(client, path, b"%PDF-" + b"1" * (7 * 1024 * 1024))
    assert answer.status_code == 413 and "höchstens 5 MB" in answer.get_data(as_text=True)
    assert _claims(app) == []


def test_forged_and_expired_links_say_so_and_nothing_else(app, shop_orders, monkeypatch):
    client, path = app.test_client(), _link(app, "A-1")
    forged = client.get(path[:-3] + "xyz")
    assert forged.status_code == 404
    text = forged.get_data(as_text=True)
    assert "Link ungültig" in text and "A-1" not in text and "Anna" not in text
    assert client.get("/c/nonsense").status_code == 404

    then = __import__("time").time() - 181 * 24 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: then)
    old = _link(app, "A-1")
    monkeypatch.undo()
    expired = client.get(old)
    assert expired.status_code == 410 and "Link abgelaufen" in expired.get_data(as_text=True)
    assert "A-1" not in expired.get_data(as_text=True)
    assert client.post(old + "/claim", data={}).status_code in (400, 410)


def test_the_page_and_its_answers_in_the_order_s_language(app, merchant_info, seed):
    seed(merchant_info["id"], [order_body("F-1", name="Fleur"), order_body("CH-1", country="CH")])
    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        db.session.scalar(select(Order).where(Order.number == "F-1")).language = "fr"
        db.session.commit()
    client = app.test_client()
    french = client.get(_link(app, "F-1")).get_data(as_text=True)
    assert 'lang="fr"' in french and "J&#39;ai déjà payé" in french
    swiss = client.get(_link(app, "CH-1")).get_data(as_text=True)
    assert 'lang="de-CH"' in swiss and "ß" not in swiss


def test_too_many_requests_get_a_plain_429(app, shop_orders):
    from portal import customer

    client, path = app.test_client(), _link(app, "A-1")
    for _ in range(customer.VIEWS_PER_WINDOW):
        assert client.get(path).status_code == 200
    limited = client.get(path)
    assert limited.status_code == 429 and "Zu viele Anfragen" in limited.get_data(as_text=True)
    other = app.test_client().get(_link(app, "B-2"))  # another link is counted on its own
    assert other.status_code == 200


def test_too_many_claims_get_a_plain_429(app, shop_orders):
    from portal import customer

    client, path = app.test_client(), _link(app, "A-1")
    for _ in range(customer.POSTS_PER_WINDOW):
        assert _claim(client, path).status_code == 303
    assert _claim(client, path).status_code == 429
    assert len(_claims(app)) == 1  # the later claims updated the first


def _claim_with_proof(app) -> int:
    client, path = app.test_client(), _link(app, "A-1")
    assert _claim(client, path, image("PNG"), name="überweisung.png").status_code == 303
    return _claims(app)[0].id


def test_the_order_page_lists_the_claim_and_the_proof_downloads(app, shop_orders):
    claim_id = _claim_with_proof(app)
    portal = Portal(app, shop_orders)
    page = portal.get("/orders/A-1").get_data(as_text=True)
    assert 'id="payment-claims"' in page and "Download proof" in page
    assert "open: dunning paused" in page and "/c/" in page  # the link to copy
    proof = portal.get(f"/orders/A-1/claims/{claim_id}/proof")
    assert proof.status_code == 200 and proof.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(proof.data) == _claims(app)[0].proof_size
    assert proof.headers["Content-Type"] == "image/png"
    assert proof.headers["Content-Disposition"].startswith("attachment;")
    assert proof.headers["X-Content-Type-Options"] == "nosniff"
    assert portal.get(f"/orders/B-2/claims/{claim_id}/proof").status_code == 404


def test_the_proof_is_the_merchant_s_own_only(app, shop_orders, make_merchant):
    claim_id = _claim_with_proof(app)
    anonymous = app.test_client().get(f"/orders/A-1/claims/{claim_id}/proof")
    assert anonymous.status_code in (302, 401) and not anonymous.data.startswith(b"\x89PNG")
    other = Portal(app, make_merchant("Bergwerk AG"))
    assert other.get(f"/orders/A-1/claims/{claim_id}/proof").status_code == 404


def test_the_order_page_in_german(app, shop_orders):
    _claim_with_proof(app)
    portal = Portal(app, shop_orders)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    page = portal.get("/orders/A-1").get_data(as_text=True)
    assert "Zahlungsmeldungen" in page and "Beleg herunterladen" in page


def test_refund_details_on_the_page(app, shop_orders, pay_order_twice):
    client, path = app.test_client(), pay_order_twice
    page = client.get(path).get_data(as_text=True)
    assert 'id="refund"' in page and "20,00" in page
    token = _form_token(client, path)
    bad = client.post(path + "/refund", data={"csrf_token": token, "payee": "Anna Alpha",
                                             "iban": "DE00 1234"})  # fmt: skip
    assert bad.status_code == 422 and "IBAN ist nicht gültig" in bad.get_data(as_text=True)
    good = client.post(path + "/refund", data={"csrf_token": token, "payee": "Anna Alpha",
                                              "iban": "DE89 3704 0044 0532 0130 00"})  # fmt: skip
    assert good.status_code == 303
    from ledger.db import db
    from ledger.models import Refund

    with app.app_context():
        refund = db.session.scalar(select(Refund))
        assert refund.state == "open" and refund.iban == "DE89370400440532013000"
    assert client.get(path).status_code == 410  # nothing asked of the customer any more


@pytest.fixture
def pay_order_twice(app, shop_orders):
    """Order A-1 paid with 20.00 too much; a refund of the credit awaits the customer's bank
    details. Returns the customer page's path."""
    from decimal import Decimal

    from ledger import lifecycle, refunds
    from ledger.db import db
    from ledger.models import Order, Source

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == "A-1"))
        cause = lifecycle.Cause("test", Source.MANUAL, ORDER_DAY)
        lifecycle.record_payment(order, Decimal("100.00"), ORDER_DAY, cause)
        db.session.commit()
        lifecycle.retrying(
            lambda: refunds.create_refund(
                order, Decimal("20.00"), "Anna Alpha", None, None, "Erstattung A-1", "test"
            )
        )
    return _link(app, "A-1")


def test_no_count_of_other_tables_changes_on_a_view(app, shop_orders):
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    app.test_client().get(_link(app, "A-1"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_made_up_links_from_one_address_are_limited_too(app, shop_orders):
    from portal import customer

    client = app.test_client()
    limit = customer.VIEWS_PER_WINDOW * customer.ADDRESS_FACTOR
    answers = [client.get(f"/c/made-up-{n}").status_code for n in range(limit + 1)]
    assert answers[:limit] == [404] * limit and answers[-1] == 429
