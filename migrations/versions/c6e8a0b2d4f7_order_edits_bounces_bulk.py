"""the order page's edits, bounces and bulk actions: fields edited by hand and the shop's
changes kept aside, per-order payment terms, a dunning block's end, unsubscribed
notifications; bounced, purged and resent messages; the merchant's bounce domain, fresh
payment information on changes, the default cancellation notice; bulk jobs with progress

Revision ID: c6e8a0b2d4f7
Revises: b5d7f9a1c3e6
Create Date: 2026-12-01 02:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c6e8a0b2d4f7'
down_revision = 'b5d7f9a1c3e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('merchants') as batch:
        batch.add_column(sa.Column('bounce_domain', sa.String(length=253), nullable=True))
        batch.add_column(sa.Column(
            'payment_info_on_change', sa.Boolean(), server_default=sa.text('true'),
            nullable=False,
        ))
        batch.add_column(sa.Column(
            'cancellation_notice', sa.String(length=10), server_default='none', nullable=False
        ))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('dunning_block_until', sa.Date(), nullable=True))
        batch.add_column(sa.Column('manual_fields', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('shop_changes', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('payment_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column(
            'discount_percent', sa.Numeric(precision=5, scale=2), nullable=True
        ))
        batch.add_column(sa.Column('discount_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column(
            'notifications_off', sa.Boolean(), server_default=sa.text('false'), nullable=False
        ))
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('bounced_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('bounce_reason', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('resent_from_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_outbox_resent_from', 'outbox_messages', ['resent_from_id'], ['id']
        )
    op.create_table(
        'bulk_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('order_ids', sa.JSON(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_bulk_jobs_merchant_created', 'bulk_jobs', ['merchant_id', 'created_at'])


def downgrade():
    op.drop_index('ix_bulk_jobs_merchant_created', table_name='bulk_jobs')
    op.drop_table('bulk_jobs')
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_constraint('fk_outbox_resent_from', type_='foreignkey')
        batch.drop_column('resent_from_id')
        batch.drop_column('purged_at')
        batch.drop_column('bounce_reason')
        batch.drop_column('bounced_at')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('notifications_off')
        batch.drop_column('discount_days')
        batch.drop_column('discount_percent')
        batch.drop_column('payment_days')
        batch.drop_column('shop_changes')
        batch.drop_column('manual_fields')
        batch.drop_column('dunning_block_until')
    with op.batch_alter_table('merchants') as batch:
        batch.drop_column('cancellation_notice')
        batch.drop_column('payment_info_on_change')
        batch.drop_column('bounce_domain')
