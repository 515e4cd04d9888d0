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


def _mahnwerk(*args: str) -> list[str]:
    return [sys.executable, "-c", "import app; app.main()", *args]


def serve(app, host: str, port: int) -> None:
    env = dict(os.environ)
    redis = sink = None
    if not app.config["REDIS_URL"]:
        redis = app.extensions["job_queue"].connection  # starts the embedded redis-server
        env["REDIS_URL"] = f"unix://{redis.socket_file}"
    if "MAIL_SERVER" not in os.environ:
        from worker.mailsink import start_sink

        sink = start_sink(app.config["MAILSINK_DIR"], port=app.config["MAIL_PORT"])
        env["MAIL_SERVER"], env["MAIL_PORT"] = "127.0.0.1", str(app.config["MAIL_PORT"])

    processes = {
        "worker": subprocess.Popen(_mahnwerk("worker"), env=env),
        "scheduler": subprocess.Popen(_mahnwerk("scheduler"), env=env),
        "portal": subprocess.Popen(
            _mahnwerk("run", "--host", host, "--port", str(port), "--no-reload"), env=env
        ),
    }
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
            for name, process in processes.items():
                if process.poll() is not None:
                    click.echo(f"{name} exited with {process.returncode}; stopping")
                    stopping = True
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
        if redis is not None:
            redis.shutdown()
