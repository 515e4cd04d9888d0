"""orders: a refund to make (a credit the merchant decided to pay back)

Revision ID: d7b3a9c1e2f5
Revises: c5a8e1f2b3d4
Create Date: 2026-11-30 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7b3a9c1e2f5'
down_revision = 'c5a8e1f2b3d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_requested_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('refund_requested_on')
