"""login throttles (failed logins and lockouts per account and address), users' session generation

Revision ID: b4f7c2d9e611
Revises: 9e1a2b3c4d50
Create Date: 2026-11-30 15:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b4f7c2d9e611'
down_revision = '9e1a2b3c4d50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=True),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('lockouts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
        sa.UniqueConstraint('key', name=op.f('uq_login_throttles_key')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
    op.drop_table('login_throttles')
