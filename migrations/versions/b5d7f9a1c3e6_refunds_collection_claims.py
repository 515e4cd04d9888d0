"""refunds paid out by SEPA files, debt collection cases with the partner's updates, the
customer's "already paid" claims with proofs; the merchant's collection partner and whether the
customer page asks for refund bank details; a version of the order's customer-page links

Revision ID: b5d7f9a1c3e6
Revises: a4c6e8f0b2d4
Create Date: 2026-12-01 02:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b5d7f9a1c3e6'
down_revision = 'a4c6e8f0b2d4'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)


def upgrade():
    with op.batch_alter_table('merchants') as batch:
        batch.add_column(sa.Column('collection_partner', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column(
            'ask_refund_details', sa.Boolean(), server_default=sa.text('true'), nullable=False
        ))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column(
            'customer_link_version', sa.Integer(), server_default='1', nullable=False
        ))
    op.create_table(
        'refund_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=35), nullable=False),
        sa.Column('pain_version', sa.String(length=20), nullable=False),
        sa.Column('account_iban', sa.String(length=34), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('total', MONEY, nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_refund_exports_merchant_id', 'refund_exports', ['merchant_id'])
    op.create_table(
        'refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('payee', sa.String(length=140), nullable=False),
        sa.Column('iban', sa.String(length=34), nullable=True),
        sa.Column('bic', sa.String(length=11), nullable=True),
        sa.Column('remittance', sa.String(length=140), nullable=False),
        sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('export_id', sa.Integer(), nullable=True),
        sa.Column('transaction_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('executed_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id']),
        sa.ForeignKeyConstraint(['export_id'], ['refund_exports.id']),
        sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('end_to_end_id'),
    )
    op.create_index('ix_refunds_merchant_state', 'refunds', ['merchant_id', 'state'])
    op.create_index('ix_refunds_order_id', 'refunds', ['order_id'])
    op.create_index('ix_refunds_export_id', 'refunds', ['export_id'])
    op.create_table(
        'collection_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('partner', sa.String(length=120), nullable=False),
        sa.Column('file_number', sa.String(length=40), nullable=False),
        sa.Column('partner_file_number', sa.String(length=64), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('principal', MONEY, nullable=False),
        sa.Column('fees', MONEY, nullable=False),
        sa.Column('interest', MONEY, nullable=False),
        sa.Column('paid_before', MONEY, nullable=False),
        sa.Column('handed_over', MONEY, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('recovered', MONEY, nullable=False),
        sa.Column('partner_fees', MONEY, nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('recalled_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('merchant_id', 'file_number', name='uq_collection_file_number'),
    )
    op.create_index('ix_collection_cases_order_id', 'collection_cases', ['order_id'])
    op.create_table(
        'collection_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['collection_cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_collection_updates_case_id', 'collection_updates', ['case_id'])
    op.create_table(
        'payment_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('proof', sa.LargeBinary(), nullable=True),
        sa.Column('proof_type', sa.String(length=40), nullable=True),
        sa.Column('proof_name', sa.String(length=200), nullable=True),
        sa.Column('proof_size', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_payment_claims_order_id', 'payment_claims', ['order_id'])


def downgrade():
    op.drop_index('ix_payment_claims_order_id', table_name='payment_claims')
    op.drop_table('payment_claims')
    op.drop_index('ix_collection_updates_case_id', table_name='collection_updates')
    op.drop_table('collection_updates')
    op.drop_index('ix_collection_cases_order_id', table_name='collection_cases')
    op.drop_table('collection_cases')
    op.drop_index('ix_refunds_export_id', table_name='refunds')
    op.drop_index('ix_refunds_order_id', table_name='refunds')
    op.drop_index('ix_refunds_merchant_state', table_name='refunds')
    op.drop_table('refunds')
    op.drop_index('ix_refund_exports_merchant_id', table_name='refund_exports')
    op.drop_table('refund_exports')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('customer_link_version')
    with op.batch_alter_table('merchants') as batch:
        batch.drop_column('ask_refund_details')
        batch.drop_column('collection_partner')
