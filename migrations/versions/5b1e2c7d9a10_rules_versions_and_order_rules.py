"""rules versions: based_on, background recompute progress; orders remember their rules

Revision ID: 5b1e2c7d9a10
Revises: 34409507b7e2
Create Date: 2026-11-25 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b1e2c7d9a10'
down_revision = '34409507b7e2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('based_on', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recompute_total', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('recompute_done', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('recomputed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_orders_rules_version_id_ruleset_versions'),
            'ruleset_versions', ['rules_version_id'], ['id'],
        )
    # Versions active before this migration were recomputed when they were activated, and the
    # orders that exist now came in under the merchant's active rules.
    op.execute(
        "UPDATE ruleset_versions SET recomputed_at = activated_at WHERE active"
    )
    op.execute(
        "UPDATE orders SET rules_version_id = (SELECT v.id FROM ruleset_versions v "
        "WHERE v.merchant_id = orders.merchant_id AND v.active)"
    )


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_rules_version_id_ruleset_versions'), type_='foreignkey')
        batch_op.drop_column('rules_version_id')
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.drop_column('recomputed_at')
        batch_op.drop_column('recompute_done')
        batch_op.drop_column('recompute_total')
        batch_op.drop_column('based_on')
