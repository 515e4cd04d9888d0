"""Webhooks to the shop: JSON POST, signed with HMAC-SHA256 of the body when a secret is set
(the request is built by ledger.webhooks, which the settings page's test uses too)."""

from __future__ import annotations

import urllib.error

from flask import current_app

from ledger.webhooks import TIMEOUT_SECONDS, build_request, post, private_address
from worker.channels import ChannelError


def send(message, merchant) -> None:
    if not current_app.config["WEBHOOK_PRIVATE_ADDRESSES"]:
        internal = private_address(message.recipient)
        if internal:
            raise ChannelError(f"refused: {internal} is an internal address", permanent=True)
    request = build_request(
        message.recipient,
        message.payload,
        message.purpose,
        str(message.id),
        merchant.webhook_secret,
    )
    try:
        with post(request, TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # A redirect (not followed: ledger.webhooks.post) and 4xx other than 408/429 will not
        # get better by retrying.
        permanent = 300 <= exc.code < 500 and exc.code not in (408, 429)
        raise ChannelError(f"HTTP {exc.code} from {message.recipient}", permanent) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"webhook to {message.recipient} failed: {exc}") from exc
