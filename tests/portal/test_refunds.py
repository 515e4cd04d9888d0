"""Refunds in the portal: the order page's form (defaults, a refusal under its field storing
nothing, the list with cancel), the Refunds page (filter, export selected as a pain.001 file that
passes the XSD, the exports list's download, a refused export), roles, German, and the CLI."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sepaxml
from lxml import etree
from sqlalchemy import select

from ledger.permissions import Role
from tests.portal.conftest import Portal, count, order_body
from tests.portal.test_roles import _user

IBAN = "DE89370400440532013000"
SCHEMAS = Path(sepaxml.__file__).parent / "schemas"


def with_credit(app, seed, merchant_info, number="R-1", paid="100.00", name="Jörg Müller"):
    """An order of 80.00 paid `paid` (a credit of paid - 80)."""
    from ledger import orders
    from ledger.accounts import find_merchant
    from ledger.db import db

    merchant_id = _merchant_id(app, merchant_info)
    seed(merchant_id, [order_body(number, name=name)])
    with app.app_context():
        order = orders.find_order(merchant_id, number)
        data = orders.parse_payment({"amount": paid, "paid_on": "2026-10-02"})
        orders.record_payment(order, data, "test")
        db.session.commit()
        assert find_merchant(merchant_info["name"]).id == merchant_id


def _merchant_id(app, merchant_info) -> int:
    from ledger.accounts import find_merchant

    with app.app_context():
        return find_merchant(merchant_info["name"]).id


def refunds_of(app):
    from ledger.db import db
    from ledger.models import Refund

    with app.app_context():
        rows = db.session.scalars(select(Refund).order_by(Refund.id)).all()
        db.session.expunge_all()
        return rows


FORM = {
    "amount": "20,00",
    "payee": "Jörg Müller",
    "iban": "DE89 3704 0044 0532 0130 00",
    "bic": "",
    "remittance": "Erstattung R-1",
}


def test_the_order_page_offers_the_refund_form_with_defaults(app, portal, seed, merchant_info):
    with_credit(app, seed, merchant_info)
    page = portal.get("/orders/R-1").get_data(as_text=True)
    assert 'id="refunds"' in page
    assert 'name="payee" value="Jörg Müller"' in page
    assert 'name="remittance" value="Erstattung R-1"' in page
    assert 'name="amount" value="20.00"' in page


def test_no_form_without_a_credit(app, portal, seed, merchant_info):
    seed(_merchant_id(app, merchant_info), [order_body("U-1")])
    assert 'id="refunds"' not in portal.get("/orders/U-1").get_data(as_text=True)


def test_a_refund_is_booked_and_listed(app, portal, seed, merchant_info):
    from ledger.models import Refund

    with_credit(app, seed, merchant_info)
    response = portal.post("/orders/R-1/refunds", FORM)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "export it on the Refunds page" in html
    assert "MW-R-" in html and "Cancel refund" in html
    (refund,) = refunds_of(app)
    assert (refund.amount, refund.iban, refund.state) == (Decimal("20.00"), IBAN, "open")
    assert count(app, Refund) == 1


def test_a_bad_iban_is_refused_under_its_field(app, portal, seed, merchant_info):
    from ledger.models import Refund

    with_credit(app, seed, merchant_info)
    response = portal.post("/orders/R-1/refunds", FORM | {"iban": "DE89370400440532013001"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="refund-error-iban"' in html
    assert "the check digits do not fit" in html
    assert 'value="DE89370400440532013001"' in html  # what was typed stays
    assert count(app, Refund) == 0
    too_much = portal.post("/orders/R-1/refunds", FORM | {"amount": "20.01"})
    assert too_much.status_code == 422
    assert 'id="refund-error-amount"' in too_much.get_data(as_text=True)
    garbage = portal.post("/orders/R-1/refunds", FORM | {"amount": "zwanzig"})
    assert garbage.status_code == 422
    assert count(app, Refund) == 0


def test_german_refusal(app, portal, seed, merchant_info):
    with_credit(app, seed, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9"
    response = portal.post("/orders/R-1/refunds", FORM | {"iban": "DE89370400440532013001"})
    html = response.get_data(as_text=True)
    assert "die IBAN" in html and "ist nicht gültig" in html
    page = portal.get("/refunds").get_data(as_text=True)
    assert "Erstattungen" in page


def test_cancel_from_the_order_page(app, portal, seed, merchant_info):
    with_credit(app, seed, merchant_info)
    portal.post("/orders/R-1/refunds", FORM)
    (refund,) = refunds_of(app)
    response = portal.post(f"/refunds/{refund.id}/cancel", {"back": "order"})
    assert response.status_code == 200
    assert "the credit is back on the order" in response.get_data(as_text=True)
    assert refunds_of(app)[0].state == "cancelled"
    again = portal.post(f"/refunds/{refund.id}/cancel", {"back": "order"})
    assert again.status_code == 422


def _validate(xml: bytes, version: str):
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / f"{version}.xsd")))
    document = etree.fromstring(xml)
    schema.assertValid(document)
    return document


def test_export_selected_downloads_a_valid_file(app, portal, seed, merchant_info):
    with_credit(app, seed, merchant_info, "R-1")
    with_credit(app, seed, merchant_info, "R-2", paid="90.00", name="Anna Schön")
    portal.post("/orders/R-1/refunds", FORM)
    portal.post("/orders/R-2/refunds", FORM | {"amount": "10.00", "payee": "Anna Schön"})
    first, second = refunds_of(app)
    page = portal.get("/refunds?state=open").get_data(as_text=True)
    assert first.end_to_end_id in page and second.end_to_end_id in page
    response = portal.post(
        "/refunds/export", {"refund": [str(second.id)], "version": "pain.001.001.03"}, htmx=False
    )
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert "attachment" in response.headers["Content-Disposition"]
    document = _validate(response.data, "pain.001.001.03")
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    assert document.xpath("//p:Cdtr/p:Nm/text()", namespaces=ns) == ["Anna Schön"]
    first, second = refunds_of(app)
    assert (first.state, second.state) == ("open", "exported")
    listing = portal.get("/refunds").get_data(as_text=True)
    assert f"/refunds/exports/{second.export_id}.xml" in listing
    again = portal.get(f"/refunds/exports/{second.export_id}.xml")
    assert again.status_code == 200 and again.data == response.data
    refused = portal.post("/refunds/export", {"refund": [str(second.id)]}, htmx=False)
    assert refused.status_code == 422
    assert "Nothing was exported" in refused.get_data(as_text=True)
    nothing = portal.post("/refunds/export", {}, htmx=False)
    assert nothing.status_code == 422


def test_another_merchant_s_refunds_and_files_are_not_found(app, portal, seed, make_merchant):
    other = make_merchant("Bergladen AG")
    with_credit(app, seed, other)
    other_portal = Portal(app, other)
    other_portal.post("/orders/R-1/refunds", FORM)
    (refund,) = refunds_of(app)
    other_portal.post("/refunds/export", {"refund": [str(refund.id)]}, htmx=False)
    refund = refunds_of(app)[0]
    assert portal.get(f"/refunds/exports/{refund.export_id}.xml").status_code == 404
    assert portal.post(f"/refunds/{refund.id}/cancel").status_code == 404
    assert refund.end_to_end_id not in portal.get("/refunds").get_data(as_text=True)
    refused = portal.post("/refunds/export", {"refund": [str(refund.id)]}, htmx=False)
    assert refused.status_code == 422


def test_roles(app, portal, seed, merchant_info):
    with_credit(app, seed, merchant_info)
    portal.post("/orders/R-1/refunds", FORM)
    (refund,) = refunds_of(app)
    clerk = _user(app, merchant_info, Role.CLERK)
    assert clerk.get("/refunds").status_code == 200
    assert 'name="payee"' not in clerk.get("/orders/R-1").get_data(as_text=True)
    assert clerk.post("/orders/R-1/refunds", FORM).status_code == 403
    assert clerk.post(f"/refunds/{refund.id}/cancel").status_code == 403
    assert clerk.post("/refunds/export", {"refund": [str(refund.id)]}).status_code == 403
    assert "Export selected" not in clerk.get("/refunds").get_data(as_text=True)
    accountant = _user(app, merchant_info, Role.ACCOUNTANT)
    response = accountant.post("/refunds/export", {"refund": [str(refund.id)]}, htmx=False)
    assert response.status_code == 200
    export_id = refunds_of(app)[0].export_id
    assert clerk.get(f"/refunds/exports/{export_id}.xml").status_code == 403


def test_the_cli_exports_the_open_refunds(app, portal, seed, merchant_info, tmp_path):
    with_credit(app, seed, merchant_info)
    portal.post("/orders/R-1/refunds", FORM)
    runner = app.test_cli_runner()
    out = tmp_path / "refunds.xml"
    args = ["refunds", "export", "--merchant", merchant_info["name"], "--out", str(out)]
    result = runner.invoke(args=[*args, "--version", "03"])
    assert result.exit_code == 0, result.output
    assert "1 refund" in result.output
    _validate(out.read_bytes(), "pain.001.001.03")
    assert refunds_of(app)[0].state == "exported"
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "there is no open refund to export" in again.output
    unknown = runner.invoke(args=["refunds", "export", "--merchant", "Nobody", "--out", str(out)])
    assert unknown.exit_code != 0
