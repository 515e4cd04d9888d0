"""users: the four roles (owner, accountant, clerk, viewer); the unchecked "staff" becomes clerk

Revision ID: f1a9c3e5b7d2
Revises: e8c4d2a7f913
Create Date: 2026-11-30 20:30:00

"""
from alembic import op


revision = 'f1a9c3e5b7d2'
down_revision = 'e8c4d2a7f913'
branch_labels = None
depends_on = None


def upgrade():
    # "staff" was stored but never checked; clerk is the role that changes no money.
    op.execute("UPDATE users SET role = 'clerk' WHERE role = 'staff'")
    op.execute(
        "UPDATE users SET role = 'viewer' "
        "WHERE role NOT IN ('owner', 'accountant', 'clerk', 'viewer')"
    )


def downgrade():
    op.execute("UPDATE users SET role = 'staff' WHERE role <> 'owner'")
