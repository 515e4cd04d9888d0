"""outbox leases and back-off, run heartbeats and restarts, an index for unsent notifications

Revision ID: 9e1a2b3c4d50
Revises: 8d2f4a6b1c30
Create Date: 2026-11-30 13:25:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9e1a2b3c4d50'
down_revision = '8d2f4a6b1c30'
branch_labels = None
depends_on = None

UNSENT = "action = 'notify' AND digest_message_id IS NULL"


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_outbox_state_next_attempt', ['state', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('dunning_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('restart_of', sa.Integer(), nullable=True))
    op.create_index(
        'ix_dunning_events_unsent_notify',
        'dunning_events',
        ['merchant_id', 'id'],
        unique=False,
        sqlite_where=sa.text(UNSENT),
        postgresql_where=sa.text(UNSENT),
    )


def downgrade():
    op.drop_index('ix_dunning_events_unsent_notify', table_name='dunning_events')
    with op.batch_alter_table('dunning_runs', schema=None) as batch_op:
        batch_op.drop_column('restart_of')
        batch_op.drop_column('heartbeat_at')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_next_attempt')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('claimed_at')
