"""merchants: letterhead, reply-to, payment terms, shop URL, run hour, interest base, owners'
TOTP; users: active, invitation, password change, TOTP; user_tokens for invitation and reset links

Revision ID: b2d4f6a8c0e1
Revises: a3d5f7b9c1e4
Create Date: 2026-11-30 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b2d4f6a8c0e1'
down_revision = 'a3d5f7b9c1e4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('company_address', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('country', sa.String(length=2), server_default='DE', nullable=False)
        )
        batch_op.add_column(sa.Column('register_number', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('vat_id', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('managing_directors', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reply_to_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('payment_days', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column('discount_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('shop_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('run_hour', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('interest_base', sa.String(length=10), server_default='law', nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                'owners_need_totp', sa.Boolean(), server_default=sa.text('false'), nullable=False
            )
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False)
        )
        batch_op.add_column(sa.Column('invited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.create_table(
        'user_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_tokens_user_id'))
    op.drop_table('user_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in (
            'totp_last_step', 'totp_enabled_at', 'totp_secret', 'password_changed_at',
            'invited_at', 'active',
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        for column in (
            'owners_need_totp', 'interest_base', 'run_hour', 'shop_url', 'discount_days',
            'discount_percent', 'payment_days', 'reply_to_email', 'logo_type', 'logo',
            'managing_directors', 'vat_id', 'register_number', 'country', 'company_address',
            'company_name',
        ):
            batch_op.drop_column(column)
