"""The schema comes only from the migrations: after `upgrade` the database is what the models
declare (a column, index or constraint added to a model without a migration fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.db import built_here, db


def test_the_migrations_build_what_the_models_declare(ctx):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": False,
                "include_object": lambda obj, *_: built_here(obj, conn.dialect.name),
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []
