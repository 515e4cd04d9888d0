"""`mahnwerk bank …`: a merchant's bank accounts, and statement files imported by hand."""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from flask.cli import with_appcontext

from ledger.accounts import find_merchant
from ledger.bank import accounts, importing
from ledger.clock import today_for
from ledger.db import db


def _merchant(name: str):
    merchant = find_merchant(name)
    if merchant is None:
        raise click.ClickException(f"no merchant named {name!r}")
    return merchant


@click.group("bank")
def bank_group() -> None:
    """Bank accounts and statements."""


@bank_group.group("account")
def account_group() -> None:
    """A merchant's bank accounts."""


@account_group.command("add")
@click.option("--merchant", "merchant_name", required=True)
@click.option("--iban", required=True)
@click.option("--bic")
@click.option("--currency", type=click.Choice(accounts.CURRENCIES, case_sensitive=False))
@click.option("--qr-iban", help="A Swiss QR-IBAN, for QR-bills with a QR reference.")
@click.option("--holder", help="Defaults to the merchant's account holder or name.")
@click.option("--bank-name")
@with_appcontext
def account_add(merchant_name, iban, bic, currency, qr_iban, holder, bank_name) -> None:
    """Add a bank account (IBAN and QR-IBAN validated)."""
    merchant = _merchant(merchant_name)
    try:
        account = accounts.add_account(
            merchant,
            iban,
            bic=bic,
            currency=currency,
            qr_iban=qr_iban,
            holder=holder,
            bank_name=bank_name,
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"account {account.iban} ({account.currency}) added for {merchant.name}")


@account_group.command("list")
@click.option("--merchant", "merchant_name", required=True)
@with_appcontext
def account_list(merchant_name) -> None:
    """The merchant's accounts with their bank data date."""
    merchant = _merchant(merchant_name)
    for account in accounts.accounts_of(merchant.id):
        as_of = account.data_as_of.isoformat() if account.data_as_of else "never imported"
        qr = f" QR-IBAN {account.qr_iban}" if account.qr_iban else ""
        click.echo(
            f"{account.iban} {account.currency} {account.holder} BIC {account.bic or '-'}{qr}; "
            f"bank data: {as_of}"
        )


@bank_group.command("settings")
@click.option("--merchant", "merchant_name", required=True)
@click.option("--tolerance", help="How short a payment may be and still settle (bank fees).")
@click.option(
    "--short-payments",
    type=click.Choice(["write-off", "keep-open"]),
    help="What happens to the difference of a payment short within the tolerance.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    help="A word (or `re:` and a regular expression) marking transfers to skip; repeatable. "
    "Replaces the list; --ignore '' empties it.",
)
@with_appcontext
def settings_command(merchant_name, tolerance, short_payments, ignore) -> None:
    """Show or change how payments are matched."""
    merchant = _merchant(merchant_name)
    if tolerance is not None:
        try:
            value = Decimal(tolerance)
        except InvalidOperation:
            raise click.ClickException(f"not an amount: {tolerance!r}") from None
        if not (0 <= value <= 100) or value != value.quantize(Decimal("0.01")):
            raise click.ClickException("the tolerance is an amount from 0.00 to 100.00")
        merchant.payment_tolerance = value
    if short_payments:
        merchant.short_payment_write_off = short_payments == "write-off"
    if ignore:
        keywords = [k.strip() for k in ignore if k.strip()]
        for keyword in keywords:
            if keyword.startswith("re:"):
                try:
                    re.compile(keyword[3:])
                except re.error as exc:
                    message = f"{keyword!r}: not a regular expression: {exc}"
                    raise click.ClickException(message) from None
            if len(keyword) > 200:
                raise click.ClickException("a keyword has at most 200 characters")
        merchant.ignore_keywords = keywords
    db.session.commit()
    mode = "written off" if merchant.short_payment_write_off else "kept open"
    click.echo(
        f"{merchant.name}: tolerance {merchant.payment_tolerance}, shortfalls within it are "
        f"{mode}; ignore: {', '.join(merchant.ignore_keywords or []) or 'nothing'}"
    )


@bank_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--merchant", "merchant_name", required=True)
@with_appcontext
def import_command(files: tuple[Path, ...], merchant_name: str) -> None:
    """Import statement files (camt.052/053/054, MT940): a line per file. A refused file stores
    nothing, its reason goes to stderr, and the command exits with 1 after the other files."""
    merchant = _merchant(merchant_name)
    refused = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            click.echo(f"{path}: refused: cannot read it: {exc.strerror}", err=True)
            refused += 1
            continue
        try:
            summary = importing.import_file(
                merchant, data, path.name, "cli", "cli", today_for(merchant)
            )
        except importing.ImportRefused as exc:
            db.session.rollback()
            click.echo(f"{path}: refused: {exc}", err=True)
            refused += 1
            continue
        click.echo(summary.line().replace(path.name, str(path), 1))
    if refused:
        sys.exit(1)
