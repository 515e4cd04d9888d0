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


def _digest(app, shop, numbers):
    from ledger import outbox
    from ledger.db import db
    from ledger.models import MessageState

    with app.app_context():
        digest = outbox.add(
            shop["id"], "email", "accounting_digest", "buchhaltung@example.com",
            subject="Digest", body="...", payload={"orders": numbers},
        )  # fmt: skip
        digest.state = MessageState.SENT
        db.session.commit()
        return digest.id


def test_the_messages_list_shows_the_orders_mails_and_the_digests_naming_it(app, shop):
    from tests.portal.conftest import Portal

    portal = Portal(app, shop)
    naming = _digest(app, shop, ["M-1", "M-2"])
    other = _digest(app, shop, ["M-9"])
    client = app.test_client()
    client.post(
        "/api/v1/bounces", data=_bounce_for(app, shop), content_type="message/rfc822",
        headers={"Authorization": f"Bearer {shop['token']}"},
    )  # fmt: skip
    page = portal.get("/orders/M-1").get_data(as_text=True)
    section = page[page.index('id="messages"') :]
    assert f'id="message-{shop["message"]}"' in section
    assert f'id="message-{naming}"' in section and f'id="message-{other}"' not in section
    assert "bounced" in section and shop["recipient"] in section
    assert "Resend" in section and "Unsubscribe from optional notifications" in section
    assert "Send as letter" not in section  # no postal address


def test_resend_makes_a_new_message_with_the_same_content(app, shop):
    from ledger.db import db
    from ledger.models import AuditEntry, OutboxMessage
    from tests.portal.conftest import Portal

    portal = Portal(app, shop)
    answer = portal.post(f"/orders/M-1/messages/{shop['message']}/resend")
    assert answer.status_code == 200
    with app.app_context():
        first = db.session.get(OutboxMessage, shop["message"])
        again = db.session.scalars(
            db.select(OutboxMessage).filter_by(resent_from_id=first.id)
        ).one()
        assert (again.subject, again.body, again.recipient, again.purpose) == (
            first.subject, first.body, first.recipient, first.purpose,
        )  # fmt: skip
        assert again.state == "pending" and again.id != first.id
        assert db.session.query(AuditEntry).filter_by(action="message.resent").count() == 1
    waiting = portal.post(f"/orders/M-1/messages/{again.id}/resend")
    assert waiting.status_code == 422  # still waiting to go: nothing stored
    assert portal.post("/orders/M-1/messages/99999/resend").status_code == 422
    with app.app_context():
        assert db.session.query(OutboxMessage).filter_by(resent_from_id=again.id).count() == 0


def test_send_as_letter_makes_a_reminder_letter_of_the_level(app, shop):
    from ledger.db import db
    from ledger.models import Order, OutboxMessage
    from tests.portal.conftest import Portal

    portal = Portal(app, shop)
    refused = portal.post(f"/orders/M-1/messages/{shop['message']}/letter")
    assert refused.status_code == 422 and "postal address" in refused.get_data(as_text=True)
    with app.app_context():
        db.session.get(Order, shop["order"]).postal_address = "Weg 1\n10115 Berlin"
        db.session.commit()
    assert "Send as letter" in portal.get("/orders/M-1").get_data(as_text=True)
    assert portal.post(f"/orders/M-1/messages/{shop['message']}/letter").status_code == 200
    with app.app_context():
        letter = db.session.scalars(db.select(OutboxMessage).filter_by(kind="letter")).one()
        assert letter.purpose == "reminder" and letter.payload["level"] == 1
        assert letter.order_id == shop["order"] and "10115 Berlin" in letter.recipient
        from ledger.models import Letter
        from worker.jobs import deliver

        deliver(letter.id)  # the letter channel renders the reminder letter of that level
        made = db.session.scalars(db.select(Letter).filter_by(message_id=letter.id)).one()
        assert made.kind == "reminder" and made.level == 1 and made.pdf.startswith(b"%PDF")


def test_unsubscribe_stops_only_optional_notifications(app, shop):
    from ledger import order_messages
    from ledger.db import db
    from ledger.models import Order
    from tests.portal.conftest import Portal

    portal = Portal(app, shop)
    assert portal.post("/orders/M-1/unsubscribe").status_code == 200
    with app.app_context():
        order = db.session.get(Order, shop["order"])
        assert order.notifications_off
        assert not order_messages.wanted(order, "payment_received")
        assert order_messages.wanted(order, "reminder") and order_messages.wanted(
            order, "payment_info"
        )
    assert portal.post("/orders/M-1/unsubscribe").status_code == 422
    page = portal.get("/orders/M-1").get_data(as_text=True)
    assert "Unsubscribe from optional notifications" not in page
    assert "payment information and reminders still go out" in page


def test_the_outbox_page_warns_of_a_bounced_message(app, shop):
    from tests.portal.conftest import Portal

    portal = Portal(app, shop)
    app.test_client().post(
        "/api/v1/bounces", data=_bounce_for(app, shop), content_type="message/rfc822",
        headers={"Authorization": f"Bearer {shop['token']}"},
    )  # fmt: skip
    page = portal.get("/outbox").get_data(as_text=True)
    assert "Returned as undeliverable:" in page and shop["recipient"] in page
