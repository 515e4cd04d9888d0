"""The local SMTP sink: a real SMTP server (aiosmtpd) that stores every message as an .eml file."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class EmlStore:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        envelope_to = ", ".join(envelope.rcpt_tos)
        content = (
            envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        )
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(f"X-Envelope-To: {envelope_to}\r\n".encode() + content)
        tmp.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_sink(folder: str | Path, host: str = "127.0.0.1", port: int | None = 8025) -> Controller:
    """Start the sink in a thread; port None picks a free one (see `controller.port`)."""
    controller = Controller(EmlStore(folder), hostname=host, port=port or free_port(host))
    controller.start()
    return controller
