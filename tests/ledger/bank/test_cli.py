"""`mahnwerk bank …` through the real CLI (click's runner on the app)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from bench.camt_file import Booking, camt053
from ledger.db import db
from ledger.models import BankImport, BankTransaction, Merchant

MERCHANT = "Alpenkiste GmbH"


def _bank(app, *args):
    return app.test_cli_runner().invoke(args=["bank", *args])


def test_accounts_are_added_checked_and_listed(app, make_merchant):
    make_merchant()
    added = _bank(
        app, "account", "add", "--merchant", MERCHANT, "--iban", "CH93 0076 2011 6238 5295 7"
    )
    assert added.exit_code == 0 and "CH9300762011623852957 (CHF)" in added.stdout
    wrong = _bank(app, "account", "add", "--merchant", MERCHANT, "--iban", "DE02120300000000202052")
    assert wrong.exit_code == 1 and "is not valid" in wrong.stderr
    listed = _bank(app, "account", "list", "--merchant", MERCHANT).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [
        "DE02120300000000202051",
        "CH9300762011623852957",
    ]
    assert "never imported" in listed[0]


def test_import_prints_a_line_per_file_and_refuses_bad_ones(app, make_merchant, tmp_path):
    make_merchant()
    good = tmp_path / "auszug.xml"
    good.write_bytes(
        camt053("DE02120300000000202051", [Booking(Decimal("5.00"), date(2026, 10, 1))])
    )
    bad = tmp_path / "kaputt.xml"
    bad.write_bytes(b"<Document>")
    result = _bank(app, "import", str(good), str(bad), "--merchant", MERCHANT)
    assert result.exit_code == 1
    assert result.stdout == (
        f"{good}: 1 transactions, 1 new, 0 known, 0 matched, 0 suggested, 1 unmatched\n"
    )
    assert result.stderr.startswith(f"{bad}: refused: kaputt.xml:") and "line 1" in result.stderr
    with app.app_context():
        assert db.session.scalar(select(func.count(BankImport.id))) == 1
        assert db.session.scalar(select(func.count(BankTransaction.id))) == 1
    again = _bank(app, "import", str(good), "--merchant", MERCHANT)
    assert again.exit_code == 0 and "0 new, 1 known" in again.output


def test_settings(app, make_merchant):
    make_merchant()
    options = ["--tolerance", "2.50", "--short-payments", "keep-open"]
    options += ["--ignore", "SOFORT", "--ignore", "re:^PAYPAL"]
    changed = _bank(app, "settings", "--merchant", MERCHANT, *options)
    assert changed.exit_code == 0, changed.stderr
    assert "tolerance 2.50" in changed.output and "kept open" in changed.output
    with app.app_context():
        merchant = db.session.scalar(select(Merchant))
        assert merchant.ignore_keywords == ["SOFORT", "re:^PAYPAL"]
        assert merchant.payment_tolerance == Decimal("2.50")
    assert _bank(app, "settings", "--merchant", MERCHANT, "--ignore", "re:(").exit_code == 1
    assert _bank(app, "settings", "--merchant", MERCHANT, "--tolerance", "x").exit_code == 1
