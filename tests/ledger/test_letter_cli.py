"""`mahnwerk letter render` writes one PDF and stores nothing; bad input exits with a message."""

from __future__ import annotations

import subprocess

from sqlalchemy import func, select

from ledger.accounts import find_merchant
from ledger.db import db
from ledger.models import AuditEntry, LedgerEntry, Letter, Order, OutboxMessage


def counts() -> tuple:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Letter, OutboxMessage, AuditEntry, LedgerEntry, Order)
    )


def test_letter_render_writes_a_pdf_and_stores_nothing(ctx, make_merchant, add_order, tmp_path):
    merchant = find_merchant(make_merchant()["name"])
    order = add_order(merchant, "AK-1", method="invoice")
    order.postal_address = "Hauptstraße 5\n10115 Berlin"
    add_order(merchant, "AK-2")  # no postal address
    db.session.commit()
    before = counts()
    runner = ctx.test_cli_runner()
    out = tmp_path / "letter.pdf"
    base = ["letter", "render", "--merchant", merchant.name]

    result = runner.invoke(
        args=base + ["--order", "AK-1", "--kind", "reminder", "--level", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 page(s), de" in result.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "1. Mahnung" in text and "Kunde AK-1" in text and "80,00 €" in text

    result = runner.invoke(
        args=base + ["--order", "AK-1", "--kind", "payment-info", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    for args, message in (
        (["--order", "AK-9", "--kind", "reminder"], "has no order 'AK-9'"),
        (["--order", "AK-1", "--kind", "postcard"], "unknown kind 'postcard'"),
        (["--order", "AK-2", "--kind", "reminder"], "the order has no postal address"),
        (["--order", "AK-1", "--kind", "invoice"], "the order has no invoice PDF"),
    ):
        result = runner.invoke(args=base + args + ["--out", str(tmp_path / "bad.pdf")])
        assert result.exit_code == 1 and message in result.output, result.output
    result = runner.invoke(
        args=["letter", "render", "--merchant", "Nobody", "--order", "AK-1", "--kind", "reminder"]
        + ["--out", str(tmp_path / "bad.pdf")]
    )
    assert result.exit_code == 1 and "no merchant named 'Nobody'" in result.output
    assert not (tmp_path / "bad.pdf").exists()
    db.session.remove()
    assert counts() == before
