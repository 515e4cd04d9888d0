"""Returned mail: real bounce formats (flufl.bounce's own samples: a Postfix DSN, an Exim
bounce, a qmail one) sent over SMTP to the mail sink, which hands them to ledger/bounces.py."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "bounces"
SAMPLES = {  # file: the recipient that failed in it
    "postfix_01.txt": "xxxxx@local.ie",
    "exim_01.txt": "userx@its.example.nl",
    "qmail_01.txt": "userx@example.de",
}


@pytest.fixture
def bounce_sink(app, tmp_path):
    """A sink of its own that knows the app (the session's sink stores mail only)."""
    from worker.mailsink import start_sink

    controller = start_sink(tmp_path / "inbound", port=None, app=app)
    yield controller
    controller.stop()


@pytest.fixture
def sent(ctx, card_merchant, add_order, mail_sink):
    """A reminder mail to a customer, delivered to the sink with its VERP return path."""
    from ledger import outbox
    from ledger.db import db
    from worker.jobs import deliver

    card_merchant.bounce_domain = "bounces.alpenkiste.example"
    order = add_order(card_merchant, "B-1")
    message = outbox.add(
        card_merchant.id,
        "email",
        "reminder",
        order.customer_email,
        order_id=order.id,
        subject="Zahlungserinnerung",
        body="Bitte zahlen Sie.",
    )
    db.session.commit()
    deliver(message.id)
    return message


def _rewrite(name: str, failed: str, verp: str) -> bytes:
    """The sample with its failed recipient replaced by ours and its To by our VERP address."""
    text = (DATA / name).read_text(encoding="latin-1")
    text = text.split("\n", 1)[1] if text.startswith("From ") else text  # mbox separator
    text = text.replace(SAMPLES[name], failed)
    head, _, body = text.partition("\n\n")
    lines = [line for line in head.split("\n") if not line.lower().startswith("to:")]
    head = "\n".join([*lines, f"To: <{verp}>"])
    return f"{head}\n\n{body}".replace("\n", "\r\n").encode("latin-1")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_returned_mail_through_the_sink_marks_its_message_bounced(
    name, sent, bounce_sink, mail_sink
):
    from ledger import bounces
    from ledger.db import db
    from ledger.models import AuditEntry, Merchant, OutboxMessage

    merchant = db.session.get(Merchant, sent.merchant_id)
    verp = bounces.return_path(sent, merchant)
    assert verp.startswith(f"bounces+{sent.id}-") and verp.endswith("@bounces.alpenkiste.example")
    (outgoing,) = mail_sink.messages()
    assert outgoing["Return-Path"] == f"<{verp}>"

    raw = _rewrite(name, sent.recipient, verp)
    with smtplib.SMTP(bounce_sink.hostname, bounce_sink.port) as smtp:
        smtp.sendmail("MAILER-DAEMON@mx.example", [verp], raw)

    db.session.expire_all()
    message = db.session.get(OutboxMessage, sent.id)
    assert message.bounced_at is not None
    assert sent.recipient in message.bounce_reason
    entry = db.session.query(AuditEntry).filter_by(action="message.bounced").one()
    assert entry.order_id == message.order_id and entry.detail["message"] == message.id


def test_a_postfix_reason_carries_the_servers_answer(sent):
    from ledger import bounces
    from ledger.db import db
    from ledger.models import Merchant

    verp = bounces.return_path(sent, db.session.get(Merchant, sent.merchant_id))
    message = bounces.handle(_rewrite("postfix_01.txt", sent.recipient, verp))
    assert message.id == sent.id
    assert "550 5.1.1" in message.bounce_reason


def test_a_made_up_or_foreign_address_marks_nothing(sent):
    from ledger import bounces
    from ledger.db import db
    from ledger.models import Merchant

    verp = bounces.return_path(sent, db.session.get(Merchant, sent.merchant_id))
    forged = verp.replace(verp.split("-")[1][:10], "0123456789")
    assert bounces.handle(_rewrite("exim_01.txt", sent.recipient, forged)) is None
    other_domain = verp.replace("bounces.alpenkiste.example", "elsewhere.example")
    assert bounces.handle(_rewrite("exim_01.txt", sent.recipient, other_domain)) is None
    raw = _rewrite("exim_01.txt", sent.recipient, verp)
    assert bounces.handle(raw, merchant_id=sent.merchant_id + 1) is None
    assert sent.bounced_at is None


def test_without_a_bounce_domain_mail_keeps_the_sender_as_return_path(ctx, card_merchant):
    from ledger import bounces, outbox
    from ledger.db import db

    message = outbox.add(card_merchant.id, "email", "reminder", "a@example.de")
    db.session.flush()
    assert bounces.return_path(message, card_merchant) is None


def test_the_bounce_domain_is_a_setting_of_the_mail_section(ctx, card_merchant):
    from ledger import settings

    with pytest.raises(settings.SettingsRefused) as refused:
        settings.update(card_merchant, {"bounce_domain": "bounces@shop.example"}, "test", "mail")
    assert set(refused.value.by_field) == {"bounce_domain"}
    assert card_merchant.bounce_domain is None
    settings.update(card_merchant, {"bounce_domain": " Bounces.Shop.Example. "}, "test", "mail")
    assert card_merchant.bounce_domain == "bounces.shop.example"
    settings.update(card_merchant, {"bounce_domain": ""}, "test", "mail")
    assert card_merchant.bounce_domain is None
