"""The rules page: a refused text shows its errors at their lines and changes nothing; a good
text becomes the active version. And the order page shows what the active rules plan next."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

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


def save(portal, text: str, base: int, comment: str = ""):
    """The editor's Save button: a plain form post (with the page's CSRF token)."""
    return portal.post("/rules", {"text": text, "base": base, "comment": comment}, htmx=False)


def test_shows_the_active_rules_in_the_editor(with_rules):
    text = with_rules.get("/rules").get_data(as_text=True)
    assert "Active: <a" in text and "version 1</a>" in text and "by test" in text
    assert f">\n{PORTAL_RULES}</textarea>" in text
    assert '<input type="hidden" name="base" value="1">' in text
    assert "No errors" in text
    assert 'hx-trigger="input changed delay:300ms"' in text  # the live check


def test_live_check_puts_each_finding_under_its_line(with_rules):
    response = with_rules.post("/rules/check", {"text": BAD_RULES.replace("\n", "\r\n")})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="check"')
    assert "1 error" in fragment
    # Line 2 is marked, and its finding (message and caret) is the very next item.
    line2 = re.search(
        r'<li class="listing-line error" data-line="2">.*?</li>\s*(<li[^>]*>)', fragment, re.S
    )
    assert line2 and 'class="finding error" data-line="2"' in line2.group(1)
    assert '<li class="listing-line " data-line="1">' in fragment
    finding = fragment[line2.end() :]
    assert "dayz" in finding[: finding.index("</li>")]
    assert '<span class="tok-method">vorkasse</span>' in fragment  # syntax colouring


def test_live_check_refuses_a_text_too_long_to_check(with_rules):
    response = with_rules.post("/rules/check", {"text": "# x\n" * 30_000})
    assert response.status_code == 413
    assert "too long to check (at most 100,000 characters)" in response.get_data(as_text=True)


def test_saving_stores_a_version_and_leaves_the_active_rules(app, with_rules, merchant_info):
    new_rules = "vorkasse after 10 days: remind; after 21 days: cancel and notify accounting\n"
    response = save(with_rules, new_rules, 1, "shorter wait")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/rules/versions/2?saved=1")
    assert versions(app) == [(1, True, PORTAL_RULES), (2, False, new_rules)]
    page = with_rules.get("/rules/versions/2?saved=1").get_data(as_text=True)
    assert "Saved as version 2." in page and "It is not active yet" in page
    assert 'Edited from</span> <a href="/rules/versions/1">version 1</a>' in page
    assert '<tr class="diff-added">' in page and "vorkasse after 10 days" in page


def test_a_draft_with_errors_is_kept_but_cannot_be_activated(app, with_rules):
    assert save(with_rules, BAD_RULES, 1).status_code == 303
    assert versions(app)[-1] == (2, False, BAD_RULES)
    page = with_rules.get("/rules/versions/2").get_data(as_text=True)
    assert re.search(
        r'<button class="button primary" type="button" disabled\s+title="A version with errors',
        page,
    )
    refused = with_rules.post("/rules/versions/2/activate", htmx=False)
    assert refused.status_code == 422
    assert "was not activated" in refused.get_data(as_text=True)
    assert [active for _, active, _ in versions(app)] == [True, False]


def test_refuses_an_empty_text(app, with_rules):
    response = save(with_rules, "  \n", 1)
    assert response.status_code == 422
    assert "The rules are empty" in response.get_data(as_text=True)
    assert len(versions(app)) == 1


def test_two_editors_cannot_overwrite_each_other_and_both_texts_are_kept(
    app, with_rules, merchant_info
):
    """Anna and Ben both open the editor on version 1. Anna saves first; Ben's save is told what
    changed, keeps his text in the editor, and his next save lands on top of Anna's."""
    from ledger import accounts
    from ledger.db import db
    from ledger.models import Merchant
    from tests.portal.conftest import Portal

    with app.app_context():
        merchant = db.session.get(Merchant, merchant_info["id"])
        accounts.create_user("ben@alpenkiste.example", merchant, "ben's long password")
        db.session.commit()
    anna = with_rules
    ben = Portal(app, {"email": "ben@alpenkiste.example", "password": "ben's long password"})
    base_seen_by = {
        who: re.search(r'name="base" value="(\d+)"', p.get("/rules").get_data(as_text=True))[1]
        for who, p in (("anna", anna), ("ben", ben))
    }
    assert base_seen_by == {"anna": "1", "ben": "1"}

    anna_text = PORTAL_RULES.replace("14 days", "10 days")
    ben_text = PORTAL_RULES + "rechnung after 30 days: mark overdue\n"
    assert save(anna, anna_text, 1).status_code == 303
    conflict = save(ben, ben_text, 1, "invoices too")
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "Someone saved the rules while you were editing" in page
    assert f"{merchant_info['email']} saved" in page
    assert '<tr class="diff-removed">' in page and "after 10 days" in page  # Anna's change
    assert f">\n{ben_text}</textarea>" in page and 'value="invoices too"' in page
    assert '<input type="hidden" name="base" value="2">' in page
    assert [t for _, _, t in versions(app)] == [PORTAL_RULES, anna_text]

    assert save(ben, ben_text, 2, "invoices too").status_code == 303
    assert [t for _, _, t in versions(app)] == [PORTAL_RULES, anna_text, ben_text]


def test_preview_counts_both_versions_side_by_side(app, with_rules, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-15"
    seed(
        merchant_info["id"], [order_body("AK-1"), order_body("AK-2", ordered_on=date(2026, 10, 5))]
    )
    candidate = "vorkasse after 7 days: remind; after 14 days: cancel\n"
    response = with_rules.post("/rules/preview", {"text": candidate})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="preview"')
    rows = {
        kind: (int(a), int(b))
        for kind, a, b in re.findall(
            r'<tr data-kind="(\w+)">\s*<td>[^<]*</td>\s*<td class="num">(\d+)</td>\s*'
            r'<td class="num">(\d+)</td>',
            fragment,
        )
    }
    # Active (card): AK-1 reminded on day 14. Candidate: AK-1 and AK-2 reminded (escalating in
    # order, AK-1's cancellation waits for its reminder).
    assert rows == {"remind": (1, 2)}
    assert "<strong>+1</strong> reminders" in fragment
    assert 'hx-post="/rules/preview/orders/AK-1"' in fragment

    timeline = with_rules.post("/rules/preview/orders/AK-1", {"text": candidate})
    text = timeline.get_data(as_text=True)
    assert timeline.status_code == 200 and text.lstrip().startswith('<section id="timeline"')
    assert "Active rules (version 1)" in text and "These rules" in text

    forecast = with_rules.post("/rules/forecast", {"text": candidate}).get_data(as_text=True)
    assert forecast.lstrip().startswith('<section id="forecast"') and "<svg" in forecast
    assert forecast.count('<g class="day"') == 60


def test_preview_of_a_text_with_errors_says_to_fix_them(with_rules):
    response = with_rules.post("/rules/preview", {"text": BAD_RULES})
    assert response.status_code == 422
    assert "Fix the 1 error first" in response.get_data(as_text=True)


def test_activation_is_confirmed_and_recomputes_in_the_background(
    app, with_rules, seed, merchant_info
):
    from ledger.db import db
    from ledger.models import Order
    from tests.portal.test_portal_runs_outbox import drain

    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    seed(merchant_info["id"], [order_body("AK-1")])
    save(with_rules, "vorkasse after 3 days: remind\n", 1)
    confirm = with_rules.get("/rules/versions/2/activate").get_data(as_text=True)
    assert "Activate version 2?" in confirm and "What changes today" in confirm
    assert "<strong>+1</strong> reminders" in confirm
    queue = app.extensions["job_queue"].queue
    response = with_rules.post("/rules/versions/2/activate", htmx=False)
    assert response.status_code == 303
    assert [active for _, active, _ in versions(app)] == [False, True]
    assert [(j.func_name, j.args) for j in queue.get_jobs()][-1][
        0
    ] == "worker.jobs.recompute_next_due"
    pending = with_rules.get("/rules/versions/2/progress", htmx=True).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in pending and "0 of 1 done" in pending

    drain(app)

    done = with_rules.get("/rules/versions/2/progress", htmx=True).get_data(as_text=True)
    assert "hx-trigger" not in done and "1 open order follow" in done
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == "AK-1"))
        assert order.next_due_on == date(2026, 10, 4)


def test_templates_fill_the_editor(with_rules):
    text = with_rules.get("/rules?template=invoice").get_data(as_text=True)
    assert (
        "remind level 2 with fee 2.50" in text[text.index("<textarea") : text.index("</textarea>")]
    )
    assert "Invoice: three dunning levels with fees" in text
    assert with_rules.get("/rules?template=nope").status_code == 404


def test_versions_can_be_compared_and_edited_from(with_rules):
    save(with_rules, PORTAL_RULES.replace("21 days", "28 days"), 1)
    page = with_rules.get("/rules/versions/1?against=2").get_data(as_text=True)
    assert "Changes from version 2 to version 1" in page
    assert re.search(r'<tr class="diff-removed">.*28 days', page, re.S)
    editor = with_rules.get("/rules?from=2").get_data(as_text=True)
    assert "after 28 days" in editor[editor.index("<textarea") :]
    assert with_rules.get("/rules/versions/99").status_code == 404


def test_another_merchant_s_versions_are_not_found(app, with_rules, make_merchant):
    from tests.portal.conftest import Portal

    other = Portal(app, make_merchant("Bergladen AG"))
    assert other.get("/rules/versions/1").status_code == 404
    assert other.post("/rules/versions/1/activate", htmx=False).status_code == 404


def test_order_page_shows_the_next_step_and_its_date(app, portal, seed, merchant_info):
    app.config["MAHNWERK_TODAY"] = "2026-10-10"
    seed(merchant_info["id"], [order_body("AK-1")], rules=PORTAL_RULES)
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    next_step = text[text.index('id="next-step"') :]
    next_step = next_step[: next_step.index("</section>")]
    assert "remind" in next_step
    assert '<strong class="next-date">Oct 15, 2026</strong>' in next_step
    assert "vorkasse after 14 days" in next_step
    assert "Oct 22, 2026" in text  # the cancellation step after it
    # The list shows the same date.
    assert "Oct 15, 2026" in portal.get("/orders").get_data(as_text=True)


def test_order_page_shows_the_dunning_history_with_the_rule_line(app, portal, seed, merchant_info):
    from datetime import date

    from ledger import dunning
    from ledger.accounts import find_merchant

    seed(merchant_info["id"], [order_body("AK-1")], rules=PORTAL_RULES)
    with app.app_context():
        dunning.execute(find_merchant(merchant_info["name"]), date(2026, 10, 15))
    text = portal.get("/orders/AK-1").get_data(as_text=True)
    history = text[text.index("Dunning history") : text.index("<h2>Money ledger")]
    assert "Oct 15, 2026" in history and "remind" in history
    assert "vorkasse after 14 days: remind" in history
    assert '<a href="/rules/versions/1">v1</a>' in history
    assert "Zahlungserinnerung" in text  # the reminder email in the messages section


def test_the_rules_page_accepts_every_example_of_the_language(app, make_merchant):
    """The full language, as docs/rules.md teaches it, saves and activates through the portal for
    a merchant with a team address and a shop webhook."""
    from tests.portal.conftest import Portal
    from tests.rules.test_docs import NAMED

    # A day whose German and Austrian base rates rules/base_rates.py knows (statutory interest).
    app.config["MAHNWERK_TODAY"] = "2025-12-01"
    info = make_merchant(
        "Bergladen AG", team_email="team@bergladen.example", webhook_url="https://shop.example/h"
    )
    portal = Portal(app, info)
    for number, (name, text) in enumerate(sorted(NAMED.items()), start=1):
        response = save(portal, text, number - 1, name)
        assert response.status_code == 303, (name, response.get_data(as_text=True))
        activated = portal.post(f"/rules/versions/{number}/activate", htmx=False)
        assert activated.status_code == 303, (name, activated.get_data(as_text=True))
    assert [v[2] for v in versions(app)] == [text for _, text in sorted(NAMED.items())]
    assert versions(app)[-1][1] is True


def test_a_merchant_without_rules_previews_its_first_ones(app, make_merchant, seed):
    from tests.portal.conftest import Portal

    app.config["MAHNWERK_TODAY"] = "2026-10-05"
    info = make_merchant("Neu GmbH")
    seed(info["id"], [order_body("N-1")])
    portal = Portal(app, info)
    assert "No rules are active yet" in portal.get("/rules").get_data(as_text=True)
    first = "vorkasse after 1 days: remind\n"
    preview = portal.post("/rules/preview", {"text": first}).get_data(as_text=True)
    assert "Active (none)" in preview
    assert re.search(r'<tr data-kind="remind">\s*<td>Reminders</td>\s*<td class="num">0</td>\s*'
                     r'<td class="num">1</td>', preview)  # fmt: skip
    for path in ("/rules/forecast", "/rules/preview/orders/N-1"):
        assert portal.post(path, {"text": first}).status_code == 200
    empty = portal.post("/rules/preview", {"text": ""}).get_data(as_text=True)
    assert "Neither the active rules nor these rules do anything today." in empty
