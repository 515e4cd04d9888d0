"""Roles that hold: every route of the portal is in the permission table (portal/access.py),
and a test client logged in with each role is refused (403, nothing changed) on every route
whose action the role lacks, and let through on the others."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ledger.permissions import PERMISSIONS, Action, Role, allowed
from portal.access import ROUTES, is_public
from tests.portal.conftest import PORTAL_RULES, Portal, order_body

PASSWORD = "correct horse battery"


def _routes(app):
    """(endpoint, method, a URL for it) for every route of the portal's pages."""
    found = []
    for rule in app.url_map.iter_rules():
        if is_public(rule.endpoint):
            continue
        url = re.sub(r"<int:[^<>]+>", "1", rule.rule)
        url = re.sub(r"<any\(([^,)]+)[^<>]*>", r"\1", url)  # the first of its choices
        url = re.sub(r"<[^<>]+>", "AK-1", url)  # an order number
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def _user(app, merchant_info, role: str) -> Portal:
    from ledger import accounts
    from ledger.db import db

    with app.app_context():
        merchant = accounts.find_merchant(merchant_info["name"])
        email = f"{role}.user@alpenkiste.example"
        accounts.create_user(email, merchant, PASSWORD, role)
        db.session.commit()
    return Portal(app, {"email": email, "password": PASSWORD})


def test_every_route_of_the_portal_has_an_action(app):
    missing = sorted({endpoint for endpoint, _m, _u in _routes(app)} - set(ROUTES))
    assert missing == []
    stale = sorted(set(ROUTES) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert stale == []


def test_the_table_gives_each_role_what_the_issue_says():
    owner, accountant, clerk, viewer = (PERMISSIONS[r] for r in Role)
    assert owner == frozenset(Action)
    assert viewer == {Action.VIEW}
    assert Action.MONEY not in clerk and Action.BANK not in clerk and Action.DUNNING in clerk
    assert {Action.MONEY, Action.BANK} <= accountant
    assert not {Action.RULES_ACTIVATE, Action.USERS, Action.SETTINGS} & accountant
    assert not allowed("staff", Action.VIEW) and not allowed(None, Action.VIEW)


def _audit_count(app) -> int:
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)))


@pytest.mark.parametrize("role", [Role.ACCOUNTANT, Role.CLERK, Role.VIEWER])
def test_each_route_refuses_the_roles_that_lack_its_action(app, merchant_info, role):
    portal = _user(app, merchant_info, role)
    before = _audit_count(app)
    checked = 0
    for endpoint, method, url in _routes(app):
        if allowed(role, ROUTES[endpoint]):
            continue
        response = portal.get(url) if method == "GET" else portal.post(url, {"reason": "x"})
        assert response.status_code == 403, (endpoint, method, url, response.status_code)
        assert "Not allowed" in response.get_data(as_text=True)
        checked += 1
    assert checked > 0
    assert _audit_count(app) == before  # nothing was done


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_past_the_check_where_it_may(app, merchant_info, role):
    """Allowed routes answer with anything but 403 (404 for the made-up order, a form error
    for the empty form, a page)."""
    portal = _user(app, merchant_info, role)
    for endpoint, method, url in _routes(app):
        if not allowed(role, ROUTES[endpoint]) or ROUTES[endpoint] is Action.ERASE:
            continue
        if method == "GET":
            assert portal.get(url).status_code != 403, (endpoint, url)


def test_a_viewer_sees_no_buttons_it_may_not_use(app, merchant_info, seed):
    seed(merchant_info["id"], [order_body("AK-7001")], PORTAL_RULES)
    viewer = _user(app, merchant_info, Role.VIEWER)
    page = viewer.get("/orders/AK-7001").get_data(as_text=True)
    assert "Mark paid" not in page and "Send reminder" not in page
    clerk = _user(app, merchant_info, Role.CLERK)
    page = clerk.get("/orders/AK-7001").get_data(as_text=True)
    assert "Mark paid" not in page


def test_user_create_takes_the_four_roles_and_refuses_others(app, merchant_info):
    runner = app.test_cli_runner()
    for role in Role:
        result = runner.invoke(
            args=["user", "create", f"{role}.cli@alpenkiste.example", "--merchant",
                  merchant_info["name"], "--role", role.value, "--password-stdin"],
            input=f"{PASSWORD}\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    refused = runner.invoke(
        args=["user", "create", "x@alpenkiste.example", "--merchant", merchant_info["name"],
              "--role", "staff", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert refused.exit_code != 0 and "staff" in refused.output
