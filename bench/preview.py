"""Time the rules editor's dry run over many orders.

    python bench/preview.py [--orders 100000] [--paid 0.6]

Seeds N orders (as bench/run.py does: mixed payment methods over the last 90 days, a share of
them paid) with the card's rules active and their due dates computed, then times what the
portal does when a merchant presses Preview on a changed text: `ledger.preview.compare` (every
open order decided under the candidate, the due ones under the active rules), the 60-day
forecast, and one order's timeline. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run import RULES, TODAY, bench_app, seed  # noqa: E402

CANDIDATE = """\
vorkasse:
    after 7 days: remind
    after 14 days: cancel, release reservation and notify accounting
rechnung:
    after 7 days: remind level 1
    after 21 days: remind level 2 with fee 2.50
    after 35 days: remind level 3 with fee 5.00 and charge interest statutory
    after 49 days: hand over to collection and notify accounting
    at least 10 days between reminders
nachnahme after 30 days: mark overdue and notify team
"""


def timed(fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--paid", type=float, default=0.6, help="share of orders already paid")
    args = parser.parse_args()

    app, merchant_id = bench_app()
    from sqlalchemy import select

    from ledger import preview, rulesets
    from ledger.db import db
    from ledger.models import Merchant, Order

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        seed(merchant.id, args.orders, 90, random.Random(7), paid_share=args.paid)
        rulesets.activate(merchant, rulesets.save_version(merchant, RULES, "bench"), "bench")
        db.session.commit()
        comparison, compare_s = timed(lambda: preview.compare(merchant, CANDIDATE, TODAY), 5)
        with preview._bulk():
            loaded, load_s = timed(lambda: preview.open_orders(merchant), 3)
        forecast, forecast_s = timed(lambda: preview.forecast(merchant, CANDIDATE, TODAY))
        order = db.session.scalar(
            select(Order).where(Order.merchant_id == merchant.id, Order.status == "unpaid").limit(1)
        )
        _, timeline_s = timed(lambda: preview.timeline(order, CANDIDATE, TODAY), 5)

    engine = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    changes = ", ".join(
        f"{row.label.lower()} {len(row.active):,} → {len(row.candidate):,}"
        for row in comparison.rows
    )
    steps = sum(sum(day.values()) for day in forecast.candidate)
    print(f"| {engine} | {args.orders:,} orders, {len(loaded):,} open | what | seconds |")
    print("|---|---|---|---|")
    print(f"| | Preview (compare, median of 5) | {changes} | {compare_s:.2f} |")
    print(f"| | of which: reading the open orders (median of 3) | | {load_s:.2f} |")
    print(
        f"| | next 60 days (forecast, both versions) | {steps:,} candidate steps "
        f"| {forecast_s:.2f} |"
    )
    print(f"| | one order's timeline (median of 5) | | {timeline_s:.3f} |")


if __name__ == "__main__":
    main()
