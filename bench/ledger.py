"""Do orders need cached sums of their money ledger? Reads the same figures two ways on a seeded
book: from the order's cached columns, and by aggregating its ledger entries.

    python bench/ledger.py [--orders 100000]      # SQLite in a temporary folder
    DATABASE_URL=postgresql://… python bench/ledger.py

Prints the median of 7 runs per query, both ways, and the ratio (entries / cached).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

QUERIES = {
    "order list page (50 newest, open amount per row)": (
        "SELECT id, number, amount + fees_total + interest_total - paid_total"
        " - adjustments_total FROM orders WHERE merchant_id = 1"
        " ORDER BY ordered_on DESC, id DESC LIMIT 50",
        "SELECT o.id, o.number, COALESCE(SUM(CASE WHEN l.kind IN ('charge', 'fee', 'interest',"
        " 'payment_reversal', 'refund') THEN l.amount ELSE -l.amount END), 0) FROM"
        " (SELECT id, number, ordered_on FROM orders WHERE merchant_id = 1"
        " ORDER BY ordered_on DESC, id DESC LIMIT 50) o LEFT JOIN ledger_entries l"
        " ON l.order_id = o.id GROUP BY o.id, o.number, o.ordered_on"
        " ORDER BY o.ordered_on DESC, o.id DESC",
    ),
    "sum of open amounts of all unpaid orders (a filter's total)": (
        "SELECT SUM(amount + fees_total + interest_total - paid_total - adjustments_total)"
        " FROM orders WHERE merchant_id = 1 AND status = 'unpaid'",
        "SELECT SUM(CASE WHEN l.kind IN ('charge', 'fee', 'interest', 'payment_reversal',"
        " 'refund') THEN l.amount ELSE -l.amount END) FROM orders o JOIN ledger_entries l"
        " ON l.order_id = o.id WHERE o.merchant_id = 1 AND o.status = 'unpaid'",
    ),
    "the run's read: open principal of 10 000 due orders": (
        "SELECT id, amount - paid_total - adjustments_total FROM orders"
        " WHERE merchant_id = 1 AND status = 'unpaid' AND id <= 40000",
        "SELECT o.id, SUM(CASE WHEN l.kind IN ('charge', 'payment_reversal', 'refund')"
        " THEN l.amount WHEN l.kind IN ('payment', 'discount', 'write_off') THEN -l.amount"
        " ELSE 0 END) FROM orders o JOIN ledger_entries l ON l.order_id = o.id"
        " WHERE o.merchant_id = 1 AND o.status = 'unpaid' AND o.id <= 40000 GROUP BY o.id",
    ),
}


def seed(app, count: int) -> None:
    from ledger.db import db

    rng = random.Random(5)
    day0 = date(2026, 6, 1)
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO merchants (id, name, accounting_email, timezone, language,"
                " created_at) VALUES (1, 'Bench', 'a@example.com', 'Europe/Berlin', 'de',"
                " CURRENT_TIMESTAMP)"
            )
        )
        orders, entries = [], []
        for n in range(1, count + 1):
            amount = Decimal(rng.randrange(500, 50000)) / 100
            paid = rng.random() < 0.6
            fee = Decimal("2.50") if not paid and rng.random() < 0.3 else Decimal(0)
            ordered = day0 + timedelta(days=rng.randrange(150))
            orders.append(
                {"id": n, "number": f"B-{n}", "amount": str(amount),
                 "paid": str(amount if paid else 0), "fees": str(fee),
                 "status": "paid" if paid else "unpaid", "ordered_on": ordered}
            )  # fmt: skip
            entries.append((n, "charge", amount, ordered))
            if paid:
                entries.append((n, "payment", amount, ordered + timedelta(days=3)))
            if fee:
                entries.append((n, "fee", fee, ordered + timedelta(days=14)))
        db.session.execute(
            text(
                "INSERT INTO orders (id, merchant_id, number, customer_name, customer_email,"
                " country, language, customer_type, amount, currency, payment_method,"
                " ordered_on, due_on, tags, status, paid_total, fees_total, interest_total,"
                " adjustments_total, dunning_level, dunning_block, paid_after_cancellation,"
                " version, created_at, updated_at) VALUES (:id, 1, :number, 'K', 'k@example.de',"
                " 'DE', 'de', 'b2c', :amount, 'EUR', 'prepayment', :ordered_on, :ordered_on,"
                " '[]', :status, :paid, :fees, 0, 0, 0, false, false, 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"
            ),
            orders,
        )
        db.session.execute(
            text(
                "INSERT INTO ledger_entries (merchant_id, order_id, kind, amount, currency,"
                " booked_on, source, actor, created_at) VALUES (1, :o, :k, :a, 'EUR', :d,"
                " 'bench', 'bench', CURRENT_TIMESTAMP)"
            ),
            [{"o": o, "k": k, "a": str(a), "d": d} for o, k, a, d in entries],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def median_ms(app, sql: str) -> float:
    from ledger.db import db

    times = []
    with app.app_context():
        for _ in range(7):
            start = time.perf_counter()
            db.session.execute(text(sql)).all()
            times.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mahnwerk-bench-"))
    os.environ.setdefault("MAHNWERK_INSTANCE", str(folder))
    from flask_migrate import upgrade

    from app import create_app

    config = {"REDIS_URL": "redis://127.0.0.1:1/0"}  # the queue is not used
    if not os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder / 'bench.db'}"
    app = create_app(config)
    with app.app_context():
        from ledger.db import db

        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        database = db.engine.dialect.name
    seed(app, args.orders)
    print(f"{database}, {args.orders} orders, median of 7 runs (ms):")
    for name, (cached, derived) in QUERIES.items():
        a, b = median_ms(app, cached), median_ms(app, derived)
        print(f"  {name}: cached {a:.2f}, from entries {b:.2f}, ratio {b / a:.1f}x")


if __name__ == "__main__":
    main()
