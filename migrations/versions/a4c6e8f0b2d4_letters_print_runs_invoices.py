"""letters, print runs and invoices: PDF letters with their life (created, in print run,
printed, posted, cancelled), one print run per day and merchant, the shop's invoice PDF per
order; an email's HTML part; the shop's customer number for letters; the merchant's choice to attach the reminder PDF to emails

Revision ID: a4c6e8f0b2d4
Revises: c7e9a1b3d5f7
Create Date: 2026-12-01 01:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4c6e8f0b2d4'
down_revision = 'c7e9a1b3d5f7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('merchants') as batch:
        batch.add_column(sa.Column(
            'attach_reminder_pdf', sa.Boolean(), server_default=sa.text('false'), nullable=False
        ))
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('html', sa.Text(), nullable=True))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('customer_number', sa.String(length=64), nullable=True))
    op.create_table(
        'print_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('printed_at', sa.DateTime(), nullable=True),
        sa.Column('posted_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_print_runs_merchant_day', 'print_runs', ['merchant_id', 'day'])
    op.create_table(
        'letters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('level', sa.Integer(), nullable=True),
        sa.Column('locale', sa.String(length=5), nullable=False),
        sa.Column('recipient', sa.Text(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=True),
        sa.Column('state', sa.String(length=15), nullable=False),
        sa.Column('print_run_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('printed_at', sa.DateTime(), nullable=True),
        sa.Column('posted_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_by', sa.String(length=254), nullable=True),
        sa.Column('cancel_reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id']),
        sa.ForeignKeyConstraint(['print_run_id'], ['print_runs.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_letters_merchant_state', 'letters', ['merchant_id', 'state'])
    op.create_index('ix_letters_order_id', 'letters', ['order_id'])
    op.create_index('ix_letters_print_run_id', 'letters', ['print_run_id'])
    op.create_table(
        'invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id']),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id'),
    )


def downgrade():
    op.drop_table('invoices')
    op.drop_index('ix_letters_print_run_id', table_name='letters')
    op.drop_index('ix_letters_order_id', table_name='letters')
    op.drop_index('ix_letters_merchant_state', table_name='letters')
    op.drop_table('letters')
    op.drop_index('ix_print_runs_merchant_day', table_name='print_runs')
    op.drop_table('print_runs')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('customer_number')
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_column('html')
    with op.batch_alter_table('merchants') as batch:
        batch.drop_column('attach_reminder_pdf')
