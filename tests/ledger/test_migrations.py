"""The schema comes only from the migrations: after `upgrade` the database is what the models
declare (a column, index or constraint added to a model without a migration fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.db import built_here, db


def test_the_migrations_build_what_the_models_declare(ctx):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": False,
                "include_object": lambda obj, *_: built_here(obj, conn.dialect.name),
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_search_index_is_there_and_kept_in_step(ctx, card_merchant, add_order):
    """The order search's own objects, which no model declares (the comparison above leaves
    them out): on SQLite the FTS5 table and its three triggers — a later migration that lets
    Alembic copy the orders table (batch mode) drops the triggers and must create them again;
    this fails then — on PostgreSQL the trigram index."""
    from sqlalchemy import text

    if db.engine.dialect.name == "postgresql":
        found = db.session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_search'")
        )
        assert found and "gin_trgm_ops" in found
        return
    triggers = db.session.scalars(
        text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    ).all()
    assert triggers == ["orders_search_delete", "orders_search_insert", "orders_search_update"]
    order = add_order(card_merchant, "FTS-1")
    order.customer_name = "Zacharias Quist"
    db.session.commit()
    body = db.session.scalar(
        text("SELECT body FROM orders_search WHERE rowid = :id"), {"id": order.id}
    )
    assert body.split("\n")[:4] == ["FTS-1", "", "Zacharias Quist", "fts-1@example.de"]
