"""The settings page (owner only): each section saved and audited, refused input shown under
its field with nothing stored, the logo checked by its bytes and served with its type, bank
accounts with the orders they affect, the webhook's secret shown once and its test against a
real HTTP server, API tokens that work at once and stop at once, and the page in German."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from ledger.db import db
from ledger.models import ApiToken, AuditEntry, BankAccount, Merchant
from tests.conftest import free_port
from tests.portal.conftest import Portal, count, order_body

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)


def _merchant(app, info) -> dict:
    with app.app_context():
        m = db.session.get(Merchant, info["id"])
        return {c.name: getattr(m, c.name) for c in Merchant.__table__.columns}


def _audits(app, action="settings.changed") -> list[dict]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [(e.actor, e.detail) for e in db.session.scalars(query)]


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'id="error-{name}">([^<]*)<', html)
    return match.group(1) if match else ""


def test_the_page_shows_every_section_with_the_current_values(portal):
    page = portal.get("/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for section in (
        "company",
        "mail",
        "bank",
        "terms",
        "matching",
        "webhook",
        "shop",
        "tokens",
        "time",
    ):
        assert f'id="settings-{section}"' in html
    assert 'value="buchhaltung@example.com"' in html
    assert "DE02 1203 0000 0000 2020 51" in html  # the account, as printed on paper
    assert "€1.00" in html  # the tolerance in the merchant's money format
    assert page.headers["Cache-Control"] == "no-store"


def test_company_is_saved_audited_and_answered_with_its_block(app, portal, merchant_info):
    form = {"company_name": "Alpenkiste Handels GmbH",
            "company_address": "Hauptstr. 1\n80331 München",
            "country": "DE", "register_number": "HRB 12345, AG München", "vat_id": "DE 136695976",
            "managing_directors": "Anna Berg", "language": "en"}  # fmt: skip
    response = portal.post("/settings/company", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html  # the block, for htmx
    assert 'id="settings-company"' in html and "Saved: Company name (legal)" in html
    stored = _merchant(app, merchant_info)
    assert stored["vat_id"] == "DE136695976" and stored["language"] == "en"
    assert stored["company_address"] == "Hauptstr. 1\n80331 München"
    [(actor, detail)] = _audits(app)
    assert actor == "user:owner@alpenkiste.example"
    assert (
        detail["company_name"] == "— → Alpenkiste Handels GmbH" and detail["language"] == "de → en"
    )

    plain = portal.post("/settings/company", form | {"company_name": "Alpenkiste AG"}, htmx=False)
    assert plain.status_code == 200 and "<html" in plain.get_data(as_text=True)  # the whole page


def test_a_bad_vat_id_stores_nothing_of_the_form(app, portal, merchant_info):
    form = {"company_name": "Neu GmbH", "country": "DE", "vat_id": "DE136695977", "language": "de"}
    response = portal.post("/settings/company", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not a valid VAT id (its check digit is wrong)" in _field_error(html, "vat_id")
    assert 'value="Neu GmbH"' in html  # what was typed stays in the form
    assert _merchant(app, merchant_info)["company_name"] is None
    assert _audits(app) == []


def test_mail_addresses_are_checked_and_the_accounting_one_is_required(app, portal, merchant_info):
    refused = portal.post("/settings/mail", {"accounting_email": "", "reply_to_email": "antwort@"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "required" in _field_error(html, "accounting_email")
    assert "Not an email address" in _field_error(html, "reply_to_email")
    saved = portal.post("/settings/mail", {"accounting_email": "fibu@alpenkiste.example",
                                           "reply_to_email": "antwort@alpenkiste.example"},
                        )  # fmt: skip
    assert saved.status_code == 200
    stored = _merchant(app, merchant_info)
    assert stored["reply_to_email"] == "antwort@alpenkiste.example"
    assert stored["accounting_email"] == "fibu@alpenkiste.example" and stored["team_email"] is None


def test_logo_upload_checks_the_bytes_and_serves_it_to_the_team(app, portal, merchant_info):
    from io import BytesIO

    def upload(data, name):
        return portal.post("/settings/logo", {"logo": (BytesIO(data), name)},
                           content_type="multipart/form-data")  # fmt: skip

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    refused = upload(svg, "logo.png")  # the name says PNG; the bytes say otherwise
    assert refused.status_code == 422
    assert "not a PNG or JPEG" in _field_error(refused.get_data(as_text=True), "logo")
    too_big = upload(PNG + bytes(512 * 1024), "logo.png")
    assert too_big.status_code in (413, 422)
    assert "at most 512 kB" in _field_error(too_big.get_data(as_text=True), "logo")
    assert _merchant(app, merchant_info)["logo"] is None

    assert upload(JPEG, "logo.bin").status_code == 200
    served = portal.get("/settings/logo")
    assert served.data == JPEG and served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    viewer = _member(app, merchant_info, "viewer")
    assert viewer.get("/settings/logo").data == JPEG  # Action.VIEW: anyone of the team
    assert viewer.get("/settings").status_code == 403

    assert portal.post("/settings/logo/remove").status_code == 200
    assert portal.get("/settings/logo").status_code == 404
    assert [d["logo"] for _a, d in _audits(app)] == ["changed", "removed"]


def _member(app, merchant_info, role) -> Portal:
    from ledger import accounts

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        email = f"{role}@alpenkiste.example"
        accounts.create_user(email, merchant, "correct horse battery", role)
        db.session.commit()
    return Portal(app, {"email": email, "password": "correct horse battery"})


def test_bank_accounts_say_how_many_open_orders_they_affect(app, portal, merchant_info, seed):
    seed(merchant_info["id"], [order_body("AK-1"), order_body("AK-2", method="invoice")])
    added = portal.post(
        "/settings/bank", {"iban": "DE89 3704 0044 0532 0130 00", "holder": "Alpenkiste"}
    )
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and "Affects 2 open orders in EUR" in html
    bad = portal.post("/settings/bank", {"iban": "DE89 3704 0044 0532 0130 01"})
    assert bad.status_code == 422 and "the check digits do not fit" in bad.get_data(as_text=True)
    qr = portal.post(
        "/settings/bank", {"iban": "CH9300762011623852957", "qr_iban": "CH9300762011623852957"}
    )
    assert qr.status_code == 422 and "is not a QR-IBAN" in qr.get_data(as_text=True)
    assert count(app, BankAccount) == 2  # the merchant's first and the one added

    with app.app_context():
        account_id = db.session.scalar(select(BankAccount.id).where(BankAccount.iban.like("DE89%")))
    edited = portal.post(
        f"/settings/bank/{account_id}", {"holder": "Alpenkiste GmbH", "currency": "EUR"}
    )
    assert edited.status_code == 200 and "Account holder" in edited.get_data(as_text=True)
    removed = portal.post(f"/settings/bank/{account_id}/remove")
    assert removed.status_code == 200 and "Affects 2 open orders in EUR" in removed.get_data(
        as_text=True
    )
    assert count(app, BankAccount) == 1
    assert portal.post("/settings/bank/999/remove").status_code == 404
    actions = [a for a in ("bank_account.added", "bank_account.changed", "bank_account.removed")
               if _audits(app, a)]  # fmt: skip
    assert len(actions) == 3


def test_payment_terms_say_they_apply_to_new_orders(app, portal, merchant_info, seed):
    seed(merchant_info["id"], [order_body("AK-1", method="invoice")])
    refused = portal.post("/settings/terms", {"payment_days": "14", "discount_percent": "2",
                                              "discount_days": "14"})  # fmt: skip
    assert refused.status_code == 422
    assert "fewer than the net days" in _field_error(
        refused.get_data(as_text=True), "discount_days"
    )
    assert _merchant(app, merchant_info)["payment_days"] is None
    saved = portal.post("/settings/terms", {"payment_days": "30", "discount_percent": "2,5",
                                            "discount_days": "10"})  # fmt: skip
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "1 open order keeps its own terms" in html
    stored = _merchant(app, merchant_info)
    assert (stored["payment_days"], str(stored["discount_percent"]), stored["discount_days"]) == (
        30,
        "2.50",
        10,
    )


def test_matching_settings(app, portal, merchant_info):
    refused = portal.post(
        "/settings/matching", {"payment_tolerance": "-2", "ignore_keywords": "Miete"}
    )
    assert refused.status_code == 422 and _merchant(app, merchant_info)["ignore_keywords"] == []
    saved = portal.post(
        "/settings/matching", {"payment_tolerance": "2,50", "ignore_keywords": "Miete\nGehalt\n"}
    )
    assert saved.status_code == 200
    stored = _merchant(app, merchant_info)
    assert str(stored["payment_tolerance"]) == "2.50" and stored["ignore_keywords"] == [
        "Miete",
        "Gehalt",
    ]
    assert stored["short_payment_write_off"] is False  # the box was not ticked
    [(_actor, detail)] = _audits(app)
    assert (
        detail["payment_tolerance"] == "1.00 → 2.50"
        and detail["short_payment_write_off"] == "yes → no"
    )


class _Shop(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Shop.received.append((dict(self.headers), body))
        answer = b'{"ok": true, "shop": "received"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def shop_server():
    _Shop.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/mahnwerk"
    server.shutdown()
    thread.join(timeout=5)


def test_webhook_secret_is_shown_once_and_the_test_is_signed(
    app, portal, merchant_info, shop_server
):
    refused = portal.post("/settings/webhook", {"webhook_url": "http://shop.example/hook"})
    assert refused.status_code == 422 and "https://" in _field_error(
        refused.get_data(as_text=True), "webhook_url"
    )
    assert portal.post("/settings/webhook", {"webhook_url": shop_server}).status_code == 200

    generated = portal.post("/settings/webhook/secret").get_data(as_text=True)
    secret = re.search(r'id="new-secret">([^<]+)<', generated).group(1)
    assert secret == _merchant(app, merchant_info)["webhook_secret"]
    later = portal.get("/settings").get_data(as_text=True)
    assert secret not in later and secret[:6] + "…" + secret[-4:] in later
    assert all(secret not in json.dumps(d) for _a, d in _audits(app))

    tested = portal.post("/settings/webhook/test").get_data(as_text=True)
    assert "The shop answered HTTP 202" in tested and "received" in tested
    [(headers, body)] = _Shop.received
    assert json.loads(body)["event"] == "test"
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Mahnwerk-Signature"] == expected


def test_the_audit_log_keeps_no_credentials_of_a_url(app, portal):
    url = "https://shop:s3cr3t@shop.example/hook?token=abc123"
    assert portal.post("/settings/webhook", {"webhook_url": url}).status_code == 200
    [(action, detail)] = [(a, d) for a, d in _audits(app) if "webhook_url" in d]
    assert detail["webhook_url"] == "— → https://…@shop.example/hook?…"
    assert "s3cr3t" not in json.dumps(detail) and "abc123" not in json.dumps(detail)


def test_a_webhook_test_to_nowhere_shows_the_error(app, portal, unused_port):
    portal.post("/settings/webhook", {"webhook_url": f"http://127.0.0.1:{unused_port}/hook"})
    response = portal.post("/settings/webhook/test")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No answer: connection refused" in html


def test_an_installation_for_many_merchants_keeps_webhooks_off_internal_addresses(
    app, portal, merchant_info, shop_server
):
    """MAHNWERK_WEBHOOK_PRIVATE_ADDRESSES=0: neither the test nor a delivery reaches 127.0.0.1
    (a merchant must not read the server's internal services through the test's answer)."""
    from types import SimpleNamespace

    from worker.channels import ChannelError
    from worker.channels import webhook as channel

    app.config["WEBHOOK_PRIVATE_ADDRESSES"] = False
    portal.post("/settings/webhook", {"webhook_url": shop_server})
    html = portal.post("/settings/webhook/test").get_data(as_text=True)
    assert "127.0.0.1 is an internal address of this installation" in html
    message = SimpleNamespace(id=1, recipient=shop_server, payload={"event": "x"}, purpose="x")
    with app.app_context():
        merchant = SimpleNamespace(webhook_secret=None)
        with pytest.raises(ChannelError, match="internal address") as refused:
            channel.send(message, merchant)
    assert refused.value.permanent
    assert _Shop.received == []  # nothing was sent


def test_a_webhook_redirect_is_the_answer_not_a_new_address(app, portal, shop_server):
    """urllib would follow a 302 as a GET, past the internal-address check: it is not followed."""

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            self.send_response(302)
            self.send_header("Location", shop_server)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        portal.post("/settings/webhook", {"webhook_url": url})
        html = portal.post("/settings/webhook/test").get_data(as_text=True)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert "The shop answered HTTP 302" in html
    assert _Shop.received == []


def test_shop_url(app, portal, merchant_info):
    assert portal.post("/settings/shop", {"shop_url": "shop.example"}).status_code == 422
    assert portal.post("/settings/shop", {"shop_url": "https://shop.example"}).status_code == 200
    assert _merchant(app, merchant_info)["shop_url"] == "https://shop.example"


def test_a_token_works_at_once_and_a_revoked_one_is_refused_at_once(app, portal):
    assert portal.post("/settings/tokens", {"label": ""}).status_code == 422
    created = portal.post("/settings/tokens", {"label": "Shopware live"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', created).group(1)
    assert "shown only this once" in created
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/orders/AK-404", headers=headers).status_code == 404  # let in
    assert token not in portal.get("/settings").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.label == "Shopware live"))
    revoked = portal.post(f"/settings/tokens/{row.id}/revoke")
    assert revoked.status_code == 200 and "revoked" in revoked.get_data(as_text=True)
    assert api.get("/api/v1/orders/AK-404", headers=headers).status_code == 401
    assert [d["label"] for _a, d in _audits(app, "api_token.created")] == ["Shopware live"]
    assert [d["prefix"] for _a, d in _audits(app, "api_token.revoked")] == [row.prefix]
    assert token not in json.dumps(_audits(app, "api_token.created"))


def test_time_zone_run_hour_and_interest(app, portal, merchant_info):
    for form, field in (
        ({"timezone": "Mars/Olympus", "run_hour": "", "interest_base": "law"}, "timezone"),
        ({"timezone": "Europe/Vienna", "run_hour": "24", "interest_base": "law"}, "run_hour"),
    ):
        refused = portal.post("/settings/time", form)
        assert refused.status_code == 422 and _field_error(refused.get_data(as_text=True), field)
    assert _merchant(app, merchant_info)["timezone"] == "Europe/Berlin"
    saved = portal.post(
        "/settings/time", {"timezone": "Europe/Zurich", "run_hour": "7", "interest_base": "DE"}
    )
    assert saved.status_code == 200
    stored = _merchant(app, merchant_info)
    assert (stored["timezone"], stored["run_hour"], stored["interest_base"]) == (
        "Europe/Zurich",
        7,
        "DE",
    )


def test_an_accountant_may_not_change_settings(app, merchant_info):
    accountant = _member(app, merchant_info, "accountant")
    assert accountant.get("/settings").status_code == 403
    assert (
        accountant.post("/settings/mail", {"accounting_email": "x@example.com"}).status_code == 403
    )
    assert accountant.post("/settings/tokens", {"label": "mine"}).status_code == 403
    assert _audits(app) == [] and _audits(app, "api_token.created") == []


def test_the_german_page_has_no_english_left(app, merchant_info):
    portal = Portal(app, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    html = portal.get("/settings").get_data(as_text=True)
    assert "Einstellungen" in html and "Zahlungsbedingungen" in html
    for english in ("Company and letterhead", "Bank accounts", "Generate new secret",
                    "Create token", "Net days", "Time zone", "Save"):  # fmt: skip
        assert f">{english}<" not in html and f"{english}</" not in html, english
    refused = portal.post(
        "/settings/company", {"country": "DE", "vat_id": "DE136695977", "language": "de"}
    )
    assert "Prüfziffer" in _field_error(refused.get_data(as_text=True), "vat_id")
