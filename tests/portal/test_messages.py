"""The order's messages: the bounce API, the Messages list and its buttons."""

from __future__ import annotations

from pathlib import Path

import pytest

BOUNCES = Path(__file__).parents[1] / "ledger" / "data" / "bounces"


@pytest.fixture
def shop(app, make_merchant, add_order):
    """A merchant with a bounce domain, an order and a reminder mail sent to its customer."""
    from ledger import outbox
    from ledger.accounts import find_merchant
    from ledger.db import db
    from ledger.models import MessageState

    info = make_merchant()
    with app.app_context():
        merchant = find_merchant(info["name"])
        merchant.bounce_domain = "bounces.alpenkiste.example"
        order = add_order(merchant, "M-1")
        message = outbox.add(
            merchant.id,
            "email",
            "reminder",
            order.customer_email,
            order_id=order.id,
            subject="Zahlungserinnerung",
            body="Bitte zahlen Sie 80,00 EUR.",
            payload={"level": 1},
        )
        message.state = MessageState.SENT
        db.session.commit()
        info.update(order=order.id, message=message.id, recipient=order.customer_email)
    return info


def _bounce_for(app, shop) -> bytes:
    from ledger import bounces
    from ledger.db import db
    from ledger.models import Merchant, OutboxMessage

    with app.app_context():
        message = db.session.get(OutboxMessage, shop["message"])
        verp = bounces.return_path(message, db.session.get(Merchant, message.merchant_id))
    text = (BOUNCES / "exim_01.txt").read_text(encoding="latin-1")
    text = text.replace("userx@its.example.nl", shop["recipient"]).replace(
        "To: user@rotzorg.org", f"To: <{verp}>"
    )
    return text.replace("\n", "\r\n").encode("latin-1")


def test_the_bounce_api_marks_the_message_and_refuses_anything_else(app, shop, make_merchant):
    from ledger.db import db
    from ledger.models import OutboxMessage

    client = app.test_client()
    auth = {"Authorization": f"Bearer {shop['token']}"}
    raw = _bounce_for(app, shop)

    wrong_type = client.post("/api/v1/bounces", data=raw, headers=auth, content_type="text/plain")
    assert wrong_type.status_code == 422
    other = make_merchant("Bergladen AG")
    foreign = client.post(
        "/api/v1/bounces",
        data=raw,
        headers={"Authorization": f"Bearer {other['token']}"},
        content_type="message/rfc822",
    )
    assert foreign.status_code == 422 and foreign.json["errors"][0]["field"] == "body"
    nothing = client.post(
        "/api/v1/bounces", data=b"Subject: hi\r\n\r\nhello", headers=auth,
        content_type="message/rfc822",
    )  # fmt: skip
    assert nothing.status_code == 422
    with app.app_context():
        assert db.session.get(OutboxMessage, shop["message"]).bounced_at is None

    answer = client.post("/api/v1/bounces", data=raw, headers=auth, content_type="message/rfc822")
    assert answer.status_code == 202
    assert answer.json["message"] == shop["message"] and answer.json["order"] == "M-1"
    assert shop["recipient"] in answer.json["reason"]
    with app.app_context():
        assert db.session.get(OutboxMessage, shop["message"]).bounced_at is not None
    assert (
        client.post("/api/v1/bounces", data=raw, content_type="message/rfc822").status_code == 401
    )
