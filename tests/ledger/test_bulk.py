"""ledger.bulk.insert_rows: many rows in one go (COPY on PostgreSQL, one INSERT on SQLite), each
with the id, defaults and values a Core INSERT would give it, in the session's transaction."""

from __future__ import annotations

import gc
import sqlite3
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger import bulk
from ledger.db import db, sqlite_single_file
from ledger.models import (
    AuditEntry,
    BankAccount,
    BankImport,
    BankTransaction,
    LedgerEntry,
    Order,
)
from tests.conftest import DATABASE_URL


def _entry(order, n: int, **fields) -> dict:
    return {
        "merchant_id": order.merchant_id,
        "order_id": order.id,
        "kind": "payment",
        "amount": Decimal(f"{n}.10"),
        "currency": "EUR",
        "booked_on": date(2026, 10, 1),
        "source": "bank",
        "reference": f"bulk:{n}",
        "note": 'Zahlung "AK-1"\tmit\\Tab und\nZeile' if n == 2 else None,
        "reverses_id": None,
        "event_id": None,
        "actor": "test",
    } | fields


def test_the_ids_come_back_in_the_rows_order_and_each_row_is_stored(card_merchant, add_order):
    order = add_order(card_merchant, "AK-1")
    db.session.commit()
    table = LedgerEntry.__table__
    before = db.session.connection().execute(insert(table).returning(table.c.id), _entry(order, 0))
    first = before.scalar_one()
    ids = bulk.insert_rows(table, [_entry(order, n) for n in range(1, 6)])
    after = db.session.connection().execute(insert(table).returning(table.c.id), _entry(order, 9))
    assert ids == sorted(ids) and len(set(ids)) == 5 and first < ids[0]
    assert after.scalar_one() > ids[-1]  # the sequence moved past them
    db.session.commit()
    stored = {
        e.id: e for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_(ids)))
    }
    assert [stored[i].reference for i in ids] == [f"bulk:{n}" for n in range(1, 6)]
    assert [stored[i].amount for i in ids] == [Decimal(f"{n}.10") for n in range(1, 6)]
    assert stored[ids[1]].note == 'Zahlung "AK-1"\tmit\\Tab und\nZeile'
    assert stored[ids[0]].note is None
    assert all(stored[i].created_at is not None for i in ids)  # the column's Python default


def test_json_and_defaults_as_an_insert_gives_them(card_merchant):
    ids = bulk.insert_rows(
        AuditEntry.__table__,
        [
            {"merchant_id": card_merchant.id, "order_id": None, "actor": "t", "action": "a.b",
             "detail": {"amount": "1.00", "names": ["Müller", None]}},
            {"merchant_id": card_merchant.id, "order_id": None, "actor": "t", "action": "a.c",
             "detail": {}},
        ],
        ids=False,
    )  # fmt: skip
    assert ids == []
    db.session.commit()
    found = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.action, a.detail) for a in found[-2:]] == [
        ("a.b", {"amount": "1.00", "names": ["Müller", None]}),
        ("a.c", {}),
    ]
    assert all(a.created_at is not None for a in found[-2:])


def _transaction(merchant, account, record, fingerprint: str) -> dict:
    return {
        "merchant_id": merchant.id,
        "account_id": account.id,
        "import_id": record.id,
        "fingerprint": fingerprint,
        "booking_date": date(2026, 10, 1),
        "amount": Decimal("80.00"),
        "currency": "EUR",
        "credit": True,
        "remittance": "AK-1",
        "raw": {"AcctSvcrRef": fingerprint},
    }


def test_a_duplicate_raises_integrity_error_and_nothing_stays(card_merchant):
    from ledger.bank import accounts

    account = accounts.add_account(card_merchant, "DE89370400440532013000")
    record = BankImport(
        merchant_id=card_merchant.id, filename="f", format="camt", sha256="0", way="cli", actor="t"
    )
    db.session.add(record)
    db.session.commit()
    table = BankTransaction.__table__
    ids = bulk.insert_rows(table, [_transaction(card_merchant, account, record, "fp-1")])
    db.session.commit()
    stored = db.session.get(BankTransaction, ids[0])
    # the columns the rows left out get their Python defaults, as in an INSERT
    assert (stored.state, stored.suggestions, stored.reversal, stored.raw) == (
        "unmatched",
        [],
        False,
        {"AcctSvcrRef": "fp-1"},
    )
    rows = [_transaction(card_merchant, account, record, fp) for fp in ("fp-2", "fp-1")]
    with pytest.raises(IntegrityError):
        bulk.insert_rows(table, rows)
    db.session.rollback()
    stored = db.session.scalars(select(BankTransaction.fingerprint)).all()
    assert stored == ["fp-1"]
    assert db.session.get(BankAccount, account.id) is not None  # the session works on


def test_no_rows_send_nothing(ctx):
    assert bulk.insert_rows(LedgerEntry.__table__, []) == []


def test_update_rows_writes_where_the_version_still_fits(card_merchant, add_order):
    orders = [add_order(card_merchant, f"AK-{n}") for n in range(1, 6)]
    db.session.commit()
    read = {o.id: o.version for o in orders}
    db.session.execute(
        Order.__table__.update().where(Order.id == orders[1].id).values(version=Order.version + 1)
    )  # someone else wrote the second one meanwhile
    rows = [
        {"id": o.id, "version": read[o.id], "status": "paid", "paid_total": Decimal("80.00"),
         "next_due_on": None, "tags": ["bezahlt"], "payment_claimed_on": date(2026, 10, n)}
        for n, o in enumerate(orders, start=1)
    ]  # fmt: skip
    written = bulk.update_rows(Order.__table__, rows, where=("id", "version"), bump="version")
    assert written == 4
    db.session.commit()
    db.session.expire_all()
    for n, order in enumerate(orders, start=1):
        if n == 2:
            assert (order.status, order.version) == ("unpaid", read[order.id] + 1)
            continue
        assert (order.status, order.paid_total, order.next_due_on, order.tags) == (
            "paid",
            Decimal("80.00"),
            None,
            ["bezahlt"],
        )
        assert (order.payment_claimed_on, order.version) == (date(2026, 10, n), read[order.id] + 1)
    assert bulk.update_rows(Order.__table__, [], where=("id",)) == 0


def test_update_rows_keeps_every_character_and_type_of_the_values(card_merchant, add_order):
    """On PostgreSQL the values travel as an array literal: quotes, backslashes, braces,
    commas, the word NULL and the empty string come back as they were; None stays NULL."""
    names = ['Zoë "Zo" O\'Brien', "C:\\Kunden\\{neu}", "a,b}{c", "NULL", "", "Ärger\nZeile"]
    orders = [add_order(card_merchant, f"AK-{n}") for n in range(1, len(names) + 1)]
    db.session.commit()
    moment = datetime(2026, 11, 30, 23, 30, 15, 123456)  # naive UTC, as the models store it
    rows = [
        {"id": o.id, "customer_name": name, "postal_address": None if n % 2 else name,
         "paid_after_cancellation": bool(n % 2), "updated_at": moment,
         "adjustments_total": Decimal("1E+1") if n == 1 else Decimal("0.01")}
        for n, (o, name) in enumerate(zip(orders, names, strict=True))
    ]  # fmt: skip
    assert bulk.update_rows(Order.__table__, rows, where=("id",)) == len(names)
    db.session.commit()
    db.session.expire_all()
    for n, (order, name) in enumerate(zip(orders, names, strict=True)):
        assert order.customer_name == name
        assert order.postal_address == (None if n % 2 else name)
        assert order.paid_after_cancellation is bool(n % 2)
        assert order.updated_at == moment
        assert order.adjustments_total == (Decimal("10") if n == 1 else Decimal("0.01"))


def test_among_finds_the_rows_whose_column_is_one_of_the_values(card_merchant, add_order):
    orders = [add_order(card_merchant, f"AK-{n}") for n in range(1, 4)]
    db.session.commit()
    wanted = [orders[0].id, orders[2].id, 999_999]
    found = db.session.scalars(select(Order.number).where(bulk.among(Order.id, wanted)))
    assert sorted(found) == ["AK-1", "AK-3"]
    found = db.session.scalars(select(Order.id).where(bulk.among(Order.number, ["AK-2", "x"])))
    assert list(found) == [orders[1].id]
    assert list(db.session.scalars(select(Order.id).where(bulk.among(Order.id, [])))) == []


@pytest.mark.skipif(not DATABASE_URL, reason="SQLite does not enforce a VARCHAR's length")
def test_update_rows_refuses_a_string_too_long_for_its_column(card_merchant, add_order):
    order = add_order(card_merchant, "AK-1")
    db.session.commit()
    with pytest.raises(DBAPIError, match="too long"):
        bulk.update_rows(Order.__table__, [{"id": order.id, "status": "x" * 21}], where=("id",))
    db.session.rollback()
    assert db.session.get(Order, order.id).status == "unpaid"


def test_fewer_gc_passes_restores_the_threshold_after_the_last_overlapping_block():
    before = gc.get_threshold()
    outer = bulk.fewer_gc_passes()
    inner = bulk.fewer_gc_passes()
    outer.__enter__()
    inner.__enter__()
    assert gc.get_threshold()[0] == 50_000
    outer.__exit__(None, None, None)  # the first to start ends first (another thread's)
    assert gc.get_threshold()[0] == 50_000
    inner.__exit__(None, None, None)
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), bulk.fewer_gc_passes():
        raise RuntimeError
    assert gc.get_threshold() == before


def test_sqlite_single_file_refuses_a_file_still_open(tmp_path):
    path = tmp_path / "open.db"
    held = sqlite3.connect(path)
    held.execute("PRAGMA journal_mode=WAL")
    held.execute("CREATE TABLE t (x)")
    held.execute("BEGIN")
    held.execute("INSERT INTO t VALUES (1)")
    with pytest.raises((RuntimeError, sqlite3.OperationalError)):
        sqlite_single_file(path)
    held.rollback()
    held.close()
    sqlite_single_file(path)
    assert not (tmp_path / "open.db-wal").exists()
    with pytest.raises(sqlite3.OperationalError):
        sqlite_single_file(tmp_path / "missing.db")  # never made
    assert not (tmp_path / "missing.db").exists()
