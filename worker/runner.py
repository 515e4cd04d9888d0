"""RQ workers that run every job inside a fresh app context of the app they were given."""

from __future__ import annotations

from rq import SimpleWorker, Worker

from ledger.db import db


class _AppContext:
    app = None

    def perform_job(self, job, queue, execution):
        with self.app.app_context():
            if self._is_horse:
                # A forked work horse must not reuse the parent's pooled connections.
                db.engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()


class AppWorker(_AppContext, Worker):
    """Forks a work horse per job, like RQ's default worker."""


class InlineWorker(_AppContext, SimpleWorker):
    """Runs jobs in this process: for `mahnwerk dunning run` and tests that drain the queue."""


def make_worker(app, cls=AppWorker):
    queue = app.extensions["job_queue"]
    worker = cls([queue.queue], connection=queue.connection)
    worker.app = app
    return worker
