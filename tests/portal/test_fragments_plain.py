"""Every URL an htmx page asks a fragment of answers a plain request too (a bookmark, a
browser without JavaScript): a whole page or a redirect, never a 500."""

from __future__ import annotations

import pytest

from tests.portal.conftest import PORTAL_RULES as RULES
from tests.portal.conftest import order_body


@pytest.fixture
def with_rules(portal, seed, merchant_info):
    seed(merchant_info["id"], [order_body("AK-1")], rules=RULES)
    return portal


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/rules/check", {"text": RULES}),
        ("post", "/rules/preview", {"text": RULES}),
        ("post", "/rules/forecast", {"text": RULES}),
        ("post", "/rules/preview/orders/AK-1", {"text": RULES}),
        ("get", "/rules/versions/1/progress", None),
        ("get", "/runs/1/progress", None),
        ("get", "/rules/versions/1/activate", None),
    ],
)
def test_a_fragment_url_answers_a_plain_request(app, with_rules, seed, merchant_info, method,
                                                path, data):  # fmt: skip
    with_rules.post("/runs", {"date": "2026-10-15"}, htmx=False)
    response = with_rules.get(path) if method == "get" else with_rules.post(path, data, htmx=False)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code == 200:
        assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")
    else:
        assert response.status_code in (302, 303, 404, 422)
