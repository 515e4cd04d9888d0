"""`mahnwerk serve`: one command that starts the whole product for a merchant's laptop.

It owns the embedded redis-server (when REDIS_URL is unset) and the mail sink (when MAIL_SERVER
is unset), and hands both to the worker, scheduler and portal processes through the environment,
so every process talks to the same real servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from ledger import demo

RESTART_PAUSE = 5.0  # seconds between two starts of the same child


def _mahnwerk(*args: str) -> list[str]:
    return [sys.executable, "-c", "import app; app.main()", *args]


THREADS = 4  # per portal process: a slow download or upload does not hold a whole process
GRACE = 8  # seconds gunicorn gives running requests on stop, inside the supervisor's 10


def web_workers() -> int:
    """How many portal processes: MAHNWERK_WEB_WORKERS, else gunicorn's rule of thumb (two per
    core and one), at most 8 (each holds its own app and database connections)."""
    configured = os.environ.get("MAHNWERK_WEB_WORKERS", "").strip()
    if not configured:
        return min(2 * (os.cpu_count() or 1) + 1, 8)
    if not configured.isdigit() or int(configured) < 1:
        raise click.ClickException(
            f"MAHNWERK_WEB_WORKERS must be a whole number of processes, 1 or more: {configured!r}"
        )
    return int(configured)


def portal_command(host: str, port: int, debug: bool) -> list[str]:
    """The portal under gunicorn, or Flask's development server with `debug` (the debugger,
    templates read again). gunicorn's threaded workers keep telling it they are alive while a
    request runs (an export of a big book, a statement import); one that hangs for two
    minutes is replaced."""
    if debug:
        return _mahnwerk("--debug", "run", "--host", host, "--port", str(port), "--no-reload")
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", bind,
        "--workers", str(web_workers()),
        "--worker-class", "gthread", "--threads", str(THREADS),
        "--timeout", "120", "--graceful-timeout", str(GRACE),
        "--access-logfile", "-",
        "app:create_app()",
    ]  # fmt: skip


def serve(app, host: str, port: int, debug: bool = False) -> None:
    portal = portal_command(host, port, debug)  # a bad setting stops here, before anything runs
    env = dict(os.environ)
    sink = None
    queue = app.extensions["job_queue"]
    if not app.config["REDIS_URL"]:
        env["REDIS_URL"] = queue.url_for_children  # starts the embedded redis-server
    if "MAIL_SERVER" not in os.environ:
        from worker.mailsink import start_sink

        sink = start_sink(app.config["MAILSINK_DIR"], port=app.config["MAIL_PORT"], app=app)
        env["MAIL_SERVER"], env["MAIL_PORT"] = "127.0.0.1", str(app.config["MAIL_PORT"])

    commands = {
        "worker": _mahnwerk("worker"),
        "scheduler": _mahnwerk("scheduler"),
        "portal": portal,
    }
    processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
    restarts = dict.fromkeys(commands, 0.0)  # when each was last started again
    url = f"http://{host}:{port}/"
    click.secho(f"\n  Mahnwerk runs at {url}", bold=True)
    click.echo(f"  Demo login: {demo.DEMO_EMAIL} / {demo.DEMO_PASSWORD}")
    click.echo(f"  Mail sink:  {app.config['MAILSINK_DIR'] if sink else env['MAIL_SERVER']}")
    click.echo("  Stop with Ctrl-C.\n")

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, process in list(processes.items()):
                if process.poll() is None:
                    continue
                # A child that died is started again (at most every few seconds).
                if time.monotonic() - restarts[name] < RESTART_PAUSE:
                    continue
                click.echo(f"{name} exited with {process.returncode}; starting it again")
                restarts[name] = time.monotonic()
                processes[name] = subprocess.Popen(commands[name], env=env)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if sink:
            sink.stop()
        queue.close()
