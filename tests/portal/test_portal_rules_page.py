"""The rules page: a refused text shows its errors at their lines and changes nothing; a good
text becomes the active version. And the order page shows what the active rules plan next."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.portal.conftest import PORTAL_RULES, order_body

BAD_RULES = "vorkasse after 14 days: remind\nvorkasse after 21 dayz: cancel\n"


@pytest.fixture
def with_rules(portal, seed, merchant_info):
    seed(merchant_info["id"], [], rules=PORTAL_RULES)
    return portal


def versions(app) -> list[tuple[int, bool, str]]:
    from ledger.db import db
    from ledger.models import RulesetVersion

    with app.app_context():
        rows = db.session.execute(
            select(RulesetVersion.number, RulesetVersion.active, RulesetVersion.text).order_by(
                RulesetVersion.number
            )
        )
        return [tuple(row) for row in rows]


def test_shows_the_active_rules(with_rules):
    text = with_rules.get("/rules").get_data(as_text=True)
    assert "Active: version 1" in text and "by test" in text
    assert PORTAL_RULES.strip() in text


def test_refuses_a_bad_text_at_its_line_and_keeps_the_active_rules(app, with_rules):
    before = versions(app)
    response = with_rules.post("/rules", {"text": BAD_RULES.replace("\n", "\r\n"), "comment": "c"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="rules-editor"')
    assert "The rules were not saved" in text
    assert re.search(r'class="where">line 2:\d+<', text), text
    assert "vorkasse after 21 dayz: cancel</pre>" not in text  # caret line follows the source
    assert re.search(r"vorkasse after 21 dayz: cancel\n.*\^", text)
    assert re.search(r'listing-line error"><span class="lineno">2<', text)
    assert not re.search(r'listing-line error"><span class="lineno">1<', text)
    # The user's text stays in the textarea (with plain line breaks), the comment too.
    assert f">\n{BAD_RULES}</textarea>" in text
    assert 'value="c"' in text
    assert versions(app) == before
    assert "Active: version 1" in text


def test_refuses_an_empty_text(app, with_rules):
    response = with_rules.post("/rules", {"text": "  \n"})
    assert response.status_code == 422
    assert "The rules are empty" in response.get_data(as_text=True)
    assert len(versions(app)) == 1


def test_accepts_a_good_text_and_activates_it(app, with_rules, merchant_info):
    new_rules = "vorkasse after 10 days: remind; after 21 days: cancel and notify accounting\n"
    response = with_rules.post("/rules", {"text": new_rules, "comment": "shorter wait"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Version 2 is checked and active." in text
    assert "Active: version 2" in text and f"by {merchant_info['email']}" in text
    assert versions(app) == [(1, False, PORTAL_RULES), (2, True, new_rules)]
    from ledger.db import db
    from ledger.models import AuditEntry

    with app.app_context():
        activated = db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.action == "rules.activated", AuditEntry.actor == merchant_info["email"]
            )
        )
        assert activated == 1


def test_order_page_shows_the_next_step_and_its_date(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    seed(merchant_info["id"], [order_body("AK-1")], rules=PORTAL_RULES)
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    next_step = text[text.index('id="next-step"') :]
    next_step = next_step[: next_step.index("</section>")]
    assert "remind" in next_step
    assert '<strong class="next-date">2026-10-15</strong>' in next_step
    assert "vorkasse after 14 days" in next_step
    assert "2026-10-22" in text  # the cancellation step after it
    # The list shows the same date.
    assert "2026-10-15" in portal.get("/orders").get_data(as_text=True)


def test_order_page_shows_the_dunning_history_with_the_rule_line(app, portal, seed, merchant_info):
    from datetime import date

    from ledger import dunning
    from ledger.accounts import find_merchant

    seed(merchant_info["id"], [order_body("AK-1")], rules=PORTAL_RULES)
    with app.app_context():
        dunning.execute(find_merchant(merchant_info["name"]), date(2026, 10, 15))
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    history = text[text.index("Dunning history") : text.index("<h2>Payments")]
    assert "2026-10-15" in history and "remind" in history
    assert "vorkasse after 14 days: remind" in history
    assert "v1" in history
    assert "Zahlungserinnerung" in text  # the reminder email in the messages section


def test_the_rules_page_accepts_every_example_of_the_language(app, make_merchant):
    """The full language, as docs/rules.md teaches it, activates through the portal for a merchant
    with a team address and a shop webhook."""
    from tests.portal.conftest import Portal
    from tests.rules.test_docs import NAMED

    info = make_merchant(
        "Bergladen AG", team_email="team@bergladen.example", webhook_url="https://shop.example/h"
    )
    portal = Portal(app, info)
    for number, (name, text) in enumerate(sorted(NAMED.items()), start=1):
        response = portal.post("/rules", {"text": text, "comment": name})
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        assert f"Version {number} is checked and active." in response.get_data(as_text=True)
    assert [v[2] for v in versions(app)] == [text for _, text in sorted(NAMED.items())]
