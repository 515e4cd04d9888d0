"""Many new rows of one table in one go, in the session's transaction: what the bank import and
the matcher's payment batches write (thousands of transactions, ledger entries, assignments).

PostgreSQL: the ids are taken from the table's sequence in one query and the rows sent by COPY
(no statement per row, no RETURNING), through the session's own connection, so they commit or
roll back with everything else. SQLite (in-process, no round trips): one INSERT executemany,
with the ids SQLite would give (max(id) + 1 on: no table has AUTOINCREMENT) taken beforehand,
as an INSERT … RETURNING of many rows is sent row by row there. Either way each row gets what
a Core INSERT would give it: the column's Python default where the row has no value, and the
same bound value (the type's bind processing); a failure raises SQLAlchemy's exception
(IntegrityError, …)."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Enum, String, Table, any_, bindparam, func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.attributes import set_committed_value

from ledger.db import db


def insert_rows(table: Table, rows: list[dict], *, ids: bool = True) -> list[int]:
    """Insert the rows (column key -> value; the same keys in every row); returns their new ids
    in the rows' order (ascending, as one INSERT of them would), or [] when `ids` is false."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return _insert(connection, table, rows, ids)
    return _copy(connection, table, rows, ids)


def _insert(connection, table: Table, rows: list[dict], ids: bool) -> list[int]:
    new_ids: list[int] = []
    if ids:
        # Another writer in between makes a unique violation or a busy snapshot, which the
        # callers' retry handles as any conflict of their transaction.
        first = (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        new_ids = list(range(first, first + len(rows)))
        rows = [{"id": n, **row} for n, row in enumerate(rows, first)]
    columns, values = _prepared(connection.dialect, table, rows)
    quote = connection.dialect.identifier_preparer.quote
    statement = (
        f"INSERT INTO {_quoted(connection, table)} ({', '.join(quote(c.name) for c in columns)})"
        f" VALUES ({', '.join('?' for _ in columns)})"
    )
    _execute_many(connection, statement, values)
    return new_ids


def _prepared(
    dialect, table: Table, rows: list[dict], *, with_defaults: bool = True
) -> tuple[list, list[list]]:
    """The columns an INSERT of the rows writes (the rows' keys, then - `with_defaults` - the
    columns with a Python default the rows leave out) and each row's values for them, bound as
    Core would bind them (the defaults computed, each type's bind processing)."""
    keys = list(rows[0])
    defaults = [
        column
        for column in table.columns
        if with_defaults
        and column.key not in keys
        and column.default is not None
        and not column.primary_key
    ]
    columns = [table.c[key] for key in keys] + defaults
    default_values = [_default(column) for column in defaults]
    processors = [column.type._cached_bind_processor(dialect) for column in columns]
    values = []
    for row in rows:
        found = [row[key] for key in keys] + [value() for value in default_values]
        values.append(
            [
                value if process is None else process(value)
                for value, process in zip(found, processors, strict=True)
            ]
        )
    return columns, values


def _execute_many(connection, statement: str, values: list) -> int:
    """One executemany of plain SQL with the values bound already (SQLite), through the
    session's connection (its transaction, its events, its exceptions): a Core statement's
    executemany spends as long again building each row's parameters. Returns the rows
    written."""
    return connection.exec_driver_sql(statement, [tuple(row) for row in values]).rowcount


def _quoted(connection, table: Table) -> str:
    return connection.dialect.identifier_preparer.format_table(table)


def _copy(connection, table: Table, rows: list[dict], ids: bool) -> list[int]:
    from psycopg import Error, sql

    new_ids: list[int] = []
    if ids:
        new_ids = sorted(
            connection.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"table": _name(table), "n": len(rows)},
            ).scalars()
        )
        rows = [{"id": n, **row} for n, row in zip(new_ids, rows, strict=True)]
    columns, values = _prepared(connection.dialect, table, rows)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*_name(table).split(".")),
        sql.SQL(", ").join(sql.Identifier(column.name) for column in columns),
    )
    raw = connection.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row_values in values:
                copy.write_row(row_values)
    except Error as exc:
        raise DBAPIError.instance(statement.as_string(raw), None, exc, Error) from exc
    return new_ids


def among(column, values):
    """`column IN values` as a condition: on PostgreSQL `column = ANY(:array)`, one parameter
    however many values (psycopg converts a statement with hundreds of placeholders in Python,
    again for every length; this one it converts once), elsewhere an IN list."""
    values = list(values)
    if db.session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


def update_rows(table: Table, rows: list[dict], *, where: tuple[str, ...], bump: str | None = None):
    """Write each row's columns to the table's row whose `where` columns equal the row's (the
    same keys in every row, no two rows for one table row); `bump`: a column raised by one as
    well (a version). Returns how many rows were written: fewer than given when a `where` found
    none (a version check). PostgreSQL: one UPDATE … FROM unnest(:column arrays) for all, an
    array parameter a column; SQLite: one UPDATE executemany."""
    if not rows:
        return 0
    connection = db.session.connection()
    keys = list(rows[0])
    changed = [key for key in keys if key not in where]
    if connection.dialect.name != "postgresql":
        quote = connection.dialect.identifier_preparer.quote
        assignments = [f"{quote(table.c[key].name)} = ?" for key in changed]
        if bump:
            assignments.append(f"{quote(table.c[bump].name)} = {quote(table.c[bump].name)} + 1")
        matches = " AND ".join(f"{quote(table.c[key].name)} = ?" for key in where)
        statement = (
            f"UPDATE {_quoted(connection, table)} SET {', '.join(assignments)} WHERE {matches}"
        )
        ordered = [{key: row[key] for key in (*changed, *where)} for row in rows]
        _columns, values = _prepared(connection.dialect, table, ordered, with_defaults=False)
        return _execute_many(connection, statement, values)
    dialect = connection.dialect
    columns = [table.c[key] for key in keys]
    name = _name(table)
    assignments = [f'"{c.name}" = v."{c.name}"' for c in columns if c.key in changed]
    if bump:
        assignments.append(f'"{table.c[bump].name}" = {name}."{table.c[bump].name}" + 1')
    matches = " AND ".join(f'{name}."{table.c[k].name}" = v."{table.c[k].name}"' for k in where)
    arrays = ", ".join(f"CAST(:c{n} AS {_array_of(c, dialect)}[])" for n, c in enumerate(columns))
    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = text(
        f"UPDATE {name} SET {', '.join(assignments)} FROM unnest({arrays}) AS v ({names})"
        f" WHERE {matches}"
    )
    params = {}
    for n, column in enumerate(columns):
        process = column.type._cached_bind_processor(dialect)
        values = [row[column.key] for row in rows]
        values = values if process is None else [process(v) for v in values]
        params[f"c{n}"] = _array_literal(values, _python_type(column))
    return connection.execute(statement, params).rowcount


def _array_of(column, dialect) -> str:
    """The element type of a column's array parameter: its own, except that a string column's
    values travel as TEXT, so that one too long for the column fails on the assignment (an
    explicit CAST to VARCHAR(n) would cut it silently)."""
    if isinstance(column.type, String) and not isinstance(column.type, Enum):
        return "TEXT"
    return column.type.compile(dialect=dialect)


def _python_type(column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _array_literal(values: list, python_type: type | None):
    """The values in PostgreSQL's text form of an array (`{"1","2",NULL}`), which the statement
    casts to its column's type: psycopg adapts a list element by element in Python, two to
    three times slower (a third of a second over a bank import's batches). Only for values of
    exactly the column's own Python type among plain numbers, dates and strings, and no
    datetime with a time zone (PostgreSQL would drop the offset read as text into a timestamp
    without one, where psycopg converts it); anything else leaves the whole list to psycopg."""
    if python_type not in _PLAIN:
        return values
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif type(value) is python_type and getattr(value, "tzinfo", None) is None:
            parts.append('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            return values
    return "{" + ",".join(parts) + "}"


# Exactly these types (not their subclasses: an enum's str() is not its value).
_PLAIN = frozenset({int, bool, Decimal, date, datetime, str})


def written(obj, values: dict) -> None:
    """Tell the session these attribute values of a mapped object are in the database now (a
    bulk statement wrote them): committed, and the object clean again when nothing else of it
    changed, so the next flush does not even look at it (thousands of them cost the flush
    seconds)."""
    state = sa_inspect(obj)
    if state.committed_state.keys() <= values.keys():
        # Every change of the object was written: set only what differs from what it holds
        # (a bumped version), then mark it all committed at once (set_committed_value per
        # attribute costs a third of a second over a bank import's 20 000 objects).
        for key, value in values.items():
            if state.dict.get(key, _UNSET) is not value:
                set_committed_value(obj, key, value)
        state._commit_all(state.dict, state.session.identity_map if state.session else None)
        return
    for key, value in values.items():
        set_committed_value(obj, key, value)


_UNSET = object()


def _name(table: Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name


def _default(column):
    """A function giving the column's Python default (a scalar, or a callable as Core calls it)."""
    default = column.default
    if default.is_callable:
        return lambda: default.arg(None)
    if default.is_scalar:
        return lambda: default.arg
    raise ValueError(f"{column} has a default bulk.insert_rows cannot compute")


_gc_lock = threading.Lock()
_gc_users = 0  # blocks inside fewer_gc_passes, in any thread (the threshold is the process's)
_gc_before: tuple[int, ...] = ()


@contextmanager
def fewer_gc_passes(threshold: int = 50_000):
    """Python's cycle collector runs every 700 new container objects by default: a bulk job
    making hundreds of thousands of them (ORM objects, rows, dicts) spends a tenth of its time
    there, finding little (bank import: 8.2 -> 7.3 s of CPU). Raised while any block runs
    (threads of one portal process may overlap), restored when the last one ends; garbage is
    still collected, every `threshold` objects."""
    global _gc_users, _gc_before
    with _gc_lock:
        if _gc_users == 0:
            _gc_before = gc.get_threshold()
            gc.set_threshold(threshold, *_gc_before[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_before)
