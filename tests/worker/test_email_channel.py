"""Customer mails as they arrive: through the worker's delivery into the real SMTP sink, read
back as .eml. Multipart (text and HTML with inline images), a QR code a banking app can scan
(decoded by zbarimg), the headers, the sender rule, the reminder PDF by the merchant's choice."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from email.utils import parsedate_to_datetime

import pytest
from PIL import Image
from sqlalchemy import select

from ledger import dunning, settings
from ledger.bank import accounts, index
from ledger.db import db
from ledger.models import MessageState, OutboxMessage
from tests.ledger.test_documents import zbar
from worker.jobs import deliver

REMINDER_DAY = date(2026, 10, 15)  # 14 days after tests.conftest.DAY0
CANCEL_DAY = date(2026, 10, 22)  # 21 days: cancel and notify accounting (the digest)
SWISS_IBAN = "CH9300762011623852957"
QR_IBAN = "CH4431999123000889012"


def _reminder(merchant, order) -> OutboxMessage:
    dunning.execute(merchant, REMINDER_DAY)
    return db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.order_id == order.id, OutboxMessage.purpose == "reminder"
        )
    )


def _send(merchant, order, mail_sink):
    message = _reminder(merchant, order)
    assert deliver(message.id) == "sent"
    [mail] = mail_sink.messages()
    return message, mail


def _zbar(png: bytes, tmp_path) -> str:
    """The QR code's payload as zbar reads it (tried at a few sizes: zbar misses a Swiss QR
    code at full size, see tests/ledger/test_documents.py)."""
    return zbar(Image.open(io.BytesIO(png)), tmp_path)


def _inline(mail, cid: str):
    return next(p for p in mail.walk() if p["Content-ID"] == f"<{cid}>")


def test_a_euro_reminder_is_multipart_with_a_scannable_girocode(
    card_merchant, add_order, mail_sink, tmp_path
):
    order = add_order(card_merchant, "AK-1", amount="123.45")
    message, mail = _send(card_merchant, order, mail_sink)

    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Offener Betrag: 123,45 €" in text and "IBAN: DE02 1203 0000 0000 2020 51" in text
    assert "Offener Betrag" in html and "DE02 1203 0000 0000 2020 51" in html
    assert 'src="cid:qr"' in html and "Mit Ihrer Banking-App scannen" in html
    # the HTML and its image travel together as multipart/related
    related = mail.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    qr = _inline(mail, "qr")
    assert qr.get_content_type() == "image/png" and qr.get_content_disposition() == "inline"

    payload = _zbar(qr.get_content(), tmp_path).splitlines()
    assert payload[0] == "BCD" and payload[3] == "SCT"
    assert payload[6] == "DE02120300000000202051"
    assert payload[7] == "EUR123.45"
    assert payload[9] == order.payment_reference and payload[9].startswith("RF")
    assert message.html and "cid:qr" in message.html  # the stored message keeps no image
    assert message.payload["inline"] == {"qr": "123.45"}


def test_the_code_asks_for_the_amount_the_words_state(
    card_merchant, add_order, pay, mail_sink, tmp_path
):
    """A payment booked between writing the reminder and sending it: the mail's words and its
    code still agree (the worker's last look only stops a reminder to a settled order)."""
    order = add_order(card_merchant, "AK-5", amount="123.45")
    message = _reminder(card_merchant, order)
    db.session.commit()
    pay(order, "20.00", REMINDER_DAY)
    assert deliver(message.id) == "sent"
    [mail] = mail_sink.messages()
    assert "Offener Betrag: 123,45 €" in mail.get_body(("plain",)).get_content()
    assert _zbar(_inline(mail, "qr").get_content(), tmp_path).splitlines()[7] == "EUR123.45"


def test_a_swiss_order_carries_the_swiss_qr_code(card_merchant, add_order, mail_sink, tmp_path):
    settings.update(
        card_merchant, {"company_address": "Bahnhofstrasse 1\n8001 Zürich"}, "test@example"
    )
    accounts.add_account(card_merchant, SWISS_IBAN, qr_iban=QR_IBAN)
    order = add_order(card_merchant, "AK-2")
    order.country, order.currency, order.payment_reference = "CH", "CHF", None
    order.customer_name = "Ruth Strauß"
    order.postal_address = "Seestrasse 5\n8002 Zürich"
    index.index_order(order)
    db.session.commit()
    _message, mail = _send(card_merchant, order, mail_sink)

    text = mail.get_body(("plain",)).get_content()
    assert "Offener Betrag: CHF 80.00" in text and "ß" not in text  # Swiss: Grüsse
    assert "Mit freundlichen Grüssen" in text
    payload = _zbar(_inline(mail, "qr").get_content(), tmp_path).splitlines()
    assert payload[0] == "SPC"
    assert payload[3] == QR_IBAN
    assert "80.00" in payload and "CHF" in payload
    assert "QRR" in payload  # a QR reference with the QR-IBAN
    assert "Ruth Strauss" in payload  # Swiss spelling in the code as in the words


def test_headers_of_a_customer_mail(card_merchant, add_order, mail_sink):
    settings.update(card_merchant, {"reply_to_email": "antwort@alpenkiste.example"}, "t@x.de")
    order = add_order(card_merchant, "AK-3")
    message, mail = _send(card_merchant, order, mail_sink)

    assert mail["From"].addresses[0].addr_spec == "shop@alpenkiste.example"
    assert mail["From"].addresses[0].display_name == "Alpenkiste GmbH"
    assert mail["Reply-To"] == "antwort@alpenkiste.example"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].startswith(f"<mahnwerk.{message.id}.")
    assert mail["Message-ID"].endswith("@alpenkiste.example>")
    assert parsedate_to_datetime(mail["Date"]).tzinfo is not None
    assert mail["Precedence"] is None  # a reminder is a personal mail
    assert mail["X-Mahnwerk-Purpose"] == "reminder"
    assert "localhost" not in mail.as_string()


def test_a_digest_is_bulk_mail(card_merchant, add_order, mail_sink):
    add_order(card_merchant, "AK-4")
    dunning.execute(card_merchant, REMINDER_DAY)
    dunning.execute(card_merchant, CANCEL_DAY)
    digest = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.purpose == "accounting_digest")
    )
    assert deliver(digest.id) == "sent"
    [mail] = [m for m in mail_sink.messages() if m["X-Mahnwerk-Purpose"] == "accounting_digest"]
    assert mail["Precedence"] == "bulk" and mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "text/plain" and "AK-4" in mail.get_content()
    assert mail["From"].addresses[0].addr_spec == "shop@alpenkiste.example"


def test_without_a_sender_address_nothing_is_sent(app, card_merchant, add_order, mail_sink):
    app.config["MAIL_DEFAULT_SENDER"] = "Mahnwerk <mahnwerk@mahnwerk.example>"  # not for customers
    card_merchant.sender_email = None
    order = add_order(card_merchant, "AK-5")
    message = _reminder(card_merchant, order)
    db.session.commit()
    assert deliver(message.id) == "failed"
    message = db.session.get(OutboxMessage, message.id)
    assert message.state == MessageState.FAILED  # for good: retrying cannot help
    assert "no sender address is configured" in message.last_error
    assert "settings page" in message.last_error
    assert mail_sink.messages() == []


@pytest.mark.parametrize(
    ("configured", "sent_from"),
    [
        ("Mahnwerk <mahnwerk@mahnwerk.example>", "mahnwerk@mahnwerk.example"),
        ("Mahnwerk <mahnwerk@localhost>", None),
        (None, None),
    ],
)
def test_team_mails_may_use_the_installations_sender(
    app, card_merchant, mail_sink, configured, sent_from
):
    from ledger.outbox import add

    app.config["MAIL_DEFAULT_SENDER"] = configured
    card_merchant.sender_email = None
    message = add(card_merchant.id, "email", "invitation", "neu@example.de", subject="x", body="y")
    db.session.commit()
    result = deliver(message.id)
    if sent_from is None:
        assert result == "failed" and mail_sink.messages() == []
        assert "no sender address" in db.session.get(OutboxMessage, message.id).last_error
    else:
        [mail] = mail_sink.messages()
        assert mail["From"].addresses[0].addr_spec == sent_from


def test_customer_data_is_escaped_in_the_html_part(card_merchant, add_order, mail_sink):
    order = add_order(card_merchant, "AK-6")
    order.customer_name = 'Anna <b>& "Co"'
    db.session.commit()
    _message, mail = _send(card_merchant, order, mail_sink)
    html = mail.get_body(("html",)).get_content()
    assert "Anna &lt;b&gt;&amp; &#34;Co&#34;" in html
    assert "<b>" not in html
    assert 'Guten Tag Anna <b>& "Co"' in mail.get_body(("plain",)).get_content()


def test_the_logo_is_an_inline_image(card_merchant, add_order, mail_sink):
    png = _inline_png()
    card_merchant.logo, card_merchant.logo_type = png, "image/png"
    order = add_order(card_merchant, "AK-7")
    db.session.commit()
    _message, mail = _send(card_merchant, order, mail_sink)
    assert 'src="cid:logo"' in mail.get_body(("html",)).get_content()
    assert _inline(mail, "logo").get_content() == png


def _inline_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), "navy").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("attach", [True, False])
def test_the_reminder_pdf_is_attached_only_when_the_merchant_wants_it(
    card_merchant, add_order, mail_sink, tmp_path, attach
):
    settings.update(card_merchant, {"attach_reminder_pdf": "on" if attach else ""}, "t@x.de")
    order = add_order(card_merchant, "AK-8")
    order.postal_address = "Hauptstraße 1\n10115 Berlin"
    db.session.commit()
    _message, mail = _send(card_merchant, order, mail_sink)
    pdfs = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    if not attach:
        assert pdfs == [] and mail.get_content_type() == "multipart/alternative"
        return
    [pdf] = pdfs
    assert mail.get_content_type() == "multipart/mixed"
    assert pdf.get_filename() == "Zahlungserinnerung-AK-8.pdf"
    path = tmp_path / "reminder.pdf"
    path.write_bytes(pdf.get_content())
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "AK-8" in text and "Zahlungserinnerung" in text


def test_no_postal_address_means_no_pdf_but_the_mail_goes(card_merchant, add_order, mail_sink):
    settings.update(card_merchant, {"attach_reminder_pdf": "on"}, "t@x.de")
    order = add_order(card_merchant, "AK-9")
    order.postal_address = None
    db.session.commit()
    _message, mail = _send(card_merchant, order, mail_sink)
    assert not [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
