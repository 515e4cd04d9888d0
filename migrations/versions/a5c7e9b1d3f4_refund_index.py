"""orders with a credit to pay back: a partial index (the payments page lists them; without
it the page read every order of the merchant)

Revision ID: a5c7e9b1d3f4
Revises: f3b5d7e9a1c2
Create Date: 2026-12-01 12:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'a5c7e9b1d3f4'
down_revision = 'f3b5d7e9a1c2'
branch_labels = None
depends_on = None

WHERE = sa.text('refund_requested_on IS NOT NULL')


def upgrade():
    op.create_index(
        'ix_orders_refund_requested',
        'orders',
        ['merchant_id', 'refund_requested_on', 'id'],
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade():
    op.drop_index('ix_orders_refund_requested', table_name='orders')
