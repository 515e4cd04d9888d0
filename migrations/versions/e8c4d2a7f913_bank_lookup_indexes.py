"""indexes: orders whose reference keys are stale (each bank import looks for them), ledger
entries by the entry they reverse (each return looks whether a payment was reversed already;
only reversals are in it)

On PostgreSQL both are built CONCURRENTLY, outside the migration's transaction: a plain
CREATE INDEX would block every write to orders and ledger entries while it reads them all.

Revision ID: e8c4d2a7f913
Revises: d7b3a9c1e2f5
Create Date: 2026-11-30 19:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8c4d2a7f913'
down_revision = 'd7b3a9c1e2f5'
branch_labels = None
depends_on = None


def _create_indexes(**options):
    op.create_index(
        'ix_orders_merchant_references_version',
        'orders',
        ['merchant_id', 'references_version'],
        unique=False,
        **options,
    )
    op.create_index(
        'ix_ledger_entries_reverses_id',
        'ledger_entries',
        ['reverses_id'],
        unique=False,
        sqlite_where=sa.text('reverses_id IS NOT NULL'),
        postgresql_where=sa.text('reverses_id IS NOT NULL'),
        **options,
    )


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            _create_indexes(postgresql_concurrently=True)
    else:
        _create_indexes()


def downgrade():
    op.drop_index('ix_ledger_entries_reverses_id', table_name='ledger_entries')
    op.drop_index('ix_orders_merchant_references_version', table_name='orders')
