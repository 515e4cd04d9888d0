"""dashboard figures: one snapshot of the dashboard's figures per merchant (computed by a worker
job, read by the page), and an index of the orders with an "already paid" claim (the
dashboard's live count of them)

Revision ID: c7e9a1b3d5f7
Revises: b2d4f6a8c0e1
Create Date: 2026-11-30 22:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c7e9a1b3d5f7'
down_revision = 'b2d4f6a8c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_figures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('merchant_id'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # CONCURRENTLY, outside the transaction: orders stay writable while it is built.
        with op.get_context().autocommit_block():
            _create_claimed_index(postgresql_concurrently=True)
    else:
        _create_claimed_index()


def _create_claimed_index(**options):
    op.create_index(
        'ix_orders_merchant_claimed',
        'orders',
        ['merchant_id', 'status'],
        unique=False,
        sqlite_where=sa.text('payment_claimed_on IS NOT NULL'),
        postgresql_where=sa.text('payment_claimed_on IS NOT NULL'),
        **options,
    )


def downgrade():
    op.drop_index('ix_orders_merchant_claimed', table_name='orders')
    op.drop_table('dashboard_figures')
