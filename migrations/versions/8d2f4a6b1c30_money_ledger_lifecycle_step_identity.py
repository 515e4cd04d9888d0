"""the order's money ledger, optimistic locking, paid after cancellation, idempotent requests,
step identity v1

Existing orders' totals become ledger entries: the order amount a charge, every payment a
payment, every reminder fee a fee, every interest charge interest. Payments of the same order,
source and reference beyond the first keep their entry under a reference marked with the entry
id (the old code stored them twice; the ledger keeps that history visible instead of deleting
money). Dunning events are re-keyed from the formatter's "label/trigger" to the step identity of
rules.identity, version by version.

Revision ID: 8d2f4a6b1c30
Revises: 5b1e2c7d9a10
Create Date: 2026-11-30 12:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '8d2f4a6b1c30'
down_revision = '5b1e2c7d9a10'
branch_labels = None
depends_on = None

PAYMENT_ROWS = "kind = 'payment' AND reference IS NOT NULL"


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interest_total', sa.Numeric(12, 2), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('adjustments_total', sa.Numeric(12, 2), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('paid_after_cancellation', sa.Boolean(), nullable=False, server_default=sa.text('false')))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))

    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('amount', sa.Numeric(12, 2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('booked_on', sa.Date(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('reverses_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_ledger_entries_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ledger_entries_order_id_orders')),
        sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_id_ledger_entries')),
        sa.ForeignKeyConstraint(['event_id'], ['dunning_events.id'], name='fk_ledger_entries_event'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_merchant_id', ['merchant_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_order_id_id', ['order_id', 'id'], unique=False)

    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_idempotent_requests_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
        sa.UniqueConstraint('merchant_id', 'key', name='uq_idempotent_merchant_key'),
    )

    _entries_from_totals()
    op.create_index(
        'uq_ledger_entries_payment_reference',
        'ledger_entries',
        ['order_id', 'source', 'reference'],
        unique=True,
        sqlite_where=sa.text(PAYMENT_ROWS),
        postgresql_where=sa.text(PAYMENT_ROWS),
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_order_id')
        batch_op.drop_index('ix_payments_merchant_id')
    op.drop_table('payments')
    _rekey_events()


def _entries_from_totals():
    now = "CURRENT_TIMESTAMP"
    op.execute(
        "INSERT INTO ledger_entries (merchant_id, order_id, kind, amount, currency, booked_on,"
        " source, note, actor, created_at)"
        f" SELECT merchant_id, id, 'charge', amount, currency, ordered_on, 'migration',"
        f" 'order amount', 'migration', {now} FROM orders"
    )
    op.execute(
        "INSERT INTO ledger_entries (merchant_id, order_id, kind, amount, currency, booked_on,"
        " source, reference, actor, created_at)"
        " SELECT p.merchant_id, p.order_id, 'payment', p.amount, o.currency, p.paid_on,"
        " p.source, p.reference, 'migration', p.created_at"
        " FROM payments p JOIN orders o ON o.id = p.order_id ORDER BY p.id"
    )
    op.execute(
        "UPDATE ledger_entries SET reference = reference || ' #' || CAST(id AS VARCHAR(20))"
        f" WHERE {PAYMENT_ROWS} AND id NOT IN (SELECT MIN(id) FROM ledger_entries"
        f" WHERE {PAYMENT_ROWS} GROUP BY order_id, source, reference)"
    )
    for action, kind in (('remind', 'fee'), ('charge_interest', 'interest')):
        op.execute(
            "INSERT INTO ledger_entries (merchant_id, order_id, kind, amount, currency,"
            " booked_on, source, event_id, note, actor, created_at)"
            f" SELECT e.merchant_id, e.order_id, '{kind}', e.fee, o.currency, e.decided_on,"
            f" 'rule', e.id, 'from the dunning event', 'migration', e.created_at"
            f" FROM dunning_events e JOIN orders o ON o.id = e.order_id"
            f" WHERE e.action = '{action}' AND e.fee IS NOT NULL AND e.fee <> 0"
        )
    for column, kinds in (
        ('paid_total', "'payment'"),
        ('fees_total', "'fee'"),
        ('interest_total', "'interest'"),
    ):
        op.execute(
            f"UPDATE orders SET {column} = COALESCE((SELECT SUM(l.amount) FROM ledger_entries l"
            f" WHERE l.order_id = orders.id AND l.kind IN ({kinds})), 0)"
        )
    # Flag the cancelled orders whose payment arrived on or after the cancellation day (a
    # partial payment before it is a credit to refund, not a payment after cancellation).
    op.execute(
        "UPDATE orders SET paid_after_cancellation = (status = 'cancelled' AND EXISTS ("
        "SELECT 1 FROM ledger_entries l WHERE l.order_id = orders.id AND l.kind = 'payment'"
        " AND l.booked_on >= orders.cancelled_on))"
    )


def _rekey_events():
    """"label/trigger" → the step identity, for each version's steps; an event whose new key
    the same order already has (it got the same step twice under the old keys) keeps its old
    key, so the history stays whole."""
    from rules import parse
    from rules.evaluator import Program

    bind = op.get_bind()
    versions = bind.execute(sa.text("SELECT id, text FROM ruleset_versions")).all()
    for version_id, text in versions:
        try:
            program = Program(parse(text), text)
        except Exception:  # a draft that never parsed decided no event
            continue
        for old, new in program.legacy_keys().items():
            bind.execute(
                sa.text(
                    "UPDATE dunning_events SET step_key = :new WHERE ruleset_version_id = :v"
                    " AND step_key = :old AND NOT EXISTS (SELECT 1 FROM dunning_events d2"
                    " WHERE d2.order_id = dunning_events.order_id AND d2.step_key = :new"
                    " AND d2.action = dunning_events.action)"
                ),
                {"new": new, "old": old, "v": version_id},
            )


def downgrade():
    op.create_table(
        'payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('merchant_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=True),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_payments_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_merchant_id', ['merchant_id'], unique=False)
        batch_op.create_index('ix_payments_order_id', ['order_id'], unique=False)
    op.execute(
        "INSERT INTO payments (merchant_id, order_id, amount, paid_on, reference, source,"
        " created_at) SELECT merchant_id, order_id, amount, booked_on, reference, source,"
        " created_at FROM ledger_entries WHERE kind = 'payment'"
    )
    op.execute(
        "UPDATE orders SET fees_total = fees_total + interest_total"
    )
    op.drop_index('uq_ledger_entries_payment_reference', table_name='ledger_entries')
    op.drop_table('idempotent_requests')
    op.drop_table('ledger_entries')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('paid_after_cancellation')
        batch_op.drop_column('adjustments_total')
        batch_op.drop_column('interest_total')
