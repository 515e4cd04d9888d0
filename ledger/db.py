"""The SQLAlchemy and Flask-Migrate extension objects."""

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints so migrations are stable on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
log = logging.getLogger(__name__)
migrate = Migrate(render_as_batch=True, compare_type=True)


# What the order search's migration builds beside the models (ledger.order_filters): the
# trigram index on PostgreSQL, the FTS5 table (and its shadow tables) on SQLite.
SEARCH_OBJECTS = ("ix_orders_search", "orders_search")


def built_here(obj, dialect_name: str) -> bool:
    """Whether a model's schema object is built on this database: an index declared with
    `Index(…).ddl_if(dialect=…)` exists on that database only (Alembic's comparison does not
    know, so migrations/env.py and the schema test ask here). The search's own objects are
    no model's and are left out of the comparison."""
    if (getattr(obj, "name", None) or "").startswith(SEARCH_OBJECTS):
        return False
    condition = getattr(obj, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    dialects = (condition.dialect,) if isinstance(condition.dialect, str) else condition.dialect
    return dialect_name in dialects


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection, _record) -> None:
    """SQLite in write-ahead-log mode: the portal reads while the worker writes (neither waits
    for the other), and a commit appends to the log with one sync instead of writing a rollback
    journal and syncing the database file twice. SQLite's default `synchronous=FULL` stays: a
    commit is on disk when it returns, even through a power cut (NORMAL would save nothing
    measurable on the bank import and could lose the last commits: a payment, a sent mark)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file; in memory: "memory"
        except sqlite3.OperationalError as exc:
            # Switching needs the file to itself: another process starting at the same moment
            # holds it. That one (or the next connection) switches it; this one works either way.
            log.info("SQLite stays in its journal mode for now: %s", exc)
    finally:
        cursor.close()


def sqlite_single_file(path) -> None:
    """Fold the write-ahead log into the SQLite file and leave it in rollback-journal mode, so
    that copying the one file copies everything (the tests' template, a benchmark's book). Call
    it with every connection to the file closed; the next connection turns WAL on again."""
    uri = f"{Path(path).resolve().as_uri()}?mode=rw"  # an existing file, never a new one
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        busy, _log, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        (mode,) = connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    if busy or mode != "delete":
        raise RuntimeError(f"{path} is still open elsewhere: not folded into one file")
