"""indexes for the portal's lists at a million orders: each list's sort served by an index
with the merchant first (orders by order date, outbox and audit by id, runs by creation), so
a page is an index range scan instead of a sort of the whole book

Revision ID: e2a4c6e8f0b1
Revises: d8f0b2c4e6a8
Create Date: 2026-12-01 09:30:00

"""
from alembic import op


revision = 'e2a4c6e8f0b1'
down_revision = 'd8f0b2c4e6a8'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_orders_merchant_ordered', 'orders', ['merchant_id', 'ordered_on', 'id']),
    ('ix_outbox_merchant_id', 'outbox_messages', ['merchant_id', 'id']),
    ('ix_dunning_runs_merchant_created', 'dunning_runs', ['merchant_id', 'created_at', 'id']),
]
# On SQLite the audit's merchant_id index holds the rowid (the id) in order already, and this
# one misleads its planner into a sort: PostgreSQL only.
POSTGRESQL_INDEXES = [
    ('ix_audit_entries_merchant_id_id', 'audit_entries', ['merchant_id', 'id']),
]


def _indexes():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    return INDEXES + (POSTGRESQL_INDEXES if postgresql else [])


def upgrade():
    for name, table, columns in _indexes():
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(_indexes()):
        op.drop_index(name, table_name=table)
