"""A customer reminder's two parts from one template per language: the text part with the
words it always had, the HTML part with the same words, the itemised amounts, the bank details,
the reference and the QR code (an inline image made when sent), customer data escaped."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ledger import lifecycle
from ledger.db import db
from ledger.messages import footer, html_for_viewing, reminder
from ledger.models import EntryKind, OutboxMessage

WORDS = {
    "de": ("Guten Tag", "Offener Betrag", "Verwendungszweck", "Mit Ihrer Banking-App scannen"),
    "en": ("Dear", "Amount due", "Reference", "Scan with your banking app"),
    "fr": ("Bonjour", "Montant dû", "Communication", "Scannez avec votre application bancaire"),
    "it": ("Gentile", "Importo dovuto", "Causale", "Scansioni con la sua app bancaria"),
}


@pytest.mark.parametrize("language", sorted(WORDS))
def test_both_parts_speak_the_orders_language(card_merchant, add_order, language):
    order = add_order(card_merchant, "AK-1", language=language)
    mail = reminder(order, card_merchant, 1, None, False)
    greeting, open_label, reference_label, caption = WORDS[language]
    assert mail.body.startswith(f"{greeting} Kunde AK-1,\n")
    assert f"{open_label}: " in mail.body and f"{reference_label}: RF" in mail.body
    assert "<" not in mail.body and "\n\n\n" not in mail.body
    assert f'<html lang="{language}">' in mail.html
    for words in (greeting, open_label, reference_label, caption):
        assert words.replace("'", "&#39;") in mail.html
    assert "DE02 1203 0000 0000 2020 51" in mail.html
    assert 'src="cid:qr"' in mail.html and list(mail.inline) == ["qr"]


def test_the_amounts_are_itemised_in_both_parts(card_merchant, add_order):
    order = add_order(card_merchant, "AK-2")
    cause = lifecycle.Cause("test", lifecycle.Source.MANUAL, order.ordered_on)
    lifecycle.charge(order, EntryKind.FEE, Decimal("5.00"), cause, note="fee")
    db.session.flush()
    mail = reminder(order, card_merchant, 2, Decimal("5.00"), True)
    assert "Bestellbetrag: 80,00 €\nMahngebühren: 5,00 €\nOffener Betrag: 85,00 €" in mail.body
    rows = re.findall(r"<tr><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td></tr>", mail.html)
    assert ("Mahngebühren", "5,00 €") in rows and ("Offener Betrag", "85,00 €") in rows


def test_swiss_german_writes_no_sharp_s(card_merchant, add_order):
    order = add_order(card_merchant, "AK-3")
    order.country = "CH"
    mail = reminder(order, card_merchant, 1, None, False)
    assert "Mit freundlichen Grüssen" in mail.body and "ß" not in mail.body
    assert "ß" not in mail.html and 'lang="de-CH"' in mail.html


def test_customer_data_cannot_become_markup(card_merchant, add_order):
    order = add_order(card_merchant, "AK-4")
    order.customer_name = "<script>alert(1)</script> & Co"
    mail = reminder(order, card_merchant, 1, None, False)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in mail.html
    assert "Kunde" not in mail.body and "<script>alert(1)</script> & Co," in mail.body


def test_the_logo_and_the_footer(card_merchant, add_order):
    card_merchant.logo, card_merchant.logo_type = b"\x89PNG\r\n\x1a\nlogo", "image/png"
    card_merchant.company_address = "Lindenstraße 3\n80331 München"
    card_merchant.vat_id = "DE123456789"
    order = add_order(card_merchant, "AK-5")
    mail = reminder(order, card_merchant, 1, None, False)
    assert list(mail.inline) == ["logo", "qr"] and 'src="cid:logo"' in mail.html
    assert footer(card_merchant) == [
        "Alpenkiste GmbH", "Lindenstraße 3", "80331 München", "DE123456789"
    ]  # fmt: skip
    assert mail.body.rstrip().endswith("80331 München\nDE123456789")
    message = OutboxMessage(order=order, html=mail.html, payload={"inline": mail.inline})
    viewed = html_for_viewing(message, card_merchant)
    assert "cid:" not in viewed and viewed.count('src="data:image/png;base64,') == 2


def test_no_account_no_qr_code(card_merchant, add_order):
    order = add_order(card_merchant, "AK-6")
    order.currency = "CHF"  # the merchant has no CHF account: no slip fits
    mail = reminder(order, card_merchant, 1, None, False)
    assert "cid:qr" not in mail.html and not mail.inline
