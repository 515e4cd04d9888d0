"""`mahnwerk letter render`: one letter as PDF, to look at or print by hand. It renders the
order as it stands and stores nothing."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ledger import accounts
from ledger.db import db
from ledger.documents import letters
from ledger.models import Invoice, Order

# On the command line the kinds are written with hyphens.
CLI_KINDS = {kind.replace("_", "-"): kind for kind in letters.KINDS}


@click.group("letter")
def letter_group() -> None:
    """PDF letters to customers."""


@letter_group.command("render")
@click.option("--merchant", "merchant_name", required=True, help="The merchant's name.")
@click.option("--order", "number", required=True, help="The order number.")
@click.option("--kind", required=True, help="reminder, payment-info, cancellation or invoice.")
@click.option("--level", type=click.IntRange(min=1), help="A reminder's dunning level (1: first).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def letter_render(merchant_name, number, kind, level, out) -> None:
    """Render one letter of an order to a PDF file (nothing is stored)."""
    merchant = accounts.find_merchant(merchant_name)
    if merchant is None:
        raise click.ClickException(f"no merchant named {merchant_name!r}")
    if kind not in CLI_KINDS:
        raise click.ClickException(f"unknown kind {kind!r} (one of {', '.join(CLI_KINDS)})")
    order = db.session.scalar(
        select(Order).where(Order.merchant_id == merchant.id, Order.number == number)
    )
    if order is None:
        raise click.ClickException(f"{merchant.name} has no order {number!r}")
    invoice_pdf = None
    if CLI_KINDS[kind] == "invoice":
        invoice = db.session.scalar(select(Invoice).where(Invoice.order_id == order.id))
        invoice_pdf = invoice.pdf if invoice else None
    try:
        letter = letters.render(
            order, merchant, CLI_KINDS[kind], level=level, invoice_pdf=invoice_pdf
        )
    except letters.LetterError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        db.session.rollback()  # rendering reads only; nothing of it is kept
    try:
        out.write_bytes(letter.pdf)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(
        f"{out}: {letter.pages} page(s), {letter.locale}, to {letter.recipient.splitlines()[0]}"
    )
