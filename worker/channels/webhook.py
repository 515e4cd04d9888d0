"""Webhooks to the shop: JSON POST, signed with HMAC-SHA256 of the body when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from worker.channels import ChannelError

TIMEOUT_SECONDS = 10


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(message, merchant) -> None:
    body = json.dumps(message.payload, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mahnwerk-Webhook/1",
        "X-Mahnwerk-Event": message.purpose,
        "X-Mahnwerk-Delivery": str(message.id),
    }
    if merchant.webhook_secret:
        headers["X-Mahnwerk-Signature"] = signature(merchant.webhook_secret, body)
    request = urllib.request.Request(message.recipient, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # 4xx other than 408/429 will not get better by retrying.
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
        raise ChannelError(f"HTTP {exc.code} from {message.recipient}", permanent) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"webhook to {message.recipient} failed: {exc}") from exc
