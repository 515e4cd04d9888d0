"""The shop's invoice of an order, as a PDF (POST /api/v1/orders/<number>/invoice): checked
before anything is stored, one per order (a new upload replaces the old). An invoice letter
prints it first, then the payment slip (ledger.documents.letters)."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from sqlalchemy import select

from ledger import audit
from ledger.db import db
from ledger.models import Invoice, Order, utcnow
from ledger.refusals import Refused

MAX_BYTES = 10 * 1024 * 1024
MAX_FILENAME = 200


def pdf_pages(data: bytes) -> int:
    """The page count of a PDF a printer can take; Refused when it is none (not a PDF, broken,
    encrypted, without pages) or too big."""
    if len(data) > MAX_BYTES:
        raise Refused("file_too_big", size=len(data), limit=MAX_BYTES)
    if not data.startswith(b"%PDF-"):
        raise Refused("not_a_pdf")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise Refused("not_a_pdf") from None
    if encrypted:
        raise Refused("pdf_encrypted")
    if pages < 1:
        raise Refused("pdf_empty")
    return pages


def invoice_of(order: Order) -> Invoice | None:
    return db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))


def store_invoice(order: Order, filename: str, data: bytes, actor: str) -> Invoice:
    """Keep the invoice PDF of the order, replacing the one before (audited). A refused file
    stores nothing."""
    pages = pdf_pages(data)
    invoice = invoice_of(order)
    replaced = invoice is not None
    if invoice is None:
        invoice = Invoice(merchant_id=order.merchant_id, order_id=order.id)
        db.session.add(invoice)
    invoice.filename = (filename or "invoice.pdf")[:MAX_FILENAME]
    invoice.pdf = data
    invoice.size = len(data)
    invoice.pages = pages
    invoice.sha256 = hashlib.sha256(data).hexdigest()
    invoice.uploaded_at = utcnow()
    db.session.flush()
    audit.record(
        order.merchant_id,
        actor,
        "invoice.stored",
        order.id,
        filename=invoice.filename,
        pages=pages,
        size=len(data),
        replaced=replaced,
    )
    return invoice
