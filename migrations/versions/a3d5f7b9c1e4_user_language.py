"""users: the portal language each user picked (none: the browser's)

Revision ID: a3d5f7b9c1e4
Revises: f1a9c3e5b7d2
Create Date: 2026-11-30 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3d5f7b9c1e4'
down_revision = 'f1a9c3e5b7d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
