"""`mahnwerk rules check|fmt|explain|activate` through the app's real CLI."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import rulesets
from ledger.db import db

CARD_RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
DAY0 = date(2026, 10, 1)  # the add_order fixture's order day


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def write(tmp_path, text: str, name: str = "rules.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_reports_file_line_column_and_exits_1(runner, tmp_path):
    path = write(tmp_path, "vorkasse after 14 days: remnd\n")
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(f"{path}:1:25: error: ")
    assert '"remind"' in first


def test_check_clean_file_exits_0_and_warnings_do_not_fail(runner, tmp_path):
    clean = write(tmp_path, CARD_RULES)
    assert runner.invoke(args=["rules", "check", str(clean)]).exit_code == 0
    shadowed = write(tmp_path, "any after 7 days: remind\nvorkasse after 9 days: remind\n", "w")
    result = runner.invoke(args=["rules", "check", str(shadowed)])
    assert result.exit_code == 0
    assert f"{shadowed}:2:1: warning:" in result.output


def test_fmt_prints_canonical_form_and_write_rewrites_the_file(runner, tmp_path):
    messy = "VORKASSE   After 14 Days: Remind ;after 21 days: cancel AND notify accounting\n"
    path = write(tmp_path, messy)
    printed = runner.invoke(args=["rules", "fmt", str(path)])
    assert printed.exit_code == 0
    assert printed.output == CARD_RULES
    assert path.read_text() == messy  # printing leaves the file alone

    assert runner.invoke(args=["rules", "fmt", "--write", str(path)]).exit_code == 0
    assert path.read_text() == CARD_RULES


def test_fmt_refuses_a_file_that_does_not_parse_and_leaves_it(runner, tmp_path):
    path = write(tmp_path, "vorkasse after 14 days: remnd\n")
    result = runner.invoke(args=["rules", "fmt", "--write", str(path)])
    assert result.exit_code == 1
    assert ":1:25: error:" in result.output
    assert path.read_text() == "vorkasse after 14 days: remnd\n"


def test_explain_names_the_block_the_steps_and_what_fires(
    runner, tmp_path, card_merchant, add_order
):
    add_order(card_merchant, "A-1")
    db.session.commit()
    path = write(
        tmp_path,
        "rechnung after 7 days: mark overdue\n"
        "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n",
    )
    day = date(2026, 10, 15).isoformat()  # DAY0 + 14
    result = runner.invoke(args=["rules", "explain", str(path), "--order", "A-1", "--date", day])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "line 1: invoice: no - payment method is prepayment, not invoice" in out
    assert "line 2: prepayment: matched" in out
    assert "prepayment/after 14 days on 2026-10-15: FIRES TODAY" in out
    assert "prepayment/after 21 days on 2026-10-22: due on 2026-10-22 (in 7 days)" in out


def test_explain_unknown_order_is_a_clear_error(runner, tmp_path, card_merchant):
    path = write(tmp_path, CARD_RULES)
    args = ["rules", "explain", str(path), "--order", "NOPE", "--date", DAY0.isoformat()]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "no order numbered 'NOPE'" in result.output


def test_activate_refuses_errors_and_keeps_the_active_rules(runner, tmp_path, card_merchant):
    before = rulesets.active_version(card_merchant.id)
    path = write(tmp_path, "rechnung after 14 days: cancel\n")
    result = runner.invoke(args=["rules", "activate", str(path), "--merchant", card_merchant.name])
    assert result.exit_code == 1
    assert "active rules are unchanged" in result.output
    db.session.expire_all()
    assert rulesets.active_version(card_merchant.id).id == before.id


def test_check_refuses_statutory_interest_past_the_base_rate_table(app, runner, tmp_path):
    from rules.base_rates import known_until

    text = "rechnung after 14 days: remind; after 28 days: remind and charge interest statutory\n"
    path = write(tmp_path, text)
    app.config["MAHNWERK_TODAY"] = "2025-12-01"
    assert runner.invoke(args=["rules", "check", str(path)]).exit_code == 0
    app.config["MAHNWERK_TODAY"] = date.fromordinal(known_until("DE").toordinal() + 1).isoformat()
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "needs today's base rate, but it is known only up to" in result.output
