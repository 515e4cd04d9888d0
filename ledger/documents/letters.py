"""A letter to a customer as PDF: DIN 5008 form B for a window envelope, in the order's locale,
with the payment slip on its last page. Rendered with WeasyPrint from templates/letters/;
`render` reads the order and writes nothing (the letter channel and the CLI store or write the
result)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal

from flask import render_template
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from ledger import clock, messages
from ledger.documents import slips
from ledger.documents.locales import day, language_of, locale_for, money, swiss

KINDS = ("reminder", "payment_info", "cancellation", "invoice")
WITH_SLIP = ("reminder", "payment_info", "invoice")


class LetterError(Exception):
    """A letter that cannot be produced; the message says why, in plain English."""


@dataclass
class RenderedLetter:
    pdf: bytes
    pages: int
    locale: str
    recipient: str  # the address lines in the window, joined by "\n"


# The words around the text: information block, table, slip, footer.
LABELS = {
    "de": {
        "order": "Bestellnummer",
        "invoice": "Rechnungsnummer",
        "customer": "Kundennummer",
        "date": "Datum",
        "page": "Seite",
        "of": "von",
        "principal": "Bestellbetrag",
        "fees": "Mahngebühren",
        "interest": "Verzugszinsen",
        "paid": "Bereits gezahlt",
        "open": "Offener Betrag",
        "due": "Fällig am",
        "holder": "Kontoinhaber",
        "bank": "Bank",
        "reference": "Verwendungszweck",
        "bank_details": "Bankverbindung",
        "vat": "USt-IdNr.",
        "directors": "Geschäftsführung",
        "slip": "Zahlschein zu Bestellung",
        "transfer": "SEPA-Überweisung",
        "recipient": "Empfänger",
        "amount": "Betrag",
        "scan": "Mit Banking-App scannen",
    },
    "en": {
        "order": "Order number",
        "invoice": "Invoice number",
        "customer": "Customer number",
        "date": "Date",
        "page": "Page",
        "of": "of",
        "principal": "Order amount",
        "fees": "Reminder fees",
        "interest": "Default interest",
        "paid": "Already paid",
        "open": "Amount due",
        "due": "Due on",
        "holder": "Account holder",
        "bank": "Bank",
        "reference": "Reference",
        "bank_details": "Bank details",
        "vat": "VAT ID",
        "directors": "Managing directors",
        "slip": "Payment slip for order",
        "transfer": "SEPA credit transfer",
        "recipient": "Payee",
        "amount": "Amount",
        "scan": "Scan with your banking app",
    },
    "fr": {
        "order": "N° de commande",
        "invoice": "N° de facture",
        "customer": "N° de client",
        "date": "Date",
        "page": "Page",
        "of": "sur",
        "principal": "Montant de la commande",
        "fees": "Frais de rappel",
        "interest": "Intérêts de retard",
        "paid": "Déjà payé",
        "open": "Montant dû",
        "due": "Échéance",
        "holder": "Titulaire",
        "bank": "Banque",
        "reference": "Communication",
        "bank_details": "Coordonnées bancaires",
        "vat": "N° TVA",
        "directors": "Direction",
        "slip": "Bulletin de versement pour la commande",
        "transfer": "Virement SEPA",
        "recipient": "Bénéficiaire",
        "amount": "Montant",
        "scan": "Scanner avec l'application bancaire",
    },
    "it": {
        "order": "N. ordine",
        "invoice": "N. fattura",
        "customer": "N. cliente",
        "date": "Data",
        "page": "Pagina",
        "of": "di",
        "principal": "Importo dell'ordine",
        "fees": "Spese di sollecito",
        "interest": "Interessi di mora",
        "paid": "Già pagato",
        "open": "Importo dovuto",
        "due": "Scadenza",
        "holder": "Titolare",
        "bank": "Banca",
        "reference": "Causale",
        "bank_details": "Coordinate bancarie",
        "vat": "Partita IVA",
        "directors": "Amministratori",
        "slip": "Polizza di versamento per l'ordine",
        "transfer": "Bonifico SEPA",
        "recipient": "Beneficiario",
        "amount": "Importo",
        "scan": "Scansionare con l'app bancaria",
    },
}
# Austria writes a few words its own way.
LABELS_AT = {**LABELS["de"], "fees": "Mahnspesen", "vat": "UID-Nr."}
LABELS_CH = {**LABELS["de"], "vat": "MWST-Nr."}

# WeasyPrint fetches nothing from outside: the logo and the codes are data: URIs.
FETCHER = URLFetcher(allowed_protocols=("data",), timeout=1)


def labels_for(locale: str) -> dict[str, str]:
    return {"de-AT": LABELS_AT, "de-CH": LABELS_CH}.get(locale) or LABELS[language_of(locale)]


def title(kind: str, level: int | None, lang: str) -> str:
    """The letter's heading: 1 = "Zahlungserinnerung", 2 = "1. Mahnung", 3 = "2. Mahnung"…"""
    if kind != "reminder":
        return ""
    mahnung = (level or 1) - 1
    if mahnung < 1:
        return {
            "de": "Zahlungserinnerung",
            "en": "Payment reminder",
            "fr": "Rappel de paiement",
            "it": "Promemoria di pagamento",
        }[lang]
    return {
        "de": f"{mahnung}. Mahnung",
        "en": f"Reminder no. {mahnung}",
        "fr": "1er rappel" if mahnung == 1 else f"{mahnung}e rappel",
        "it": f"{mahnung}° sollecito",
    }[lang]


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _slip_context(slip: slips.Slip | None, locale: str) -> dict | None:
    if slip is None:
        return None
    lang = language_of(locale)
    if slip.kind == slips.QR_BILL:
        svg = slips.qr_bill_svg(slip, lang).encode("utf-8")
        return {"slip": slip, "svg": _data_uri("image/svg+xml", svg)}
    return {
        "slip": slip,
        "png": _data_uri("image/png", slips.qr_png(slip, scale=6)),
        "amount": money(slip.amount, slip.currency, locale) if slip.amount is not None else "",
    }


def render(
    order,
    merchant,
    kind: str,
    *,
    level: int | None = None,
    fee: Decimal | None = None,
    today=None,
    invoice_pdf: bytes | None = None,
) -> RenderedLetter:
    """The letter of `kind` for the order as it stands now, as PDF."""
    from ledger import order_edits  # the payment terms' words (it imports the lifecycle)

    if kind not in KINDS:
        raise LetterError(f"unknown letter kind {kind!r} (one of {', '.join(KINDS)})")
    address = _lines(order.postal_address)
    if not address:
        raise LetterError("the order has no postal address for a letter")
    if kind == "invoice" and not invoice_pdf:
        raise LetterError("the order has no invoice PDF")
    locale = locale_for(order)
    lang = language_of(locale)
    today = today or clock.today_for(merchant)
    slip = slips.slip_for(order, merchant) if kind in WITH_SLIP else None
    recipient = [order.customer_name, *address]
    html = render_template(
        f"letters/{kind}.html",
        kind=kind,
        order=order,
        merchant=merchant,
        locale=locale,
        lang=lang,
        labels=labels_for(locale),
        title=title(kind, level, lang),
        level=level or 1,
        reminded_before=(level or 1) > 1,
        fee=money(fee, order.currency, locale) if fee else None,
        amounts=messages.amounts(order, locale),
        refund=money(order.statement.paid, order.currency, locale)
        if order.statement.paid > 0
        else None,
        payment=messages.payment_details(order),
        company=merchant.company_name or merchant.name,
        company_lines=_lines(merchant.company_address),
        logo=_data_uri(merchant.logo_type or "image/png", merchant.logo) if merchant.logo else None,
        recipient=recipient,
        today=day(today, locale),
        ordered_on=day(order.ordered_on, locale),
        due_on=day(order.due_on, locale),
        terms=order_edits.terms_text(order, lang),  # "14 Tage 2 % Skonto, 30 Tage netto"
        cancelled_on=day(order.cancelled_on or today, locale),
        slip=_slip_context(slip, locale),
    )
    if locale == "de-CH":
        html = swiss(html)
    document = HTML(string=html, url_fetcher=FETCHER).render()
    pdf, pages = document.write_pdf(), len(document.pages)
    if kind == "invoice":
        pdf, pages = _after_invoice(invoice_pdf, pdf if slip else None)
    return RenderedLetter(pdf=pdf, pages=pages, locale=locale, recipient="\n".join(recipient))


def _after_invoice(invoice_pdf: bytes, slip_pdf: bytes | None) -> tuple[bytes, int]:
    """The shop's invoice, then the slip page."""
    writer = PdfWriter()
    try:
        writer.append(PdfReader(io.BytesIO(invoice_pdf)))
    except (PyPdfError, ValueError, OSError) as exc:
        raise LetterError(f"the invoice PDF cannot be read: {exc}") from exc
    if slip_pdf:
        writer.append(PdfReader(io.BytesIO(slip_pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)
