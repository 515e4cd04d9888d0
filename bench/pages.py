"""Load the portal's pages through the real server: p50/p95 and size per page.

    DATABASE_URL=… python bench/pages.py --merchant-id 2 [--requests 200] [--concurrency 4]

Starts gunicorn as `mahnwerk serve` does (threaded workers) on a free loopback port against the
book in DATABASE_URL (or MAHNWERK_INSTANCE's SQLite), gives the merchant a bench login, logs in,
and sends each page `--requests` times from `--concurrency` threads (keep-alive sessions).
Beside the pages it loads a floor: the login page, the smallest page the same server
renders (a template, no query of the book), so each page's figure reads as a ratio to it.
Prints a Markdown table for docs/performance.md. Needs a book: bench/activation.py or
bench/bank.py --keep leave one.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EMAIL = "bench-pages@bench.example"
PASSWORD = "lasttest quer durchs portal 2026"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_login(merchant_id: int) -> str:
    """A user for the merchant (made once); returns an order number of its book."""
    from sqlalchemy import select

    from app import create_app
    from ledger import accounts
    from ledger.db import db
    from ledger.models import Merchant, Order, User

    app = create_app()
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        if merchant is None:
            sys.exit(f"no merchant {merchant_id} in this database")
        if db.session.scalar(select(User).where(User.email == EMAIL)) is None:
            accounts.create_user(EMAIL, merchant, PASSWORD)
            db.session.commit()
        return db.session.scalar(
            select(Order.number).where(Order.merchant_id == merchant_id).order_by(Order.id.desc())
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--worker-class", "gthread", "--threads", "4", "--log-level", "warning",
        "app:create_app()",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
            return server
        except requests.RequestException:
            time.sleep(0.3)
    server.kill()
    sys.exit("the server did not start")


def logged_in(base: str) -> requests.Session:
    session = requests.Session()
    token = TOKEN.search(session.get(f"{base}/login").text)[1]
    reply = session.post(
        f"{base}/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    if reply.status_code != 302:
        sys.exit(f"login refused: {reply.status_code}")
    return session


def load(sessions: list[requests.Session], url: str, count: int) -> tuple[list[float], int]:
    """`count` GETs of `url` spread over the sessions (one thread each); ms per request."""

    def one(n: int) -> tuple[float, int]:
        start = time.perf_counter()
        reply = sessions[n % len(sessions)].get(url, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if reply.status_code != 200:
            raise RuntimeError(f"{url}: {reply.status_code}")
        return elapsed, len(reply.content)

    with ThreadPoolExecutor(len(sessions)) as pool:
        results = list(pool.map(one, range(count)))
    return [ms for ms, _size in results], results[-1][1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchant-id", type=int, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    number = bench_login(args.merchant_id)
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        sessions = [logged_in(base) for _ in range(args.concurrency)]
        pages = {
            "floor: the login page (no session, no book)": "/login",
            "orders, page 1": "/orders",
            "orders, page 200 (the last offered)": "/orders?page=200",
            "orders, search by name": "/orders?q=Kunde%204711",
            "orders, search by e-mail": "/orders?q=kunde99999%40",
            "order detail": f"/orders/{number}",
            "outbox": "/outbox",
            "runs": "/runs",
            "payments inbox": "/bank",
            "audit": "/audit",
        }
        rows = []
        for name, path in pages.items():
            floor_page = path == "/login"
            client = [requests.Session() for _ in sessions] if floor_page else sessions
            load(client, base + path, args.concurrency)  # warm
            times, size = load(client, base + path, args.requests)
            rows.append((name, percentile(times, 0.5), percentile(times, 0.95), size))
    finally:
        server.terminate()
        server.wait(30)

    engine = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    floor_p50 = rows[0][1]
    print(f"| {engine}, {args.requests} requests, {args.concurrency} at a time | p50 ms | "
          "p95 ms | p50 / floor | KB |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, p50, p95, size in rows:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / floor_p50:.1f}× | {size / 1024:.1f} |")


if __name__ == "__main__":
    main()
