"""The watched bank inbox through the worker: orders in, a statement dropped into the merchant's
folder, the scheduler's dispatch imports and matches it before the daily run, and the run
reminds only the orders still unpaid, at the real SMTP sink."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from bench.camt_file import Booking, camt053
from ledger.db import db
from ledger.models import BankTransaction, Order
from tests.conftest import DAY0
from worker import bank_inbox
from worker.jobs import dispatch_daily_runs
from worker.runner import InlineWorker, make_worker

RUN_DAY = DAY0 + timedelta(days=14)


def _drop(folder, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    past = time.time() - 60  # written a minute ago: settled
    os.utime(path, (past, past))


def test_a_statement_in_the_inbox_pays_orders_before_the_daily_run(
    app, card_merchant, add_order, mail_sink, tmp_path
):
    app.config["BANK_INBOX_DIR"] = str(tmp_path / "inbox")
    app.config["MAHNWERK_TODAY"] = RUN_DAY.isoformat()
    for n in range(1, 5):
        add_order(card_merchant, f"AK-1000{n}")
    db.session.commit()
    folder = bank_inbox.inbox_of(card_merchant)
    assert folder.name == "alpenkiste-gmbh"
    paid = [
        Booking(Decimal("80.00"), RUN_DAY - timedelta(days=2), name=f"Kunde AK-1000{n}",
                remittance=f"Bestellung AK-1000{n}")
        for n in (1, 3)
    ]  # fmt: skip
    _drop(folder, "kontoauszug.xml", camt053("DE02120300000000202051", paid))
    _drop(folder, "kaputt.xml", b"<Document><nonsense/>")
    _drop(folder, "still-writing.xml.part", b"<?xml")

    dispatch_daily_runs()
    make_worker(app, InlineWorker).work(burst=True, logging_level="WARNING")

    assert [p.name.split("-", 1)[1] for p in (folder / "done").iterdir()] == ["kontoauszug.xml"]
    refused = sorted(p.name.split("-", 1)[1] for p in (folder / "refused").iterdir())
    assert refused == ["kaputt.xml", "kaputt.xml.reason.txt"]
    assert (folder / "still-writing.xml.part").exists()
    statuses = dict(db.session.execute(select(Order.number, Order.status)).all())
    assert statuses == {
        "AK-10001": "paid",
        "AK-10002": "unpaid",
        "AK-10003": "paid",
        "AK-10004": "unpaid",
    }
    assert {t.state for t in db.session.scalars(select(BankTransaction))} == {"matched"}
    reminded = sorted(m["To"] for m in mail_sink.messages())
    assert reminded == ["ak-10002@example.de", "ak-10004@example.de"]  # the paid ones hear nothing

    dispatch_daily_runs()  # the next sweep finds nothing new
    assert len(list((folder / "done").iterdir())) == 1


def test_transactions_left_unexamined_are_matched_by_the_next_dispatch(
    app, card_merchant, add_order, monkeypatch
):
    """The import stores first and matches after: when the matching fails (or the process dies
    between the two), the stored payments are matched by the scheduler's next dispatch instead
    of staying unseen."""
    from ledger.bank import importing, matching

    order = add_order(card_merchant, "AK-10009")
    db.session.commit()
    data = camt053("DE02120300000000202051", [
        Booking(Decimal("80.00"), DAY0, name="Kunde AK-10009", remittance="AK-10009")
    ])  # fmt: skip

    def broken(*args):
        raise RuntimeError("the matcher broke")

    with monkeypatch.context() as patched:
        patched.setattr(matching, "match_new", broken)
        summary = importing.import_file(card_merchant, data, "a.xml", "api", "api", DAY0)
    assert (summary.new, summary.matched) == (1, 0)  # stored, answered, not a crash
    row = db.session.scalar(select(BankTransaction))
    assert row.state == "new"
    assert bank_inbox.match_stranded() == 0  # too fresh: its own import may still be matching
    row.created_at -= timedelta(minutes=5)
    db.session.commit()
    assert bank_inbox.match_stranded() == 1
    db.session.refresh(order)
    assert order.status == "paid"
