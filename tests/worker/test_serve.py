"""`mahnwerk serve`: the portal under gunicorn with several processes (Flask's development
server only with --debug), and everything it started gone after SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

import click
import psutil
import pytest

from tests.worker.test_embedded_redis import ROOT, _env, _mahnwerk, _servers
from worker.mailsink import free_port


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.status, response.headers, response.read().decode()


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # ended meanwhile (a job's work horse)
        return ""


def test_serve_runs_the_portal_under_gunicorn_and_stops_everything(tmp_path):
    instance = tmp_path / "instance"
    assert _mahnwerk(instance, "db", "upgrade").returncode == 0
    port = free_port()
    env = _env(instance) | {
        "MAHNWERK_WEB_WORKERS": "2",
        "MAIL_SERVER": "127.0.0.1",  # no mail sink of its own: nothing here sends mail
        "MAIL_PORT": str(free_port()),
    }
    command = [sys.executable, "-c", "import app; app.main()", "serve", "--port", str(port)]
    serve = subprocess.Popen(command, env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    children: list[psutil.Process] = []
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = _get(f"http://127.0.0.1:{port}/login")
            except OSError:
                time.sleep(0.3)
        assert answer is not None, "the portal did not answer within a minute"
        status, headers, _page = answer
        assert status == 200 and "gunicorn" in headers["Server"]
        children = psutil.Process(serve.pid).children(recursive=True)
        gunicorns = [p for p in children if "gunicorn" in _command_line(p)]
        assert len(gunicorns) == 3  # the arbiter and MAHNWERK_WEB_WORKERS workers
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert alive == []
    assert _servers(instance) == []  # its embedded redis-server stopped too


def test_only_debug_runs_flasks_development_server(monkeypatch):
    from worker.supervisor import portal_command, web_workers

    assert "run" in portal_command("127.0.0.1", 5000, debug=True)
    assert "--debug" in portal_command("127.0.0.1", 5000, debug=True)
    production = portal_command("0.0.0.0", 8000, debug=False)
    assert production[1:3] == ["-m", "gunicorn"] and "0.0.0.0:8000" in production
    assert "[::1]:8000" in portal_command("::1", 8000, debug=False)
    monkeypatch.setenv("MAHNWERK_WEB_WORKERS", "3")
    assert web_workers() == 3
    for bad in ("abc", "4.0", "0", "-2"):
        monkeypatch.setenv("MAHNWERK_WEB_WORKERS", bad)
        with pytest.raises(click.ClickException, match="MAHNWERK_WEB_WORKERS"):
            web_workers()
    monkeypatch.delenv("MAHNWERK_WEB_WORKERS")
    assert 1 <= web_workers() <= 8


def test_portal_processes_starting_at_once_share_one_secret_key(tmp_path, monkeypatch):
    """gunicorn starts its workers together; on a new instance folder each would otherwise
    write a key of its own (sessions signed by one refused by the others)."""
    from concurrent.futures import ProcessPoolExecutor

    import app as composition

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with ProcessPoolExecutor(4) as pool:
        keys = list(pool.map(composition._secret_key, [tmp_path] * 16))
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left
