"""The outbox page: every email, letter and webhook the rules wrote, and how delivery went."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from ledger import audit, outbox, queueing
from ledger.db import db
from ledger.messages import html_for_viewing
from ledger.models import MESSAGE_KINDS, MESSAGE_STATES, Merchant, MessageState, OutboxMessage
from portal.auth import require_login
from portal.ui import (
    actor,
    capped_count,
    clean_url,
    count_label,
    page_number,
    paginate,
    partial_request,
    render_page,
)

bp = Blueprint("outbox", __name__)
bp.before_request(require_login)


@bp.get("/outbox")
def message_list():
    errors = []
    state = request.args.get("state", "").strip()
    if state and state not in MESSAGE_STATES:
        errors.append(_("Unknown state %(state)s; showing all states.", state=repr(state)))
        state = ""
    kind = request.args.get("kind", "").strip()
    if kind and kind not in MESSAGE_KINDS:
        errors.append(_("Unknown kind %(kind)s; showing all kinds.", kind=repr(kind)))
        kind = ""
    conditions = [OutboxMessage.merchant_id == current_user.merchant_id]
    if state:
        conditions.append(OutboxMessage.state == state)
    if kind:
        conditions.append(OutboxMessage.kind == kind)
    query = (
        select(OutboxMessage)
        .where(*conditions)
        # the texts are read when a message is opened (message_body), not for every row
        .options(
            selectinload(OutboxMessage.order), defer(OutboxMessage.body), defer(OutboxMessage.html)
        )
        .order_by(OutboxMessage.id.desc())
    )
    matching = select(OutboxMessage.id).where(*conditions)
    page = paginate(db.session, query, matching, page_number())
    with_html = set(
        db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_([message.id for message in page.rows]),
                OutboxMessage.kind == "email",
                OutboxMessage.html.is_not(None),
                OutboxMessage.html != "",
            )
        )
    )
    response = render_page(
        "outbox/list.html",
        "results",
        page=page,
        filters={"state": state, "kind": kind},
        errors=errors,
        states=MESSAGE_STATES,
        kinds=MESSAGE_KINDS,
        counts=_state_counts(current_user.merchant_id),
        with_html=with_html,
        no_sender=not db.session.get(Merchant, current_user.merchant_id).sender_email,
    )
    if partial_request():
        response.headers["HX-Push-Url"] = clean_url(
            "outbox.message_list", page.number, {"state": state, "kind": kind}
        )
    return response


def _state_counts(merchant_id: int) -> dict[str, str]:
    """Messages per state for the filter (states with none left out), each counted up to
    the lists' cap through the (merchant, state) index: an exact count over a million messages
    would cost every page view."""
    counts = {}
    for state in MESSAGE_STATES:
        found = select(OutboxMessage.id).where(
            OutboxMessage.merchant_id == merchant_id, OutboxMessage.state == state
        )
        count = capped_count(db.session, found)
        if count:
            counts[state] = count_label(count)
    return counts


def _own_message(message_id: int) -> OutboxMessage:
    """The message, if it is the user's merchant's; else 404."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.merchant_id != current_user.merchant_id:
        abort(404, _("There is no such message."))
    return message


@bp.get("/outbox/<int:message_id>")
def message_body(message_id: int):
    """One message's text (or a webhook's payload): opened from its row in the list."""
    return render_page("outbox/message.html", "body", message=_own_message(message_id))


# The HTML part is the merchant's customers' data in the merchant's wording: shown as a page
# of its own that may run nothing and load nothing (its images are data: URIs), and may not
# reach the portal's origin (sandbox).
VIEW_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@bp.get("/outbox/<int:message_id>/view")
def view(message_id: int):
    """An email's HTML part as the customer sees it, with its QR code and logo."""
    message = db.session.get(OutboxMessage, message_id)
    if (
        message is None
        or message.merchant_id != current_user.merchant_id
        or message.kind != "email"
        or not message.html
    ):
        abort(404, _("There is no such message."))
    merchant = db.session.get(Merchant, message.merchant_id)
    response = make_response(html_for_viewing(message, merchant))
    response.headers["Content-Security-Policy"] = VIEW_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/outbox/<int:message_id>/retry")
def retry(message_id: int):
    """Try a failed message again (its attempts start over)."""
    message = _own_message(message_id)
    if message.state != MessageState.FAILED:
        flash(_("Only a failed message can be retried."), "error")
        return redirect(url_for("outbox.message_list"))
    outbox.retry(message)
    audit.record(
        message.merchant_id, actor(), "message.retried", message.order_id, message=message.id
    )
    db.session.commit()
    queueing.deliver_soon(message.id)
    flash(_("Message %(message)s is queued again.", message=message.id), "notice")
    return redirect(url_for("outbox.message_list", state="pending"))
