"""PDF letters and payment slips (ledger/documents), read back with Debian's poppler and zbar:
the text a customer reads, the page count, and what a banking app scans from the code."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from qrbill import QRBill
from weasyprint import HTML

from ledger import orders
from ledger.accounts import find_merchant
from ledger.bank import accounts, index
from ledger.db import db
from ledger.documents import letters, locales, slips
from ledger.entries import post
from ledger.models import EntryKind, Source, Status

SWISS_IBAN = "CH9300762011623852957"
QR_IBAN = "CH4431999123000889012"
EURO_IBAN = "DE02120300000000202051"
TODAY = date(2026, 12, 1)

# (locale, language, country, currency, address)
CUSTOMERS = {
    "de": ("de", "DE", "EUR", "Hauptstraße 5\n10115 Berlin"),
    "de-AT": ("de", "AT", "EUR", "Mariahilfer Straße 12/4\n1060 Wien\nÖsterreich"),
    "de-CH": ("de", "CH", "CHF", "Grossmünsterplatz 1\n8001 Zürich"),
    "en": ("en", "IE", "EUR", "12 Grafton Street\nDublin 2\nIreland"),
    "fr": ("fr", "CH", "CHF", "Rue du Rhône 8\n1204 Genève"),
    "it": ("it", "IT", "EUR", "Via Roma 3\n20121 Milano\nItalia"),
}


def pdftotext(pdf: bytes, tmp_path: Path, name: str = "letter") -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return run.stdout


def page_count(pdf: bytes, tmp_path: Path, name: str = "pages") -> int:
    """Pages as poppler renders them (50 dpi PNGs)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "in.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(folder / "in.pdf"), str(folder / "p")], check=True
    )
    return len(list(folder.glob("p*.png")))


# -Sbinary: the code's bytes as they are (zbar would guess a Japanese charset for UTF-8
# without ECI, mchehab/zbar#216); `decoded` reads them as the payload's standard says.
ZBAR = ["zbarimg", "--raw", "-q", "-Sbinary"]


def decoded(raw: bytes) -> str:
    """A GiroCode names its charset in line 3 (1 = UTF-8, 2 = ISO 8859-1, …); a Swiss QR code
    is UTF-8."""
    raw = raw.removesuffix(b"\n")
    if raw.startswith(b"BCD\n"):
        charset = int(raw.split(b"\n")[2])
        return raw.decode(slips._EPC_ENCODINGS[charset - 1])
    return raw.decode("utf-8")


def scan_last_page(pdf: bytes, tmp_path: Path, name: str = "scan") -> str:
    """The QR code zbar finds in the bottom 105 mm of the last page, rendered at 300 dpi.

    zbar misses Swiss QR codes at full size (the Swiss cross covers the code's centre
    alignment pattern: mchehab/zbar#167, #216); scaled down to about 40 % it reads them, so the
    image is tried at a few sizes."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "in.pdf").write_bytes(pdf)
    pages = len(PdfReader(folder / "in.pdf").pages)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-gray", "-png", "-f", str(pages), "-l", str(pages)]
        + [str(folder / "in.pdf"), str(folder / "p")],
        check=True,
    )
    (image,) = folder.glob("p*.png")
    page = Image.open(image)
    return zbar(page.crop((0, page.height * 192 // 297, page.width, page.height)), folder)


def zbar(image: Image.Image, folder: Path) -> str:
    """The payload of the QR code zbar finds in the image, tried at full size and scaled down
    (zbar misses Swiss QR codes at full size: mchehab/zbar#167, #216)."""
    for factor in (1, 0.4, 0.35, 0.45, 0.3, 0.5):
        scaled = image.resize((round(image.width * factor), round(image.height * factor)))
        scaled.save(folder / "scan.png")
        run = subprocess.run(ZBAR + [str(folder / "scan.png")], capture_output=True, check=False)
        if run.returncode == 0:
            return decoded(run.stdout)
    raise AssertionError("zbar finds no QR code")


@pytest.fixture
def shop(ctx, make_merchant):
    """A merchant with a euro account (from make_merchant) and a Swiss one with a QR-IBAN,
    and one reminded order per locale."""
    merchant = find_merchant(
        make_merchant(
            "Alpenkiste GmbH",
            company_name="Alpenkiste GmbH",
            company_address="Lindenstraße 3\n80331 München",
            register_number="HRB 12345, AG München",
            vat_id="DE123456789",
            managing_directors="Maria Groß",
        )["name"]
    )
    accounts.add_account(merchant, SWISS_IBAN, qr_iban=QR_IBAN, holder="Alpenkiste GmbH")
    made = {}
    for number, (locale, (language, country, currency, address)) in enumerate(
        CUSTOMERS.items(), start=1
    ):
        body = {
            "number": f"AK-{1000 + number}",
            "customer": {
                "name": f"Kundin Weiß {locale}",
                "email": f"k{number}@example.de",
                "country": country,
                "language": language,
                "type": "b2c",
                "address": address,
                "number": f"K-{77 + number}",
            },
            "amount": "1234.50",
            "currency": currency,
            "payment_method": "invoice",
            "ordered_on": "2026-10-01",
            "due_on": "2026-10-15",
            "invoice_number": f"RE-{500 + number}",
        }
        order = orders.upsert_order(merchant, orders.parse_order(body), "test")[0]
        index.index_order(order)
        made[locale] = order
    db.session.commit()
    return merchant, made


def test_locales_money_and_days():
    class Order:
        def __init__(self, language, country):
            self.language, self.country = language, country

    assert locales.locale_for(Order("de", "AT")) == "de-AT"
    assert locales.locale_for(Order("de", "LI")) == "de-CH"
    assert locales.locale_for(Order("fr", "CH")) == "fr"
    assert locales.money(Decimal("1234.5"), "CHF", "de-CH") == "CHF 1'234.50"
    assert locales.money(Decimal("1234.5"), "EUR", "de-AT") == "1.234,50 €"
    assert locales.day(TODAY, "de-CH") == "01.12.2026"
    assert locales.day(TODAY, "en") == "12/01/2026"
    assert locales.day(TODAY, "it") == "01.12.2026"
    assert locales.swiss("Straße, Grüße") == "Strasse, Grüsse"


INVOICE_HTML = "<p style='font-family: DejaVu Sans'>Rechnung RE-1 · Invoice of the shop</p>"
# what each locale writes for the open 1'239.50 (1'234.50 and a fee of 5.00)
OPEN = {
    "de": "1.239,50 €",
    "de-AT": "1.239,50 €",
    "de-CH": "CHF 1'239.50",
    "en": "€1,239.50",
    "fr": "CHF 1’239.50",
    "it": "1.239,50 €",
}
TITLES = {
    "de": ("Zahlungserinnerung", "1. Mahnung"),
    "de-AT": ("Zahlungserinnerung", "1. Mahnung"),
    "de-CH": ("Zahlungserinnerung", "1. Mahnung"),
    "en": ("Payment reminder", "Reminder no. 1"),
    "fr": ("Rappel de paiement", "1er rappel"),
    "it": ("Promemoria di pagamento", "1° sollecito"),
}


def flat(text: str) -> str:
    """pdftotext's layout text with runs of spaces as one (table columns, justified lines)."""
    return re.sub(r"[ \t]+", " ", text)


def check_girocode(payload: str, slip: slips.Slip, amount: str) -> None:
    lines = payload.split("\n")
    assert lines[:4] == ["BCD", "002", lines[2], "SCT"]
    assert lines[4] == "BYLADEM1001"
    assert lines[5] == "Alpenkiste GmbH"
    assert lines[6] == EURO_IBAN
    assert lines[7] == amount
    assert lines[9] == slip.reference and slip.reference.startswith("RF")
    assert payload == slips.epc_payload(slip)


def check_qr_bill(payload: str, slip: slips.Slip, amount: str) -> None:
    """The scanned Swiss code is the one qrbill makes, and qrbill accepts its fields."""
    assert payload.replace("\r\n", "\n") == slips.qr_payload(slip).replace("\r\n", "\n")
    fields = payload.replace("\r\n", "\n").split("\n")
    assert fields[0:3] == ["SPC", "0200", "1"]
    bill = QRBill(
        account=fields[3],
        creditor={"name": fields[5], "line1": fields[6], "line2": fields[7], "country": fields[10]},
        amount=fields[18],
        currency=fields[19],
        debtor={
            "name": fields[21],
            "line1": fields[22],
            "line2": fields[23],
            "country": fields[26],
        },
        reference_number=fields[28],
        additional_information=fields[29],
    )
    assert bill.qr_data().replace("\r\n", "\n") == payload.replace("\r\n", "\n")
    assert (fields[3], fields[18], fields[19], fields[27]) == (QR_IBAN, amount, "CHF", "QRR")


@pytest.mark.parametrize("locale", list(CUSTOMERS))
def test_every_kind_in_every_locale(shop, tmp_path, locale):
    merchant, made = shop
    order = made[locale]
    euro = order.currency == "EUR"
    iban = "DE02 1203 0000 0000 2020 51" if euro else "CH44 3199 9123 0008 8901 2"
    reference = slips.slip_for(order, merchant).reference_display
    name = "Kundin Weiss de-CH" if locale == "de-CH" else f"Kundin Weiß {locale}"

    first = letters.render(order, merchant, "reminder", level=1, today=TODAY)
    post(order, EntryKind.FEE, Decimal("5.00"), TODAY, Source.RULE, "test")
    second = letters.render(order, merchant, "reminder", level=2, fee=Decimal("5.00"), today=TODAY)
    slip = slips.slip_for(order, merchant)  # what the second reminder's slip carries
    info = letters.render(order, merchant, "payment_info", today=TODAY)
    invoice = letters.render(
        order, merchant, "invoice", today=TODAY, invoice_pdf=HTML(string=INVOICE_HTML).write_pdf()
    )
    post(order, EntryKind.PAYMENT, Decimal("100.00"), TODAY, Source.BANK, "test")
    order.status, order.cancelled_on = Status.CANCELLED, TODAY
    cancellation = letters.render(order, merchant, "cancellation", today=TODAY)
    db.session.rollback()  # the test's fee, payment and cancellation were never meant to stay

    rendered = {
        "first": first,
        "second": second,
        "info": info,
        "invoice": invoice,
        "cancellation": cancellation,
    }
    texts = {key: pdftotext(letter.pdf, tmp_path, key) for key, letter in rendered.items()}
    for key, letter in rendered.items():
        assert letter.locale == locale
        assert letter.recipient.splitlines()[0] == name.replace("Weiss", "Weiß")
        expected = 1 if key == "cancellation" else 2
        assert letter.pages == expected == page_count(letter.pdf, tmp_path, f"pages-{key}"), key
        if locale == "de-CH":
            assert "ß" not in texts[key], key

    # reminders: the title, the itemised amounts, the account and the reference
    for key, level_title in (("first", TITLES[locale][0]), ("second", TITLES[locale][1])):
        text = flat(texts[key])
        assert level_title in text
        assert name in text and order.number in text and "K-" in text
        assert iban in text and reference in text
    assert OPEN[locale] in flat(texts["second"])
    assert OPEN[locale].replace("239", "234") in flat(texts["first"])
    assert OPEN[locale] in flat(texts["info"]) and iban in flat(texts["info"])
    assert iban in flat(texts["invoice"]) and "Rechnung RE-1" in texts["invoice"]
    if locale.startswith("de"):
        assert "trotz unserer Erinnerung" in texts["second"]
        assert "trotz unserer Erinnerung" not in texts["first"]
        assert "Seite 1 von 2" in texts["first"]
        fees = "Mahnspesen" if locale == "de-AT" else "Mahngebühren"
        assert fees in texts["second"] and fees not in texts["first"]
    # the cancellation: nothing to pay, the payment refunded, no slip
    assert order.number in texts["cancellation"] and name in flat(texts["cancellation"])
    assert iban not in texts["cancellation"].split("Bankverbindung")[0] or not locale.startswith(
        "de"
    )
    refund = {"de": "erstatten", "en": "refund", "fr": "rembourserons", "it": "rimborseremo"}
    assert refund[locales.language_of(locale)] in texts["cancellation"]

    # the code a banking app scans on the second reminder's slip: the open amount with the fee
    payload = scan_last_page(second.pdf, tmp_path)
    if euro:
        assert slip.kind == slips.GIROCODE
        check_girocode(payload, slip, "EUR1239.5")
    else:
        assert slip.kind == slips.QR_BILL
        check_qr_bill(payload, slip, "1239.50")
        assert "Zahlteil" in texts["second"] or "Section paiement" in texts["second"]


def test_the_girocode_png_scans_to_the_epc_payload(shop, tmp_path):
    merchant, made = shop
    slip = slips.slip_for(made["de"], merchant)
    payload = zbar(Image.open(io.BytesIO(slips.qr_png(slip))), tmp_path)
    check_girocode(payload, slip, "EUR1234.5")
    assert slips.qr_payload(slip) == payload
    assert slip.reference == made["de"].payment_reference


def test_the_swiss_png_has_the_cross_and_scans(shop, tmp_path):
    merchant, made = shop
    slip = slips.slip_for(made["fr"], merchant)
    image = Image.open(io.BytesIO(slips.qr_png(slip, scale=5))).convert("L")
    centre = image.getpixel((image.width // 2, image.height // 2))
    assert centre == 255  # the white cross on its black square
    check_qr_bill(zbar(image, tmp_path), slip, "1234.50")


def test_a_qr_bill_without_qr_iban_carries_the_iban_and_the_rf_reference(ctx, make_merchant):
    merchant = find_merchant(make_merchant("Bergwerk AG", iban=SWISS_IBAN)["name"])
    body = {
        "number": "BW-1",
        "customer": {
            "name": "Hans Muster",
            "email": "hans@example.ch",
            "country": "CH",
            "language": "de",
            "type": "b2c",
            "address": "Bahnhofstrasse 1\n8001 Zürich",
        },
        "amount": "99.00",
        "currency": "CHF",
        "payment_method": "invoice",
        "ordered_on": "2026-10-01",
    }
    order = orders.upsert_order(merchant, orders.parse_order(body), "test")[0]
    index.index_order(order)
    slip = slips.slip_for(order, merchant)
    assert (slip.kind, slip.iban, slip.amount) == (slips.QR_BILL, SWISS_IBAN, Decimal("99.00"))
    assert slip.reference.startswith("RF") and slip.reference == order.payment_reference
    assert "\r\nSCOR\r\n" + slip.reference in slips.qr_payload(slip)


def test_letters_that_cannot_be_made(shop):
    merchant, made = shop
    order = made["de"]
    with pytest.raises(letters.LetterError, match="unknown letter kind"):
        letters.render(order, merchant, "postcard", today=TODAY)
    with pytest.raises(letters.LetterError, match="the order has no invoice PDF"):
        letters.render(order, merchant, "invoice", today=TODAY)
    with pytest.raises(letters.LetterError, match="cannot be read"):
        letters.render(order, merchant, "invoice", today=TODAY, invoice_pdf=b"not a pdf")
    order.postal_address = " \n "
    with pytest.raises(letters.LetterError, match="the order has no postal address for a letter"):
        letters.render(order, merchant, "reminder", today=TODAY)


def test_without_an_account_the_letter_has_no_slip(ctx, make_merchant, add_order, tmp_path):
    merchant = find_merchant(make_merchant("Ohnekonto KG", iban=None)["name"])
    order = add_order(merchant, "OK-1", method="invoice")
    order.postal_address = "Hauptstraße 5\n10115 Berlin"
    assert slips.slip_for(order, merchant) is None
    letter = letters.render(order, merchant, "reminder", level=1, today=TODAY)
    text = pdftotext(letter.pdf, tmp_path)
    assert letter.pages == 1 and "IBAN" not in text and "80,00 €" in text
