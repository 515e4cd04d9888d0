"""Payment slips: the Swiss QR-bill for customers in Switzerland and Liechtenstein (and CHF
orders), the GiroCode (EPC069-12 "SEPA credit transfer" QR code) for euro orders.

The slip carries what the customer's banking app reads: the paying account
(ledger.bank.accounts.for_order, through ledger.messages.payment_details), the open amount and
the structured reference the bank matching looks for (the order's payment_reference: a QR
reference with a QR-IBAN, else the RF creditor reference).
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import segno
from PIL import Image, ImageDraw
from qrbill import QRBill
from segno import helpers as segno_helpers

from ledger import messages
from ledger.bank.accounts import SWISS
from ledger.documents.locales import locale_for, swiss

QR_BILL = "qr-bill"
GIROCODE = "girocode"
QRBILL_LANGUAGES = ("de", "fr", "it", "en")
# segno's EPC helper picks the first encoding the text fits; the third line names it.
_EPC_ENCODINGS = (
    "utf-8",
    "iso-8859-1",
    "iso-8859-2",
    "iso-8859-4",
    "iso-8859-5",
    "iso-8859-7",
    "iso-8859-10",
    "iso-8859-15",
)
CROSS_MM, CODE_MM = 7, 46  # the Swiss cross's size on the 46 mm QR code (SIX IG QR-bill)


@dataclass(frozen=True)
class Slip:
    kind: str  # QR_BILL or GIROCODE
    creditor_name: str  # the account holder
    creditor_lines: tuple[str, ...]  # the merchant's address lines (street, postcode town)
    creditor_country: str
    iban: str  # compact; a QR-IBAN for a QR reference
    bic: str | None
    amount: Decimal | None  # the open amount; None when nothing is open
    currency: str
    reference: str  # compact, machine form: "RF18242AK10001" or 27 digits, "" without one
    reference_display: str  # as printed: "RF18 242A K100 01"
    debtor_name: str
    debtor_lines: tuple[str, ...]
    debtor_country: str
    text: str  # remittance information / purpose: the order number

    @property
    def iban_display(self) -> str:
        return messages.format_iban(self.iban)

    @property
    def structured(self) -> bool:
        """An RF or QR reference (not just the order number)."""
        return bool(self.reference)


def _compact(value: str) -> str:
    return re.sub(r"\s", "", value or "")


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def slip_for(order, merchant, amount: Decimal | None = None) -> Slip | None:
    """The order's slip: a QR-bill when it is paid to a Swiss or Liechtenstein account and the
    customer is Swiss or the order is in CHF; a GiroCode for a euro order. None without an
    account, and for a CHF order the merchant has only a non-Swiss account for (no slip
    fits). The amount is the open amount, or the `amount` a document stated when it was
    written; in Swiss spelling for de-CH customers, so the print and the code say the same."""
    payment = messages.payment_details(order)
    if payment is None:
        return None
    iban = _compact(payment["iban"])
    swiss_account = iban[:2] in SWISS
    if swiss_account and (order.country in SWISS or order.currency == "CHF"):
        kind = QR_BILL
    elif order.currency == "EUR":
        kind = GIROCODE
    else:
        return None
    reference = _compact(payment["reference"])
    structured = reference.startswith("RF") or (reference.isdigit() and len(reference) == 27)
    open_amount = order.statement.open if amount is None else amount
    slip = Slip(
        kind=kind,
        creditor_name=payment["holder"],
        creditor_lines=_lines(merchant.company_address),
        creditor_country=(merchant.country or "DE").upper(),
        iban=iban,
        bic=payment["bic"],
        amount=open_amount if open_amount > 0 else None,
        currency=order.currency,
        reference=reference if structured else "",
        reference_display=payment["reference"],
        debtor_name=order.customer_name,
        debtor_lines=_lines(order.postal_address),
        debtor_country=(order.country or "").upper(),
        text=order.number,
    )
    return _in_swiss_spelling(slip) if locale_for(order) == "de-CH" else slip


def _in_swiss_spelling(slip: Slip) -> Slip:
    return dataclasses.replace(
        slip,
        creditor_name=swiss(slip.creditor_name),
        creditor_lines=tuple(swiss(line) for line in slip.creditor_lines),
        debtor_name=swiss(slip.debtor_name),
        debtor_lines=tuple(swiss(line) for line in slip.debtor_lines),
        text=swiss(slip.text),
    )


# --- GiroCode -----------------------------------------------------------------------------------


def _epc_arguments(slip: Slip) -> dict:
    """segno's EPC helper takes a structured reference or a text, not both."""
    return {
        "name": slip.creditor_name[:70],
        "iban": slip.iban,
        # EPC069-12 allows an empty amount, segno does not: a placeholder, blanked below
        "amount": slip.amount if slip.amount is not None else Decimal("0.01"),
        "bic": slip.bic,
        "reference": slip.reference or None,
        "text": None if slip.reference else slip.text[:140],
    }


def epc_payload(slip: Slip) -> str:
    """The EPC069-12 payload: BCD, 002, charset, SCT, BIC, name, IBAN, EUR amount, purpose,
    reference (RF…) or, without one, the text. Built by segno's own helper (the one that makes
    the code), so the text and the code cannot differ."""
    data = segno_helpers._make_epc_qr_data(**_epc_arguments(slip))
    charset = int(data.split(b"\n")[2])
    lines = data.decode(_EPC_ENCODINGS[charset - 1]).split("\n")
    if slip.amount is None:
        lines[7] = ""
    return "\n".join(lines)


def _girocode(slip: Slip) -> segno.QRCode:
    if slip.amount is None:
        return segno.make_qr(epc_payload(slip), error="m", boost_error=False)
    return segno_helpers.make_epc_qr(**_epc_arguments(slip))


# --- Swiss QR-bill ------------------------------------------------------------------------------


def _address(name: str, lines: tuple[str, ...], country: str) -> dict:
    """qrbill's combined address (type K): the last line is postcode and town, the ones before
    it the street; a line naming the country is left out (the country has its own field)."""
    lines = tuple(lines)
    if len(lines) > 1 and not any(ch.isdigit() for ch in lines[-1]) and len(lines[-1]) < 40:
        lines = lines[:-1]  # "Schweiz", "Switzerland"
    town = lines[-1] if lines else country
    street = ", ".join(lines[:-1])
    return {"name": name[:70], "line1": street[:70], "line2": town[:70], "country": country}


def qr_bill(slip: Slip, language: str = "de") -> QRBill:
    """qrbill's bill for the slip (its payment part is drawn with `as_svg`)."""
    return QRBill(
        account=slip.iban,
        creditor=_address(slip.creditor_name, slip.creditor_lines, slip.creditor_country),
        amount=slip.amount,
        currency=slip.currency,
        debtor=_address(slip.debtor_name, slip.debtor_lines, slip.debtor_country)
        if slip.debtor_lines
        else None,
        reference_number=slip.reference or None,
        additional_information=slip.text[:140],
        language=language if language in QRBILL_LANGUAGES else "de",
    )


def qr_bill_svg(slip: Slip, language: str = "de") -> str:
    """The QR-bill's payment part (receipt and payment part, 210 × 105 mm) as SVG text."""
    out = io.StringIO()
    qr_bill(slip, language).as_svg(out)
    return out.getvalue()


# --- the code alone -----------------------------------------------------------------------------


def qr_payload(slip: Slip) -> str:
    """The text the slip's QR code encodes."""
    if slip.kind == QR_BILL:
        return qr_bill(slip).qr_data()
    return epc_payload(slip)


def qr_png(slip: Slip, scale: int = 4) -> bytes:
    """A PNG of the slip's QR code alone (quiet zone included); the Swiss one carries the Swiss
    cross in its centre."""
    if slip.kind == QR_BILL:
        code = segno.make_qr(qr_payload(slip), error="m", boost_error=False, encoding="utf-8")
    else:
        code = _girocode(slip)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    if slip.kind != QR_BILL:
        return buffer.getvalue()
    return _with_swiss_cross(buffer.getvalue(), code.symbol_size(scale=scale, border=0)[0], scale)


def _with_swiss_cross(png: bytes, code_px: int, scale: int) -> bytes:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    size = round(code_px * CROSS_MM / CODE_MM)
    centre_x, centre_y = image.width / 2, image.height / 2
    left, top = round(centre_x - size / 2), round(centre_y - size / 2)
    draw = ImageDraw.Draw(image)
    margin = max(1, round(size * 0.7 / 19.8))  # the white border around the black square
    draw.rectangle((left, top, left + size - 1, top + size - 1), fill="white")
    draw.rectangle(
        (left + margin, top + margin, left + size - 1 - margin, top + size - 1 - margin),
        fill="black",
    )
    # the white cross: arms 3.3/19.8 wide and 11/19.8 long (qrbill's drawing)
    arm, length = size * 3.3 / 19.8, size * 11 / 19.8
    draw.rectangle(
        (centre_x - arm / 2, centre_y - length / 2, centre_x + arm / 2, centre_y + length / 2),
        fill="white",
    )
    draw.rectangle(
        (centre_x - length / 2, centre_y - arm / 2, centre_x + length / 2, centre_y + arm / 2),
        fill="white",
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
