"""`mahnwerk letter print-run`: start a print run of the merchant's waiting letters (as the
Print runs page's button does) and write its PDF and manifest, for a script or a cron job."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ledger import accounts
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import print_runs

FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.command("print-run")
@click.option("--merchant", "merchant_name", required=True, help="The merchant's name.")
@click.option("--out", type=FILE, help="Write the merged PDF here.")
@click.option("--manifest", type=FILE, help="Write the CSV manifest here.")
@with_appcontext
def print_run(merchant_name, out, manifest) -> None:
    """Take every waiting letter of the merchant into a new print run."""
    merchant = accounts.find_merchant(merchant_name)
    if merchant is None:
        raise click.ClickException(f"no merchant named {merchant_name!r}")
    run = print_runs.start_print_run(merchant, today_for(merchant), "cli")
    db.session.commit()
    if run is None:
        click.echo("nothing to print: no letter is waiting")
        return
    chosen = print_runs.letters_of(run)
    try:
        if out:
            out.write_bytes(print_runs.merged_pdf(run) or b"")
        if manifest:
            manifest.write_text(print_runs.manifest_csv(run), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write: {exc}") from exc
    pages = sum(letter.pages for letter in chosen)
    click.echo(f"print run {run.id} ({run.day.isoformat()}): {len(chosen)} letters, {pages} pages")
