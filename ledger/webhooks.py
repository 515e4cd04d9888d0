"""Webhooks to the shop: the signed JSON request, in one place for the worker's deliveries
(worker/channels/webhook.py) and the settings page's test, which sends one event at once and
reports what the shop answered."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ledger.refusals import N_

TIMEOUT_SECONDS = 10
TEST_TIMEOUT_SECONDS = 5
BODY_PREVIEW = 400  # characters of the shop's answer shown after a test
SIGNATURE_HEADER = "X-Mahnwerk-Signature"


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the body with the merchant's secret, as the shop verifies it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def private_address(url: str) -> str | None:
    """The loopback, private, link-local or otherwise internal address `url`'s host resolves
    to, if any, else None (also None when the host does not resolve: the request then fails on
    its own). An installation serving several merchants refuses these
    (MAHNWERK_WEBHOOK_PRIVATE_ADDRESSES=0), so that no merchant's webhook, and above all no
    test that shows the answer, can read the server's internal services. A name that resolves
    differently between this check and the connection is not caught."""
    host = urlsplit(url).hostname or ""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return str(address)
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook is one POST to the URL the merchant set: a redirect is the shop's answer, not
    a new address to go to (urllib would follow it as a GET, and past the internal-address
    check)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises the 3xx as an HTTPError: the answer


_opener = urllib.request.build_opener(_NoRedirects)


def post(request: urllib.request.Request, timeout: float):
    """Send a webhook request without following redirects (the worker and the test)."""
    return _opener.open(request, timeout=timeout)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def build_request(
    url: str, payload: dict, event: str, delivery: str, secret: str | None
) -> urllib.request.Request:
    """The POST to the shop: the payload as JSON, signed when the merchant has a secret."""
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mahnwerk-Webhook/1",
        "X-Mahnwerk-Event": event,
        "X-Mahnwerk-Delivery": delivery,
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


@dataclass(frozen=True)
class TestResult:
    """What the shop answered to a test event: its status and the start of its body, or why
    there was no answer (`error`: an English msgid, `params` fill it)."""

    seconds: float
    status: int | None = None
    body: str = ""
    error: str | None = None
    params: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send_test(
    merchant, timeout: float = TEST_TIMEOUT_SECONDS, private_addresses: bool = True
) -> TestResult:
    """POST a signed `{"event": "test", …}` to the merchant's webhook URL now and wait for the
    answer (at most `timeout` seconds). Changes nothing. With `private_addresses` False, a URL
    whose host is internal (`private_address`) is not contacted."""
    if not private_addresses and (internal := private_address(merchant.webhook_url)):
        error = N_("refused: %(address)s is an internal address of this installation")
        return TestResult(0.0, error=error, params={"address": internal})
    payload = {
        "event": "test",
        "merchant": merchant.name,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    request = build_request(
        merchant.webhook_url,
        payload,
        "test",
        "test-" + secrets.token_hex(6),
        merchant.webhook_secret,
    )
    started = time.monotonic()

    def took() -> float:
        return round(time.monotonic() - started, 3)

    try:
        with post(request, timeout) as response:
            return TestResult(took(), response.status, _preview(response))
    except urllib.error.HTTPError as exc:  # the shop answered, with an error status
        return TestResult(took(), exc.code, _preview(exc))
    except urllib.error.URLError as exc:
        return _failed(took(), exc.reason, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:  # a reset, not HTTP
        return _failed(took(), exc, timeout)


def _preview(response) -> str:
    return response.read(BODY_PREVIEW * 4).decode("utf-8", "replace")[:BODY_PREVIEW]


def _failed(seconds: float, reason, timeout: float) -> TestResult:
    """Why there was no answer, in words the owner can act on."""
    if isinstance(reason, ConnectionRefusedError):
        error, params = N_("connection refused: nothing listens at that address and port"), {}
    elif isinstance(reason, TimeoutError | socket.timeout):
        error, params = N_("no answer within %(seconds)s seconds"), {"seconds": timeout}
    elif isinstance(reason, ssl.SSLCertVerificationError):
        error = N_("TLS: the shop's certificate was not accepted (%(detail)s)")
        params = {"detail": reason.verify_message}
    elif isinstance(reason, ssl.SSLError):
        error, params = N_("TLS failed: %(detail)s"), {"detail": reason.reason or str(reason)}
    elif isinstance(reason, socket.gaierror):
        error, params = N_("the host name is not known"), {}
    else:
        error, params = N_("the connection failed: %(detail)s"), {"detail": str(reason)}
    return TestResult(seconds, error=error, params=params)
