"""A refused form's message is tied to its field (aria-invalid, aria-describedby), so a screen
reader reads it on the field; the other fields stay as they were."""

from __future__ import annotations

import re

from tests.portal.conftest import order_body


def _tag(html: str, pattern: str) -> str:
    match = re.search(rf"<input[^>]*{pattern}[^>]*>", html)
    assert match, pattern
    return match[0]


def test_a_dunning_block_without_reason_points_at_its_message(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    response = portal.post("/orders/AK-1/block", {"blocked": "on", "reason": " "})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="order-error"[^>]*>Please give a reason for the dunning block\.', html)
    reason = _tag(html, 'id="block-reason"')
    assert 'aria-invalid="true"' in reason and 'aria-describedby="order-error"' in reason
    assert "aria-invalid" not in _tag(html, 'id="cancel-reason"')
    assert "aria-invalid" not in _tag(
        portal.get("/orders/AK-1").get_data(as_text=True), 'id="block-reason"'
    )


def test_an_unconfirmed_erasure_points_at_its_message(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")])
    response = portal.post("/orders/AK-1/erase", {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    confirm = _tag(html, 'name="confirm"')
    assert 'aria-invalid="true"' in confirm and 'aria-describedby="order-error"' in confirm
    assert "aria-invalid" not in _tag(html, 'id="block-reason"')
