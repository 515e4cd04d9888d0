"""the optional "payment received" confirmation to the customer (a merchant setting; the
customer may unsubscribe from it)

Revision ID: d8f0b2c4e6a8
Revises: c6e8a0b2d4f7
Create Date: 2026-12-01 05:25:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd8f0b2c4e6a8'
down_revision = 'c6e8a0b2d4f7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('merchants') as batch:
        batch.add_column(sa.Column(
            'payment_received_mail', sa.Boolean(), server_default=sa.text('false'),
            nullable=False,
        ))


def downgrade():
    with op.batch_alter_table('merchants') as batch:
        batch.drop_column('payment_received_mail')
