"""Administrative commands: merchants, users, tokens, rules, demo data."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

import rules
from ledger import accounts, rulesets
from ledger.db import db
from ledger.permissions import ROLES


def _merchant(name: str):
    merchant = accounts.find_merchant(name)
    if merchant is None:
        raise click.ClickException(f"no merchant named {name!r}")
    return merchant


@click.group("merchant")
def merchant_group() -> None:
    """Merchants."""


@merchant_group.command("create")
@click.argument("name")
@click.option("--accounting-email", required=True)
@click.option("--timezone", default="Europe/Berlin", show_default=True)
@click.option("--iban")
@click.option("--webhook-url")
@with_appcontext
def merchant_create(name, accounting_email, timezone, iban, webhook_url) -> None:
    try:
        merchant = accounts.create_merchant(
            name, accounting_email, timezone=timezone, iban=iban, webhook_url=webhook_url
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"merchant {merchant.name!r} created (id {merchant.id})")


# `merchant update`'s options: option name → the setting (ledger.settings.PARSERS); every
# one optional, only those given change.
UPDATE_OPTIONS = {
    "company-name": "company_name",
    "country": "country",
    "register-number": "register_number",
    "vat-id": "vat_id",
    "managing-directors": "managing_directors",
    "language": "language",
    "sender-email": "sender_email",
    "reply-to": "reply_to_email",
    "accounting-email": "accounting_email",
    "team-email": "team_email",
    "payment-days": "payment_days",
    "discount-percent": "discount_percent",
    "discount-days": "discount_days",
    "collection-partner": "collection_partner",
    "payment-tolerance": "payment_tolerance",
    "webhook-url": "webhook_url",
    "shop-url": "shop_url",
    "timezone": "timezone",
    "run-hour": "run_hour",
    "interest-base": "interest_base",
}


def _update_options(command):
    for option, setting in reversed(UPDATE_OPTIONS.items()):
        command = click.option(f"--{option}", setting, help="'' clears it.")(command)
    return command


@merchant_group.command("update")
@click.option("--merchant", "merchant_name", required=True)
@_update_options
@click.option("--address", "address", multiple=True, help="One line of the address; repeat it.")
@click.option("--ignore-keyword", "keywords", multiple=True, help="Repeat it; replaces the list.")
@click.option("--short-payment-write-off/--no-short-payment-write-off", default=None)
@click.option(
    "--attach-reminder-pdf/--no-attach-reminder-pdf",
    default=None,
    help="Reminder mails carry the reminder letter's PDF.",
)
@click.option(
    "--payment-received-mail/--no-payment-received-mail",
    default=None,
    help="The customer gets a 'payment received' email when a payment settles the order.",
)
@click.option(
    "--cancellation-notice",
    type=click.Choice(["none", "email", "letter"]),
    default=None,
    help="How the Cancel form tells the customer by default.",
)
@click.option("--new-webhook-secret", is_flag=True, help="Generate one and print it (once).")
@with_appcontext
def merchant_update(merchant_name, address, keywords, short_payment_write_off,
                    attach_reminder_pdf, payment_received_mail, cancellation_notice,
                    new_webhook_secret, **options) -> None:  # fmt: skip
    """Change a merchant's settings, checked as the settings page checks them: all or none."""
    from ledger import settings

    merchant = _merchant(merchant_name)
    raw = {setting: value for setting, value in options.items() if value is not None}
    if address:
        raw["company_address"] = "\n".join(address)
    if keywords:
        raw["ignore_keywords"] = "\n".join(keywords)
    if cancellation_notice is not None:
        raw["cancellation_notice"] = cancellation_notice
    for flag, value in (
        ("short_payment_write_off", short_payment_write_off),
        ("attach_reminder_pdf", attach_reminder_pdf),
        ("payment_received_mail", payment_received_mail),
    ):
        if value is not None:
            raw[flag] = "yes" if value else "no"
    try:
        saved = settings.update(merchant, raw, "cli")
    except settings.SettingsRefused as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"{problem.field}: {problem}", err=True)
        raise click.ClickException("nothing was changed") from exc
    secret = settings.new_webhook_secret(merchant, "cli") if new_webhook_secret else None
    db.session.commit()
    for name, (old, new) in saved.changes.items():
        click.echo(f"{name}: {old} -> {new}")
    if "waiting" in saved.counts:
        click.echo(
            f"the new terms apply to new orders; {saved.counts['waiting']} open orders keep theirs"
        )
    if secret:
        click.echo(f"webhook secret (shown once): {secret}")
    if not saved.changes and not secret:
        click.echo("nothing to change")


@click.group("user")
def user_group() -> None:
    """Portal users."""


@user_group.command("create")
@click.argument("email")
@click.option("--merchant", "merchant_name", required=True)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="owner",
    show_default=True,
    help="owner: everything; accountant: money and bank, no rules activation or users; "
    "clerk: reminders, blocks, claims, no money; viewer: read only.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create(email, merchant_name, role, password_stdin) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(email, _merchant(merchant_name), password, role)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"user {user.email} created for {merchant_name!r}")


@click.group("token")
def token_group() -> None:
    """API tokens for the shop."""


@token_group.command("create")
@click.option("--merchant", "merchant_name", required=True)
@click.option("--label")
@with_appcontext
def token_create(merchant_name, label) -> None:
    """Print a new bearer token. It is shown once; only its hash is stored."""
    token = accounts.create_token(_merchant(merchant_name), label)
    db.session.commit()
    click.echo(token)


@click.group("rules")
def rules_group() -> None:
    """The dunning rules language."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


def _report(diagnostics, text: str, path: str) -> bool:
    """Print findings as FILE:LINE:COL: severity: message with the line and a caret."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.render(text, path), err=True)
    return any(d.severity == "error" for d in diagnostics)


@rules_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def rules_check(path) -> None:
    """Check a rules file; exit 1 when it has errors. Without a merchant, webhook names are not
    checked; statutory interest is checked against today's base rate."""
    from ledger.clock import today_for

    text = _read(path)
    context = rules.CheckContext(webhook_names=None, today=today_for())
    if _report(rules.check_text(text, context), text, path):
        sys.exit(1)


@rules_group.command("activate")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--merchant", "merchant_name", required=True)
@click.option("--comment")
@with_appcontext
def rules_activate(path, merchant_name, comment) -> None:
    """Make a rules file the merchant's active rules; refused (and nothing changed) on errors."""
    text = _read(path)
    merchant = _merchant(merchant_name)
    try:
        version = rulesets.save_and_activate(merchant, text, "cli", comment)
    except rules.RulesError as exc:
        db.session.rollback()
        _report(exc.diagnostics, text, path)
        raise click.ClickException("rules refused; the active rules are unchanged") from exc
    db.session.commit()
    click.echo(f"version {version.number} is active for {merchant.name!r}")


@rules_group.command("fmt")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--write", is_flag=True, help="Rewrite the file in place instead of printing.")
def rules_fmt(path, write) -> None:
    """Print a rules file in canonical form (or rewrite it with --write)."""
    text = _read(path)
    try:
        formatted = rules.format_rules(text)
    except rules.RulesError as exc:
        _report(exc.diagnostics, text, path)
        sys.exit(1)
    if not write:
        click.echo(formatted, nl=False)
    elif formatted != text:
        Path(path).write_text(formatted, encoding="utf-8")
        click.echo(f"{path}: formatted", err=True)


@rules_group.command("explain")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--order", "number", required=True, help="The order's number.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--merchant", "merchant_name", help="Needed when several merchants have the number.")
@with_appcontext
def rules_explain(path, number, day, merchant_name) -> None:
    """Explain what a rules file does to one stored order on a date: which block matches and
    why the others do not, each step with its date, and whether it fires that day."""
    from ledger import scheduling
    from ledger.models import Order

    text = _read(path)
    query = db.select(Order).where(Order.number == number)
    if merchant_name:
        query = query.where(Order.merchant_id == _merchant(merchant_name).id)
    found = db.session.scalars(query.limit(2)).all()
    if not found:
        raise click.ClickException(f"no order numbered {number!r}")
    if len(found) > 1:
        raise click.ClickException(f"several merchants have order {number!r}: give --merchant")
    order = found[0]
    try:
        program = rules.compile_rules(text, rulesets.check_context(order.merchant))
    except rules.RulesError as exc:
        _report(exc.diagnostics, text, path)
        sys.exit(1)
    facts = scheduling.order_facts(order)
    explanation = program.explain(facts, scheduling.order_history(order), day.date())
    click.echo(
        f"order {order.number} ({order.payment_method}, {order.amount} {order.currency}, "
        f"{order.country}, due {order.due_on}, {order.status}) on {day.date()}:"
    )
    click.echo(explanation.text())


@click.group("ledger")
def ledger_group() -> None:
    """The orders' money ledgers."""


@ledger_group.command("verify")
@click.option("--merchant", "merchant_name", help="Only this merchant's orders.")
@with_appcontext
def ledger_verify(merchant_name) -> None:
    """Recompute every order's sums from its ledger entries and report any that differ from
    the cached ones; exit 1 when there is a difference."""
    from ledger import entries

    merchant_id = _merchant(merchant_name).id if merchant_name else None
    differences = entries.verify(merchant_id)
    for d in differences:
        click.echo(
            f"order {d.number} (id {d.order_id}): {d.field} is {d.cached}, "
            f"the entries say {d.from_entries}"
        )
    if differences:
        click.echo(f"{len(differences)} difference(s)", err=True)
        sys.exit(1)
    click.echo("the books agree: every order's sums equal its ledger entries")


@click.group("refunds")
def refunds_group() -> None:
    """Refunds paid out by SEPA credit transfer files."""


@refunds_group.command("export")
@click.option("--merchant", "merchant_name", required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--version", "version", default="09", show_default=True, help="09 or 03 (pain.001.001.xx)"
)
@with_appcontext
def refunds_export(merchant_name, out, version) -> None:
    """Write the merchant's open refunds as one SEPA credit transfer file (the Refunds page's
    Export for scripts); they are exported then. Exit 1, writing nothing, when refused."""
    from ledger import refunds

    merchant = _merchant(merchant_name)
    try:
        record = refunds.export(merchant, None, "cli", version)
        Path(out).write_bytes(record.xml)
        db.session.commit()
    except refunds.RefundRefused as exc:
        db.session.rollback()
        click.echo(f"nothing exported: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"{out}: {record.count} refund(s), {record.total} from {record.account_iban} "
        f"({record.pain_version})"
    )


def register_commands(app) -> None:
    from ledger.bank.cli import bank_group
    from ledger.documents.cli import letter_group
    from ledger.documents.print_run_cli import print_run

    letter_group.add_command(print_run)

    for command in (merchant_group, user_group, token_group, rules_group, ledger_group, bank_group):
        app.cli.add_command(command)
    app.cli.add_command(refunds_group)
    app.cli.add_command(letter_group)
