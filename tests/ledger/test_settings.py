"""The merchant's settings service (ledger/settings.py) and where its settings take effect:
all or nothing, audited with old → new (secrets only as "changed"); `mahnwerk merchant update`
through the same checks; the net days on new invoice orders, the reply-to address of mails, the
merchant's run hour, and the law of statutory interest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger import dunning, orders, rulesets, settings
from ledger.accounts import find_merchant
from ledger.db import db
from ledger.models import (
    AuditEntry,
    BankImport,
    BankTransaction,
    EntryKind,
    LedgerEntry,
    OutboxMessage,
)
from worker.jobs import deliver, dispatch_daily_runs

ACTOR = "user:owner@alpenkiste.example"


def _audits(merchant, action="settings.changed") -> list[dict]:
    query = select(AuditEntry).where(
        AuditEntry.merchant_id == merchant.id, AuditEntry.action == action
    )
    return [e.detail for e in db.session.scalars(query.order_by(AuditEntry.id))]


@pytest.fixture
def merchant(ctx, make_merchant):
    return find_merchant(make_merchant()["name"])


def test_a_save_is_all_or_nothing_and_audited_old_to_new(merchant):
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.update(
            merchant,
            {"company_name": "Alpenkiste Handels GmbH", "vat_id": "DE136695977"},
            ACTOR,
            "company",
        )
    assert set(refused.value.by_field) == {"vat_id"}
    assert "check digit" in str(refused.value)
    assert merchant.company_name is None and _audits(merchant) == []

    saved = settings.update(
        merchant,
        {"company_name": "Alpenkiste Handels GmbH", "vat_id": "de 136 695 976", "country": "AT"},
        ACTOR,
        "company",
    )
    db.session.commit()
    assert merchant.vat_id == "DE136695976" and merchant.country == "AT"
    assert saved.changes["company_name"] == ("—", "Alpenkiste Handels GmbH")
    [detail] = _audits(merchant)
    assert detail == {
        "section": "company",
        "company_name": "— → Alpenkiste Handels GmbH",
        "vat_id": "— → DE136695976",
        "country": "DE → AT",
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"vat_id": "CHE-109.067.762 MWST"}, "vat_id"),  # Swiss UID, wrong check digit
        ({"vat_id": "XX123456"}, "vat_id"),
        ({"accounting_email": ""}, "accounting_email"),
        ({"reply_to_email": "antwort@"}, "reply_to_email"),
        ({"timezone": "Europe/Berlinn"}, "timezone"),
        ({"run_hour": "24"}, "run_hour"),
        ({"run_hour": "-1"}, "run_hour"),
        ({"payment_days": "14", "discount_percent": "2", "discount_days": "14"}, "discount_days"),
        ({"payment_days": "14", "discount_percent": "2", "discount_days": ""}, "discount_days"),
        (
            {"payment_days": "14", "discount_percent": "100", "discount_days": "7"},
            "discount_percent",
        ),
        ({"payment_days": "", "discount_percent": "2", "discount_days": "7"}, "payment_days"),
        ({"payment_tolerance": "-1"}, "payment_tolerance"),
        ({"payment_tolerance": "1.000,50"}, "payment_tolerance"),
        ({"webhook_url": "http://shop.example/hook"}, "webhook_url"),
        ({"webhook_url": "ftp://shop.example/hook"}, "webhook_url"),
        ({"shop_url": "shop.example"}, "shop_url"),
        ({"interest_base": "FR"}, "interest_base"),
        ({"language": "es"}, "language"),
        ({"country": "XY"}, "country"),
    ],
)
def test_bad_values_are_refused_with_nothing_stored(merchant, raw, field):
    before = {name: getattr(merchant, name) for name in settings.PARSERS}
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.update(merchant, raw | {"team_email": "team@alpenkiste.example"}, ACTOR)
    assert field in refused.value.by_field
    db.session.rollback()
    assert {name: getattr(merchant, name) for name in settings.PARSERS} == before
    assert _audits(merchant) == []


def test_swiss_vat_ids_get_their_suffix_and_urls_their_checks(merchant):
    settings.update(merchant, {"vat_id": "CHE109067761", "language": "fr"}, ACTOR)
    assert merchant.vat_id == "CHE-109.067.761 TVA"
    settings.update(merchant, {"webhook_url": "http://127.0.0.1:8080/hook"}, ACTOR)
    settings.update(
        merchant, {"payment_tolerance": "2,5", "ignore_keywords": "Miete\n\nmiete\nGehalt"}, ACTOR
    )
    assert merchant.payment_tolerance == Decimal("2.50")
    assert merchant.ignore_keywords == ["Miete", "Gehalt"]


def test_secrets_are_audited_only_as_changed(merchant):
    secret = settings.new_webhook_secret(merchant, ACTOR)
    assert secret.startswith("whsec_") and merchant.webhook_secret == secret
    detail = _audits(merchant)[-1]
    assert detail == {"section": "webhook", "webhook_secret": "changed"}
    assert secret not in str(_audits(merchant)) and secret[6:] not in settings.masked(secret)


def test_a_logo_is_told_by_its_bytes(merchant):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    settings.set_logo(merchant, png, ACTOR)
    assert merchant.logo_type == "image/png"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for data in (svg, b"GIF89a....", b"\xff\xd8\xff" + b"\0" * (settings.LOGO_BYTES - 2)):
        with pytest.raises(settings.SettingsRefused):
            settings.set_logo(merchant, data, ACTOR)
    assert merchant.logo == png
    assert [d.get("logo") for d in _audits(merchant)] == ["changed"]


def test_merchant_update_on_the_command_line_goes_through_the_same_checks(app, merchant):
    runner = app.test_cli_runner()
    name = merchant.name
    refused = runner.invoke(
        args=["merchant", "update", "--merchant", name, "--company-name", "Neu GmbH",
              "--vat-id", "DE136695977"],
    )  # fmt: skip
    assert (
        refused.exit_code == 1
        and "vat_id" in refused.output
        and "nothing was changed" in (refused.output)
    )
    db.session.expire_all()
    assert find_merchant(name).company_name is None
    done = runner.invoke(
        args=["merchant", "update", "--merchant", name, "--company-name", "Neu GmbH",
              "--address", "Hauptstr. 1", "--address", "80331 München", "--reply-to",
              "antwort@alpenkiste.example", "--payment-days", "30", "--run-hour", "8",
              "--no-short-payment-write-off", "--attach-reminder-pdf", "--new-webhook-secret"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "company_name: — -> Neu GmbH" in done.output and "webhook secret (shown once)" in (
        done.output
    )
    db.session.expire_all()
    stored = find_merchant(name)
    assert stored.company_address == "Hauptstr. 1\n80331 München"
    assert stored.reply_to_email == "antwort@alpenkiste.example"
    assert (stored.payment_days, stored.run_hour, stored.short_payment_write_off) == (30, 8, False)
    assert stored.attach_reminder_pdf is True
    actors = {e.actor for e in db.session.scalars(select(AuditEntry))}
    assert "cli" in actors


def _invoice(merchant, number, method="invoice", due_on=None):
    body = {
        "number": number,
        "customer": {"name": "Kunde", "email": "k@example.de", "country": "DE",
                     "language": "de", "type": "b2c"},
        "amount": "100.00",
        "currency": "EUR",
        "payment_method": method,
        "ordered_on": "2026-10-01",
    }  # fmt: skip
    if due_on:
        body["due_on"] = due_on
    return orders.upsert_order(merchant, orders.parse_order(body), "test")[0]


def test_net_days_apply_to_new_invoice_orders_without_a_due_date(merchant):
    assert merchant.payment_days is None  # "as the shop sends it": due on the order day
    assert _invoice(merchant, "R-1").due_on == date(2026, 10, 1)
    saved = settings.update(merchant, {"payment_days": "14"}, ACTOR, "terms")
    assert saved.counts == {"waiting": 1}  # R-1 keeps its own terms
    assert _invoice(merchant, "R-2").due_on == date(2026, 10, 15)
    assert _invoice(merchant, "R-3", due_on="2026-10-05").due_on == date(2026, 10, 5)
    assert _invoice(merchant, "V-1", method="prepayment").due_on == date(2026, 10, 1)
    assert orders.find_order(merchant.id, "R-1").due_on == date(2026, 10, 1)


def test_bank_accounts_are_added_changed_and_kept_while_they_have_statements(merchant):
    _invoice(merchant, "R-1")  # waiting, in EUR
    account, waiting = settings.add_account(
        merchant, {"iban": "DE89 3704 0044 0532 0130 00", "holder": "Alpenkiste"}, ACTOR
    )
    assert (account.currency, waiting) == ("EUR", 1)
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.add_account(merchant, {"iban": "DE89370400440532013001"}, ACTOR)
    assert "check digits" in str(refused.value)
    with pytest.raises(settings.SettingsRefused) as refused:  # a QR-IBAN on a German account
        settings.update_account(
            merchant,
            account,
            {"holder": "A", "currency": "EUR", "qr_iban": "CH4431999123000889012"},
            ACTOR,
        )
    assert "qr_iban" in refused.value.by_field and account.qr_iban is None
    swiss, waiting_chf = settings.add_account(
        merchant, {"iban": "CH9300762011623852957", "qr_iban": "CH4431999123000889012"}, ACTOR
    )
    assert (swiss.currency, swiss.qr_iban, waiting_chf) == ("CHF", "CH4431999123000889012", 0)
    with pytest.raises(settings.SettingsRefused):  # an ordinary Swiss IBAN is no QR-IBAN
        settings.update_account(
            merchant,
            swiss,
            {"holder": "A", "currency": "CHF", "qr_iban": "CH9300762011623852957"},
            ACTOR,
        )
    changes, _count = settings.update_account(
        merchant,
        account,
        {"holder": "Alpenkiste GmbH", "currency": "EUR", "bic": "COBADEFFXXX"},
        ACTOR,
    )
    assert changes["holder"] == ("Alpenkiste", "Alpenkiste GmbH")
    imported = BankImport(merchant_id=merchant.id, filename="a.xml", format="camt.053",
                          sha256="0" * 64, way="upload", actor=ACTOR)  # fmt: skip
    db.session.add(imported)
    db.session.flush()
    db.session.add(
        BankTransaction(merchant_id=merchant.id, account_id=account.id, import_id=imported.id,
                        fingerprint="f" * 64, booking_date=date(2026, 10, 2),
                        amount=Decimal("10.00"), currency="EUR", credit=True)
    )  # fmt: skip
    with pytest.raises(settings.SettingsRefused) as refused:
        settings.remove_account(merchant, account, ACTOR)
    assert "imported bank transactions" in str(refused.value)
    assert settings.own_account(merchant, account.id) is not None
    settings.remove_account(merchant, swiss, ACTOR)
    assert settings.own_account(merchant, swiss.id) is None
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("bank_account.added") == 2
    assert "bank_account.changed" in actions and "bank_account.removed" in actions


def test_mails_name_the_reply_to_address_first(card_merchant, add_order, mail_sink):
    settings.update(card_merchant, {"reply_to_email": "antwort@alpenkiste.example",
                                    "sender_email": "shop@alpenkiste.example"}, ACTOR)  # fmt: skip
    order = add_order(card_merchant, "P-1")
    dunning.execute(card_merchant, date(2026, 10, 15))
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.order_id == order.id))
    assert deliver(message.id) == "sent"
    [mail] = mail_sink.messages()
    assert mail["Reply-To"] == "antwort@alpenkiste.example"


def test_the_daily_run_starts_at_the_merchants_own_hour(app, card_merchant):
    seven_berlin = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
    settings.update(card_merchant, {"run_hour": "9"}, ACTOR)
    db.session.commit()
    assert app.config["DAILY_RUN_HOUR"] == 6
    assert dispatch_daily_runs(seven_berlin) == []  # 7 < 9: not yet
    assert len(dispatch_daily_runs(seven_berlin + timedelta(hours=2))) == 1
    settings.update(card_merchant, {"run_hour": ""}, ACTOR)  # back to the installation's 6
    assert card_merchant.run_hour is None


RULES = "rechnung:\n    after 14 days: remind\n    after 45 days: charge interest statutory\n"


@pytest.mark.parametrize(("base", "expected"), [("law", "6.16"), ("DE", "7.73")])
def test_interest_follows_the_law_the_merchant_chose(app, merchant, base, expected):
    """A Swiss consumer, 1 July to 14 August 2025 (45 days), 1000.00: by the law of the claim
    Art. 104 OR, 5 % (6.16); with the German table always, § 288 (1) BGB, 1.27 + 5 = 6.27 %
    (1000 * 0.0627 * 45/365 = 7.7301 -> 7.73)."""
    app.config["MAHNWERK_TODAY"] = "2025-08-15"
    settings.update(merchant, {"interest_base": base}, ACTOR)
    rulesets.save_and_activate(merchant, RULES, "test")
    body = {
        "number": "CH-1",
        "customer": {"name": "Kundin", "email": "k@example.ch", "country": "CH",
                     "language": "de", "type": "b2c"},
        "amount": "1000.00", "currency": "CHF", "payment_method": "invoice",
        "ordered_on": "2025-07-01",
    }  # fmt: skip
    order = orders.upsert_order(merchant, orders.parse_order(body), "test")[0]
    db.session.commit()
    dunning.execute(merchant, date(2025, 7, 15))
    dunning.execute(merchant, date(2025, 8, 15))
    charged = db.session.scalars(
        select(LedgerEntry.amount).where(
            LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.INTEREST
        )
    ).all()
    assert charged == [Decimal(expected)]
