"""The local SMTP sink: a real SMTP server (aiosmtpd) that stores every message as an .eml file.

Given the app, it also hands returned mail (addressed to a VERP address, bounces+…@…) to the
bounce handler (ledger/bounces.py), as a real inbound mailbox would."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class EmlStore:
    def __init__(self, folder: str | Path, app=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.app = app

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        envelope_to = ", ".join(envelope.rcpt_tos)
        content = (
            envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        )
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(f"X-Envelope-To: {envelope_to}\r\n".encode() + content)
        tmp.rename(self.folder / name)  # readers never see half a message
        if self.app is not None and any(
            to.lower().startswith("bounces+") for to in envelope.rcpt_tos
        ):
            self._bounce(content, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def _bounce(self, content: bytes, rcpt_tos: list[str]) -> None:
        from ledger import bounces
        from ledger.db import db

        with self.app.app_context():
            try:
                bounces.handle(content, envelope_to=rcpt_tos)
                db.session.commit()
            except Exception:  # the mail is stored; a bad bounce must not stop the sink
                db.session.rollback()
                self.app.logger.exception("bounce not handled")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_sink(
    folder: str | Path, host: str = "127.0.0.1", port: int | None = 8025, app=None
) -> Controller:
    """Start the sink in a thread; port None picks a free one (see `controller.port`); with the
    app, returned mail is handled (see the module's docstring)."""
    controller = Controller(EmlStore(folder, app), hostname=host, port=port or free_port(host))
    controller.start()
    return controller
