"""Debt collection in the portal and the API: the order page's Hand over to collection (the
settings' partner preset, a refusal under its field storing nothing), the case's section with its
details (itemised amounts, the partner's reports) and Recall; the partner's reports through
POST /api/v1/orders/<number>/collection (a case through hand-over, reports and payment; a repeated
payment booked once; 422, 404, another merchant's token); roles; German."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.models import CollectionCase, LedgerEntry, Status
from tests.portal.conftest import Portal, count, order_body
from tests.portal.test_roles import _user

GERMAN = "de-DE,de;q=0.9"


def _setup(app, seed, merchant_info, partner="Inkasso Nord GmbH", method="invoice"):
    from ledger.accounts import find_merchant
    from ledger.db import db

    with app.app_context():
        merchant = find_merchant(merchant_info["name"])
        merchant.collection_partner = partner
        merchant.webhook_url = "https://shop.example/hook"
        merchant_id = merchant.id
        db.session.commit()
    seed(merchant_id, [order_body("RE-1", method=method, amount="100.00")])
    return merchant_id


def _order(app, number="RE-1"):
    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        db.session.expunge(order)
        return order


def _case(app):
    from ledger.db import db

    with app.app_context():
        case = db.session.scalar(select(CollectionCase).order_by(CollectionCase.id.desc()))
        if case is not None:
            case.updates  # noqa: B018 - loaded before the session ends
            db.session.expunge_all()
        return case


def _api(app, token):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_hand_over_by_hand_then_partner_reports_and_payment_through_the_api(
    app, seed, merchant_info, portal
):
    _setup(app, seed, merchant_info)
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "Hand over to collection" in page
    assert 'name="partner" maxlength="120" value="Inkasso Nord GmbH"' in page

    answer = portal.post("/orders/RE-1/collection/hand-over", {"partner": "Inkasso Nord GmbH"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Handed over to Inkasso Nord GmbH (file number IK-" in html
    assert "Debt collection" in html and "Collection details" in html
    assert "Hand over to collection</button>" not in html  # one open case
    assert _order(app).status == Status.IN_COLLECTION
    case = _case(app)
    assert case.handed_over == 100 and case.created_by == "user:" + merchant_info["email"]

    api = _api(app, merchant_info["token"])
    url = "/api/v1/orders/RE-1/collection"
    first = api.post(url, json={"status": "accepted", "partner_file_number": "INK-4711"})
    assert first.status_code == 200, first.json
    assert first.json["status"] == "accepted" and first.json["duplicate"] is False
    assert first.json["file_number"] == case.file_number
    assert api.post(url, json={"status": "payment_plan", "fees": "35.00"}).status_code == 200
    report = {
        "status": "partially_paid",
        "payment": {"amount": "40.00", "paid_on": "2026-11-20", "reference": "P-1"},
    }
    part = api.post(url, json=report)
    assert part.status_code == 200
    assert part.json["open_amount"] == "60.00" and part.json["order_status"] == "in_collection"
    assert part.json["amounts"]["recovered"] == "40.00"
    again = api.post(url, json=report)  # a retry of the same report
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert again.json["amounts"]["recovered"] == "40.00"
    assert count(app, LedgerEntry) == 2  # the order amount and one payment

    paid = api.post(
        url,
        json={"status": "paid",
              "payment": {"amount": "60.00", "paid_on": "2026-12-01", "reference": "P-2"}},
    )  # fmt: skip
    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "paid" and paid.json["order_status"] == "paid"
    assert _order(app).status == Status.PAID
    assert _case(app).closed_at is not None

    # the order page: the case, its details with the reports, no recall of a paid case
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "INK-4711" in page and "Recall</button>" not in page
    details = portal.get("/orders/RE-1/collection", htmx=True)
    assert details.status_code == 200
    text = details.get_data(as_text=True)
    assert "<html" not in text  # the block only
    for words in ("€100.00", "accepted", "payment plan", "partially paid", "reference P-1",
                  "reference P-2", "€35.00", "INK-4711"):  # fmt: skip
        assert words in text, words
    assert "<title>" in portal.get("/orders/RE-1/collection").get_data(as_text=True)

    # a closed case takes no more reports
    closed = api.post(url, json={"status": "in_progress"})
    assert closed.status_code == 409
    assert closed.json["error"] == "collection report refused: the collection case is paid"


def test_bad_reports_are_refused(app, seed, merchant_info, make_merchant, portal):
    _setup(app, seed, merchant_info)
    api = _api(app, merchant_info["token"])
    url = "/api/v1/orders/RE-1/collection"
    no_case = api.post(url, json={"status": "accepted"})
    assert no_case.status_code == 409
    assert "no collection case" in no_case.json["error"]

    portal.post("/orders/RE-1/collection/hand-over", {"partner": ""})  # the settings' partner
    bad = api.post(url, json={"status": "won", "fees": "-3", "payment": {"amount": "x"}})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json["errors"]}
    assert {"status", "fees", "payment.amount", "payment.paid_on", "payment.reference"} <= fields
    assert api.post(url, data="{", content_type="application/json").status_code == 422
    assert (
        api.post("/api/v1/orders/NOPE-1/collection", json={"status": "accepted"}).status_code == 404
    )
    assert api.post(url, json={"status": "in_progress"}).status_code == 200
    back = api.post(url, json={"status": "accepted"})
    assert back.status_code == 409
    assert back.json["error"].endswith(
        "the collection case is in_progress and cannot become accepted"
    )
    unpaid = api.post(url, json={"status": "paid"})
    assert unpaid.status_code == 409 and "100.00 open" in unpaid.json["error"]
    assert _case(app).status == "in_progress"

    other = make_merchant("Bergladen AG")
    assert _api(app, other["token"]).post(url, json={"status": "accepted"}).status_code == 404
    assert app.test_client().post(url, json={"status": "accepted"}).status_code == 401
    assert _case(app).status == "in_progress"


def test_a_hand_over_without_a_partner_is_refused_under_its_field(app, seed, merchant_info, portal):
    _setup(app, seed, merchant_info, partner=None)
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "Set your collection partner in the settings." in page
    answer = portal.post("/orders/RE-1/collection/hand-over", {"partner": "  "})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'id="collection-error-partner">no collection partner is set in the settings<' in html
    assert 'aria-describedby="collection-error-partner"' in html
    assert count(app, CollectionCase) == 0
    assert _order(app).status == Status.UNPAID
    too_long = portal.post("/orders/RE-1/collection/hand-over", {"partner": "x" * 121})
    assert too_long.status_code == 422 and "At most 120 characters" in too_long.get_data(
        as_text=True
    )
    assert count(app, CollectionCase) == 0


@pytest.mark.parametrize(("method", "back_to"), [("invoice", "overdue"), ("prepayment", "unpaid")])
def test_recall_puts_the_order_back_into_dunning(app, seed, merchant_info, portal, method, back_to):
    from ledger.db import db
    from ledger.models import OutboxMessage

    _setup(app, seed, merchant_info, method=method)
    portal.post("/orders/RE-1/collection/hand-over", {"partner": "Inkasso Süd"})
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "Recall</button>" in page

    refused = portal.post("/orders/RE-1/collection/recall", {"reason": ""})
    assert refused.status_code == 422
    assert "Please give a reason for the recall." in refused.get_data(as_text=True)
    assert _order(app).status == Status.IN_COLLECTION

    answer = portal.post("/orders/RE-1/collection/recall", {"reason": "disputed"})
    assert answer.status_code == 200
    assert "The case is recalled; the order is back in dunning." in answer.get_data(as_text=True)
    assert _order(app).status == back_to
    case = _case(app)
    assert case.status == "recalled" and [u.status for u in case.updates] == [
        "handed_over", "recalled",
    ]  # fmt: skip
    with app.app_context():
        purposes = db.session.scalars(select(OutboxMessage.purpose)).all()
    assert {"collection.handed_over", "collection.recalled"} <= set(purposes)
    # a second recall: nothing to recall, nothing changes
    again = portal.post("/orders/RE-1/collection/recall", {"reason": "again"})
    assert again.status_code == 422
    assert "the order has no collection case" in again.get_data(as_text=True)
    # handed over anew: a new case
    portal.post("/orders/RE-1/collection/hand-over", {"partner": ""})
    with app.app_context():
        assert db.session.scalar(select(func.count(CollectionCase.id))) == 2


def test_roles_and_other_merchants(app, seed, merchant_info, make_merchant, portal):
    _setup(app, seed, merchant_info)
    clerk = _user(app, merchant_info, "clerk")
    page = clerk.get("/orders/RE-1").get_data(as_text=True)
    assert "Hand over to collection" not in page
    assert clerk.post("/orders/RE-1/collection/hand-over", {"partner": "X"}).status_code == 403
    assert count(app, CollectionCase) == 0
    accountant = _user(app, merchant_info, "accountant")
    assert accountant.post("/orders/RE-1/collection/hand-over", {}).status_code == 200
    viewer = _user(app, merchant_info, "viewer")
    assert viewer.get("/orders/RE-1/collection", htmx=True).status_code == 200
    assert viewer.post("/orders/RE-1/collection/recall", {"reason": "x"}).status_code == 403
    assert "Recall</button>" not in viewer.get("/orders/RE-1").get_data(as_text=True)

    stranger = Portal(app, make_merchant("Bergladen AG"))
    assert stranger.get("/orders/RE-1/collection").status_code == 404
    assert stranger.post("/orders/RE-1/collection/recall", {"reason": "x"}).status_code == 404
    assert _case(app).status == "handed_over"


def test_the_collection_section_in_german(app, seed, merchant_info, portal):
    _setup(app, seed, merchant_info)
    portal.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = GERMAN
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "Inkasso" in page and "An das Inkasso übergeben" in page
    portal.post("/orders/RE-1/collection/hand-over", {"partner": ""})
    page = portal.get("/orders/RE-1").get_data(as_text=True)
    assert "Inkassodetails" in page and "Zurückrufen" in page
    details = portal.get("/orders/RE-1/collection", htmx=True).get_data(as_text=True)
    assert "übergeben" in details and "Verlauf" in details
