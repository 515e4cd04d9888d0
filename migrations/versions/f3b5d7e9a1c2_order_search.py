"""order search through an index: a trigram GIN index over the searched fields on PostgreSQL
(pg_trgm), an FTS5 trigram table kept by triggers on SQLite; orders by amount (a search for
"80,00" finds the orders of that amount)

Revision ID: f3b5d7e9a1c2
Revises: e2a4c6e8f0b1
Create Date: 2026-12-01 12:10:00

"""

from alembic import op


revision = "f3b5d7e9a1c2"
down_revision = "e2a4c6e8f0b1"
branch_labels = None
depends_on = None

# The searched fields, one line each (a search text holds no line break, so a match never
# spans two fields). ledger.order_filters.SEARCH_TEXT is the same expression: PostgreSQL uses
# the index only for a query naming it exactly (tests/portal/test_list_plans.py checks).
PG_TEXT = (
    "lower(number || E'\\n' || coalesce(invoice_number, '') || E'\\n' || customer_name"
    " || E'\\n' || customer_email || E'\\n' || coalesce(CAST(extra_references AS TEXT), ''))"
)


def _sqlite_text(row):
    return (
        f"{row}.number || char(10) || coalesce({row}.invoice_number, '') || char(10) ||"
        f" {row}.customer_name || char(10) || {row}.customer_email || char(10) ||"
        f" coalesce(CAST({row}.extra_references AS TEXT), '')"
    )


# A later migration that has Alembic rebuild the orders table on SQLite (batch mode copies it
# and drops the old one, and its triggers with it) must create these triggers again;
# tests/ledger/test_migrations.py fails until it does.


def upgrade():
    op.create_index("ix_orders_merchant_amount", "orders", ["merchant_id", "amount"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The operator class by its schema: the extension may live in another schema than the
        # one this database's tables are in (installed there before, e.g. in `public`).
        schema = bind.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        ).scalar_one()
        opclass = f"{bind.dialect.identifier_preparer.quote_identifier(schema)}.gin_trgm_ops"
        op.execute(f"CREATE INDEX ix_orders_search ON orders USING gin (({PG_TEXT}) {opclass})")
        return
    op.execute("CREATE VIRTUAL TABLE orders_search USING fts5(body, tokenize='trigram')")
    op.execute(
        f"INSERT INTO orders_search (rowid, body) SELECT id, {_sqlite_text('orders')} FROM orders"
    )
    op.execute(
        "CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN"
        f" INSERT INTO orders_search (rowid, body) VALUES (new.id, {_sqlite_text('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER orders_search_update AFTER UPDATE OF number, invoice_number,"
        " customer_name, customer_email, extra_references ON orders BEGIN"
        f" UPDATE orders_search SET body = {_sqlite_text('new')} WHERE rowid = new.id; END"
    )
    op.execute(
        "CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN"
        " DELETE FROM orders_search WHERE rowid = old.id; END"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_orders_search")
    else:
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER orders_search_{trigger}")
        op.execute("DROP TABLE orders_search")
    op.drop_index("ix_orders_merchant_amount", table_name="orders")
