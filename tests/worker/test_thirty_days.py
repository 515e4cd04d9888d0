"""Thirty simulated days through the real worker (a `mahnwerk worker` process, forking per job),
on real Redis, delivering to a real SMTP server and a real webhook endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
DAY0 = date(2026, 10, 1)
RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"

# number → (payment method, ordered on day, paid on day or None, language)
ORDERS = {
    "P-NEVER": ("prepayment", 0, None, "de"),
    "P-EARLY": ("prepayment", 0, 10, "de"),  # paid before the reminder: never touched
    "P-BETWEEN": ("prepayment", 0, 17, "en"),  # reminded, then paid: never cancelled
    "P-LATER": ("prepayment", 3, None, "de"),  # three days behind P-NEVER
    "P-FR": ("prepayment", 0, None, "fr"),
    "P-SAMEDAY": ("prepayment", 0, 14, "it"),  # paid on the reminder's day, before the run
    "I-UNPAID": ("invoice", 0, None, "de"),  # a prepayment-only rule never touches these
    "C-UNPAID": ("cod", 0, None, "de"),
}


class _Webhooks(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["X-Mahnwerk-Event"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_url():
    _Webhooks.received = []
    server = HTTPServer(("127.0.0.1", 0), _Webhooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()


@pytest.fixture
def worker_process(app, mail_sink, tmp_path):
    env = dict(os.environ)
    env.update(
        MAHNWERK_INSTANCE=str(tmp_path / "instance"),
        DATABASE_URL=os.environ.get("DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        MAHNWERK_QUEUE=app.config["RQ_QUEUE"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mail_sink.port),
    )
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", "import app; app.main()", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(timeout=20)
    log.close()


def _setup(app, make_merchant, webhook_url):
    from ledger import orders, rulesets
    from ledger.accounts import find_merchant
    from ledger.db import db

    info = make_merchant("Alpenkiste GmbH", accounting_email="buchhaltung@alpenkiste.example")
    with app.app_context():
        merchant = find_merchant(info["name"])
        merchant.webhook_url = webhook_url
        merchant.webhook_secret = "s3cret"
        rulesets.save_and_activate(merchant, RULES, "test")
        for number, (method, day, _paid, language) in ORDERS.items():
            body = {
                "number": number,
                "customer": {
                    "name": f"Kunde {number}",
                    "email": f"{number.lower()}@example.de",
                    "country": "DE",
                    "language": language,
                    "type": "b2c",
                },
                "amount": "100.00",
                "currency": "EUR",
                "payment_method": method,
                "ordered_on": (DAY0 + timedelta(days=day)).isoformat(),
            }
            orders.upsert_order(merchant, orders.parse_order(body), "api")
        db.session.commit()
        return merchant.id


def _pay_due(app, merchant_id: int, day: int) -> None:
    from ledger import orders
    from ledger.db import db

    with app.app_context():
        for number, (_method, _ordered, paid, _lang) in ORDERS.items():
            if paid == day:
                order = orders.find_order(merchant_id, number)
                payment = {"amount": "100.00", "paid_on": (DAY0 + timedelta(days=day)).isoformat()}
                orders.record_payment(order, orders.parse_payment(payment), "api")
        db.session.commit()


def _run_day(app, merchant_id: int, today: date, worker) -> int:
    """Queue the day's run for the worker process and wait until it and its mail are done."""
    from ledger import dunning
    from ledger.db import db
    from ledger.models import DunningRun, Merchant, OutboxMessage

    with app.app_context():
        run = dunning.start_run(db.session.get(Merchant, merchant_id), today, "cli")
        db.session.commit()
        run_id = run.id
        app.extensions["job_queue"].enqueue("worker.jobs.run_dunning", run_id)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker process died"
            db.session.expire_all()
            state = db.session.get(DunningRun, run_id).state
            unsent = db.session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.run_id == run_id,
                    OutboxMessage.state.in_(("pending", "sending")),
                )
            )
            if state in ("done", "failed") and unsent == 0:
                assert state == "done", db.session.get(DunningRun, run_id).error
                return run_id
            time.sleep(0.05)
    raise AssertionError(f"run for {today} did not finish")


@pytest.mark.slow
def test_thirty_days_of_prepayment_dunning(
    app, make_merchant, mail_sink, webhook_url, worker_process
):
    from ledger.db import db
    from ledger.models import Order

    merchant_id = _setup(app, make_merchant, webhook_url)
    mail_by_day: dict[int, list] = {}
    seen = 0
    for day in range(31):
        today = DAY0 + timedelta(days=day)
        _pay_due(app, merchant_id, day)
        _run_day(app, merchant_id, today, worker_process)
        messages = mail_sink.messages()
        mail_by_day[day] = messages[seen:]
        seen = len(messages)

    sent = {day: sorted(m["To"] for m in msgs) for day, msgs in mail_by_day.items() if msgs}
    # Reminders on day 14 to the three unpaid prepayment orders of day 0 (P-SAMEDAY paid that
    # morning), on day 17 to P-LATER; cancellation digests on day 21 and day 24.
    assert sent == {
        14: ["p-between@example.de", "p-fr@example.de", "p-never@example.de"],
        17: ["p-later@example.de"],
        21: ["buchhaltung@alpenkiste.example"],
        24: ["buchhaltung@alpenkiste.example"],
    }
    digest = mail_by_day[21][0]
    digest_text = digest.get_content()
    assert "P-NEVER" in digest_text and "P-FR" in digest_text
    assert "P-BETWEEN" not in digest_text and "P-LATER" not in digest_text
    assert "21 Tage unbezahlt" in digest_text
    assert "P-LATER" in mail_by_day[24][0].get_content()

    french = next(m for m in mail_by_day[14] if m["To"] == "p-fr@example.de")
    assert "Rappel de paiement" in french["Subject"]
    german = next(m for m in mail_by_day[14] if m["To"] == "p-never@example.de")
    assert "Zahlungserinnerung" in german["Subject"]
    german_text = german.get_body(("plain",)).get_content()
    assert "IBAN: DE02 1203 0000 0000 2020 51" in german_text
    assert "100,00 €" in german_text

    with app.app_context():
        status = {o.number: o.status for o in db.session.scalars(select(Order))}
    assert status == {
        "P-NEVER": "cancelled",
        "P-EARLY": "paid",
        "P-BETWEEN": "paid",
        "P-LATER": "cancelled",
        "P-FR": "cancelled",
        "P-SAMEDAY": "paid",
        "I-UNPAID": "unpaid",
        "C-UNPAID": "unpaid",
    }
    cancelled = sorted(body["order"]["number"] for kind, body in _Webhooks.received)
    assert cancelled == ["P-FR", "P-LATER", "P-NEVER"]
    assert {kind for kind, _ in _Webhooks.received} == {"order.cancelled"}

    # The same day again: nothing new is decided or sent.
    before = len(mail_sink.messages())
    _run_day(app, merchant_id, DAY0 + timedelta(days=21), worker_process)
    assert len(mail_sink.messages()) == before
    assert len(_Webhooks.received) == 3


@pytest.mark.slow
def test_the_cli_run_returns_after_delivery(app, make_merchant, mail_sink, webhook_url):
    """`mahnwerk dunning run` works the queue itself and prints the summary."""
    merchant_id = _setup(app, make_merchant, webhook_url)
    _pay_due(app, merchant_id, 10)
    runner = app.test_cli_runner()
    day = (DAY0 + timedelta(days=14)).isoformat()
    result = runner.invoke(args=["dunning", "run", "--date", day, "--merchant", "Alpenkiste GmbH"])
    assert result.exit_code == 0, result.output
    assert "4 orders examined" in result.output  # only the due orders are read
    assert "steps: remind 4" in result.output
    assert "messages sent: 4" in result.output
    assert len(mail_sink.messages()) == 4

    again = runner.invoke(args=["dunning", "run", "--date", day, "--merchant", "Alpenkiste GmbH"])
    assert "steps: none" in again.output and "messages sent: 0" in again.output
    assert len(mail_sink.messages()) == 4

    dry = runner.invoke(
        args=["dunning", "run", "--date", (DAY0 + timedelta(days=21)).isoformat(), "--dry-run"]
    )
    assert "cancel 4" in dry.output and "dry run" in dry.output
    assert len(mail_sink.messages()) == 4
    with app.app_context():
        from ledger.db import db
        from ledger.models import Order

        assert db.session.scalar(select(func.count()).where(Order.status == "cancelled")) == 0
