"""The outbox's View of an email's HTML part (as the customer sees it, in a sandbox), the
warning when the merchant has no sender address, and the settings' PDF attachment checkbox."""

from __future__ import annotations

import base64
import re
import subprocess

from sqlalchemy import select

from tests.portal.conftest import Portal, order_body


def _reminder_id(app) -> int:
    from ledger.db import db
    from ledger.models import OutboxMessage

    with app.app_context():
        return db.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.purpose == "reminder")
        )


def test_view_shows_the_html_part_with_its_qr_code(app, portal, seed, merchant_info, tmp_path):
    seed(merchant_info["id"], [order_body("AK-1", name="Anna <b>Schmidt</b>")])
    portal.post("/orders/AK-1/remind")
    message_id = _reminder_id(app)
    listing = portal.get("/outbox").get_data(as_text=True)
    assert f'href="/outbox/{message_id}/view"' in listing

    response = portal.get(f"/outbox/{message_id}/view")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "script-src" not in policy  # nothing runs
    html = response.get_data(as_text=True)
    assert "Anna &lt;b&gt;Schmidt&lt;/b&gt;" in html and "<b>Schmidt" not in html
    assert "cid:" not in html
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html)[1])
    (tmp_path / "qr.png").write_bytes(png)
    scanned = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "qr.png")], capture_output=True, text=True
    )
    assert scanned.stdout.startswith("BCD\n")


def test_view_is_for_the_merchants_own_email_messages(app, portal, seed, merchant_info):
    from ledger import accounts, outbox
    from ledger.db import db

    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/remind")
    message_id = _reminder_id(app)
    with app.app_context():
        other = accounts.create_merchant(
            "Bergladen AG", "b@example.com", sender_email="s@b.example"
        )
        accounts.create_user("owner@bergladen.example", other, "correct horse battery")
        digest = outbox.add(merchant_info["id"], "email", "accounting_digest", "x@example.com")
        db.session.commit()
        digest_id = digest.id
    stranger = Portal(
        app, {"email": "owner@bergladen.example", "password": "correct horse battery"}
    )
    assert stranger.get(f"/outbox/{message_id}/view").status_code == 404
    assert portal.get(f"/outbox/{digest_id}/view").status_code == 404  # no HTML part
    assert portal.get("/outbox/999999/view").status_code == 404


def test_the_list_opens_a_messages_text_only_when_asked(app, portal, seed, merchant_info):
    """The list carries no message texts (a page of long reminders weighed half a megabyte):
    each row's text is its own small page, which the row's details load when opened."""
    from ledger import accounts, outbox
    from ledger.db import db

    seed(merchant_info["id"], [order_body("AK-1")])
    portal.post("/orders/AK-1/remind")
    message_id = _reminder_id(app)
    listing = portal.get("/outbox").get_data(as_text=True)
    assert f'hx-get="/outbox/{message_id}"' in listing and 'hx-trigger="toggle once"' in listing
    with app.app_context():
        from ledger.models import OutboxMessage

        body = db.session.get(OutboxMessage, message_id).body
        other = accounts.create_merchant("Bergladen AG", "b@example.com")
        foreign = outbox.add(other.id, "email", "accounting_digest", "x@example.com")
        db.session.commit()
        foreign_id = foreign.id
    first_line = body.splitlines()[0]
    assert first_line and first_line not in listing

    block = portal.get(f"/outbox/{message_id}", htmx=True).get_data(as_text=True)
    assert block.lstrip().startswith('<pre class="message-body">') and first_line in block
    page = portal.get(f"/outbox/{message_id}").get_data(as_text=True)
    assert "<nav" in page and "Back to the outbox" in page  # without htmx: a page of its own
    assert portal.get(f"/outbox/{foreign_id}").status_code == 404
    assert portal.get("/outbox/999999").status_code == 404


def test_the_state_counts_stop_at_the_cap(app, portal, merchant_info, monkeypatch):
    from ledger import outbox
    from ledger.db import db
    from portal import ui

    with app.app_context():
        for n in range(4):
            outbox.add(merchant_info["id"], "email", "accounting_digest", f"x{n}@example.com")
        db.session.commit()
    assert "pending (4)" in portal.get("/outbox").get_data(as_text=True)
    monkeypatch.setattr(ui, "COUNT_CAP", 2)
    assert "pending (more than 2)" in portal.get("/outbox").get_data(as_text=True)


def test_the_outbox_warns_when_no_sender_address_is_set(app, portal, merchant_info):
    from ledger.db import db
    from ledger.models import Merchant

    assert "No mail goes out" not in portal.get("/outbox").get_data(as_text=True)
    with app.app_context():
        db.session.get(Merchant, merchant_info["id"]).sender_email = None
        db.session.commit()
    text = portal.get("/outbox").get_data(as_text=True)
    assert "No mail goes out: your sender address is not set." in text
    assert 'href="/settings#settings-mail"' in text


def test_the_pdf_attachment_is_a_setting_of_the_mail_section(app, portal, merchant_info):
    from ledger.db import db
    from ledger.models import AuditEntry, Merchant

    form = {
        "sender_email": "shop@alpenkiste.example",
        "accounting_email": "buchhaltung@example.com",
        "attach_reminder_pdf": "on",
    }
    response = portal.post("/settings/mail", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Attach the reminder as PDF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Merchant, merchant_info["id"]).attach_reminder_pdf is True
        details = db.session.scalars(select(AuditEntry.detail)).all()
        assert any(d.get("attach_reminder_pdf") == "no → yes" for d in details)
    del form["attach_reminder_pdf"]  # an unticked box is not sent
    portal.post("/settings/mail", form)
    with app.app_context():
        assert db.session.get(Merchant, merchant_info["id"]).attach_reminder_pdf is False
