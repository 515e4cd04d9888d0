"""The lists' page queries are served by an index in their sort order: no sort of the whole
book, no full scan (docs/performance.md). Checked with the database's own EXPLAIN: on
PostgreSQL with sequential scans and sorts switched off for the statement (a plan that still
needs one has no index to use), on SQLite without and with planner statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ledger import order_filters
from ledger.db import db
from ledger.models import AuditEntry, DunningRun, Order, OutboxMessage
from tests.conftest import DATABASE_URL


def _queries(merchant_id: int) -> dict:
    """The first page of each big list, as its view asks for it."""
    return {
        "orders": select(Order)
        .where(*order_filters.conditions(merchant_id, {}))
        .order_by(Order.ordered_on.desc(), Order.id.desc()),
        "outbox": select(OutboxMessage)
        .where(OutboxMessage.merchant_id == merchant_id)
        .order_by(OutboxMessage.id.desc()),
        "audit": select(AuditEntry)
        .where(AuditEntry.merchant_id == merchant_id)
        .order_by(AuditEntry.id.desc()),
        "runs": select(DunningRun)
        .where(DunningRun.merchant_id == merchant_id)
        .order_by(DunningRun.created_at.desc(), DunningRun.id.desc()),
        # the payments page's credits to pay back (ledger.bank.inbox.order_refunds)
        "refunds": select(Order)
        .where(Order.merchant_id == merchant_id, Order.refund_requested_on.is_not(None))
        .order_by(Order.refund_requested_on, Order.id),
    }


def _big_book_statistics() -> None:
    """Planner statistics as a book of a million rows per table would give (10 merchants): the
    test database holds a handful of rows, for which a sort costs nothing and the planner is
    right to choose one. PostgreSQL: its own ANALYZE (sorts are switched off in _plan);
    SQLite: sqlite_stat1 written as ANALYZE would write it for such a book (a documented way to
    give its planner statistics), then read again."""
    db.session.execute(text("ANALYZE"))
    if not DATABASE_URL:
        indexes = db.session.execute(
            text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
        ).all()
        db.session.execute(text("DELETE FROM sqlite_stat1"))
        for name, table in indexes:
            columns = len(db.session.execute(text(f'PRAGMA index_info("{name}")')).all())
            stat = "1000000 100000" + " 1" * (columns - 1)
            db.session.execute(
                text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
                {"t": table, "i": name, "s": stat},
            )
        db.session.execute(text("ANALYZE sqlite_schema"))  # read the statistics again
    db.session.commit()


def _plan(query) -> str:
    statement = query.limit(50).offset(100)
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if DATABASE_URL:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_sort = off"))
        rows = db.session.execute(text(f"EXPLAIN {sql}")).scalars()
    else:
        rows = (row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    plan = "\n".join(rows)
    db.session.rollback()
    return plan


@pytest.mark.parametrize("statistics", [False, True])
@pytest.mark.parametrize("page", ["orders", "outbox", "audit", "runs", "refunds"])
def test_a_list_page_reads_an_index_range_in_its_order(ctx, card_merchant, page, statistics):
    if statistics:
        _big_book_statistics()
    plan = _plan(_queries(card_merchant.id)[page])
    if DATABASE_URL:
        assert "Sort" not in plan and "Seq Scan" not in plan, plan
    else:
        assert "TEMP B-TREE" not in plan and "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan


@pytest.mark.parametrize("statistics", [False, True])
def test_the_search_reads_its_trigram_index(ctx, card_merchant, statistics):
    """A search for a name reads the trigram index (PostgreSQL, pg_trgm) or the FTS5 table
    (SQLite), not every order of the merchant."""
    if statistics:
        _big_book_statistics()
    # The search condition alone (PostgreSQL's planner rightly prefers the merchant's index
    # for a handful of rows): what matters is that the index serves that very expression.
    query = select(Order.id).where(order_filters._text_search("Schmidt"))
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if DATABASE_URL:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
        assert "ix_orders_search" in plan, plan
    else:
        rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        plan = "\n".join(row[-1] for row in rows)
        assert "orders_search VIRTUAL TABLE INDEX 0:M" in plan, plan
    db.session.rollback()
