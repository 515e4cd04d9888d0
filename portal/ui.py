"""The portal's pages: blueprints, shared helpers, Jinja filters and the error pages."""

from __future__ import annotations

from math import ceil

from flask import Flask, abort, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from ledger import lifecycle
from ledger.models import Merchant
from portal.i18n import number as format_count

PAGE_SIZE = 50


def partial_request() -> bool:
    """True for an htmx request that wants a fragment. History restores target <body> and
    get the whole page (htmx 4 sends HX-Request-Type: full for those)."""
    if not request.htmx or request.htmx.history_restore_request:
        return False
    return request.headers.get("HX-Request-Type", "partial") == "partial"


def render_page(template: str, block: str, status: int = 200, **context):
    """One template per page; htmx requests get just the named block of it."""
    if partial_request():
        return make_response(render_block(template, block, **context), status)
    return make_response(render_template(template, **context), status)


def clean_url(endpoint: str, page: int, filters: dict) -> str:
    """The list's URL with only the filters in use, for the address bar and the pager."""
    args = {key: value for key, value in filters.items() if value}
    if page > 1:
        args["page"] = page
    return url_for(endpoint, **args)


def merchant() -> Merchant:
    return current_user.merchant


def actor() -> str:
    return f"user:{current_user.email}"


def page_number() -> int:
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return max(number, 1)


# A list counts the rows its filter finds up to this many: an exact COUNT over a book of a
# million orders costs a second on every page. Beyond it the list says "more than 10,000" and
# offers its first pages; a narrower filter or a search finds the rest.
COUNT_CAP = 10_000


def count_label(count: int, capped: bool = False) -> str:
    """A count of rows as the user reads it: "1.234"; "mehr als 10.000" when counting stopped
    at `count` (`capped`, or a count past COUNT_CAP)."""
    if capped or count > COUNT_CAP:
        return _("more than %(count)s", count=format_count(min(count, COUNT_CAP)))
    return format_count(count)


class Page:
    """One page of a query's rows, with what the pager needs. `capped`: the filter finds more
    than `total` rows (COUNT_CAP), and the pages end there."""

    def __init__(
        self, rows: list, total: int, number: int, size: int = PAGE_SIZE, capped: bool = False
    ):
        self.rows = rows
        self.total = total
        self.number = number
        self.size = size
        self.capped = capped
        self.pages = max(ceil(total / size), 1)

    @property
    def first_row(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return min(self.number * self.size, self.total)

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def total_label(self) -> str:
        """The count as the user reads it: "1.234", or "mehr als 10.000" when capped."""
        return count_label(self.total, self.capped)

    @property
    def pages_label(self) -> str:
        if self.capped:
            return _("more than %(count)s", count=format_count(self.pages))
        return format_count(self.pages)


def capped_count(session, matching) -> int:
    """How many rows the SELECT `matching` finds, counting at most COUNT_CAP + 1 of them."""
    return session.scalar(
        select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery())
    )


def paginate(session, query, matching, number: int, size: int = PAGE_SIZE) -> Page:
    """The page `number` of `query`'s rows. `matching`: a SELECT of the ids the filter finds
    (what is counted, up to COUNT_CAP + 1 of them)."""
    found = capped_count(session, matching)
    capped = found > COUNT_CAP
    total = min(found, COUNT_CAP)
    pages = max(ceil(total / size), 1)
    number = min(number, pages)
    offset = (number - 1) * size
    rows = list(session.scalars(query.limit(min(size, total - offset)).offset(offset)))
    return Page(rows, total, number, size, capped)


def _non_empty(values: dict) -> dict:
    """Filter values worth keeping in a URL (pager links)."""
    return {key: value for key, value in values.items() if value}


# What the `label` filter shows for a stored value: order statuses, payment methods, money
# ledger entries, bank transaction states, outbox messages, dunning actions, run states and
# triggers, audit actions and details (the bank matcher's reasons: portal/reasons.py). The English
# labels are the stored values with spaces for underscores; a value missing here is shown that
# way too. tests/portal/test_labels.py holds it complete for the enums it translates.
LABELS = {
    # order statuses (ledger.models.Status)
    "unpaid": _l("unpaid"),
    "partially_paid": _l("partially paid"),
    "paid": _l("paid"),
    "cancelled": _l("cancelled"),
    "overdue": _l("overdue"),
    "in_collection": _l("in collection"),
    "written_off": _l("written off"),
    # payment methods (ledger.models.Method)
    "prepayment": _l("prepayment"),
    "invoice": _l("invoice"),
    "cod": _l("cod"),
    # money ledger entries (ledger.models.EntryKind)
    "charge": _l("charge"),
    "payment": _l("payment"),
    "payment_reversal": _l("payment reversal"),
    "fee": _l("fee"),
    "interest": _l("interest"),
    "discount": _l("discount"),
    "write_off": _l("write off"),
    "refund": _l("refund"),
    # refunds paid out by SEPA file (ledger.models.RefundState; "open", "cancelled" elsewhere)
    "awaiting_details": _l("awaiting bank details"),
    "exported": _l("exported"),
    "executed": _l("executed"),
    # bank transaction states (ledger.models.TransactionState; "refund" is above)
    "new": _l("new"),
    "matched": _l("matched"),
    "suggested": _l("suggested"),
    "unmatched": _l("unmatched"),
    "ignored": _l("ignored"),
    "reversed": _l("reversed"),
    # outbox messages: states (ledger.models.MessageState; "cancelled" in MESSAGE_LABELS),
    # kinds and purposes (a webhook's purpose is its event name, the shop's: not translated)
    "pending": _l("pending"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "email": _l("email"),
    "webhook": _l("webhook"),
    "letter": _l("letter"),
    "reminder": _l("reminder"),
    "accounting_digest": _l("accounting digest"),
    "claim_notice": _l("payment claim notice"),
    "payment_received": _l("payment received"),
    # letters (ledger.models.LetterState, its kinds) and print runs (PrintRunState)
    "payment_info": _l("payment information"),
    "cancellation": _l("cancellation"),
    "created": _l("created"),
    "in_print_run": _l("in print run"),
    "printed": _l("printed"),
    "posted": _l("posted"),
    "open": _l("open"),
    # dunning actions (ledger.steps.HANDLERS), skipped steps, fees in the forecast
    "remind": _l("remind"),
    "cancel": _l("cancel"),
    "mark_overdue": _l("mark overdue"),
    "notify": _l("notify"),
    "release_reservation": _l("release reservation"),
    "hand_over_to_collection": _l("hand over to collection"),
    "charge_interest": _l("charge interest"),
    "send_webhook": _l("send webhook"),
    "skipped": _l("skipped"),
    # dunning runs: states (ledger.models.RunState) and triggers
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "interrupted": _l("interrupted"),
    "portal": _l("portal"),
    "schedule": _l("schedule"),
    "cli": _l("cli"),
    # where a money entry came from (ledger.models.Source; "portal" and "cli" are above)
    "api": _l("API"),
    "bank": _l("bank"),
    "manual": _l("by hand"),
    "rule": _l("rules"),
    "collection": _l("collection agency"),
    "shop": _l("shop"),
    "migration": _l("migration"),
    # audit actions (ledger.audit.record)
    "bank.assigned": _l("bank.assigned"),
    "bank.ignored": _l("bank.ignored"),
    "bank.refund": _l("bank.refund"),
    "bulk.started": _l("bulk.started"),
    "bulk.finished": _l("bulk.finished"),
    "collection.handed_over": _l("collection.handed over"),
    "collection.updated": _l("collection.updated"),
    "collection.recalled": _l("collection.recalled"),
    "dunning.blocked": _l("dunning.blocked"),
    "dunning.block_ends": _l("dunning.block ends"),
    "dunning.reminded": _l("dunning.reminded"),
    "dunning.unblocked": _l("dunning.unblocked"),
    "login.locked": _l("login.locked"),
    "message.retried": _l("message.retried"),
    "order.cancelled": _l("order.cancelled"),
    "order.created": _l("order.created"),
    "order.erased": _l("order.erased"),
    "order.handed_over_to_collection": _l("order.handed over to collection"),
    "order.marked_overdue": _l("order.marked overdue"),
    "order.reactivated": _l("order.reactivated"),
    "order.reopened": _l("order.reopened"),
    "order.updated": _l("order.updated"),
    "order.edited": _l("order.edited"),
    "order.shop_change_ignored": _l("order.shop change ignored"),
    "order.shop_change_accepted": _l("order.shop change accepted"),
    "order.reread": _l("order.re-read from the shop"),
    "order.reread_failed": _l("order.re-read from the shop failed"),
    "order.payment_info_changed": _l("order.payment information changed"),
    "order.payment_info_sent": _l("order.payment information sent"),
    "order.payment_info_resent": _l("order.payment information resent"),
    "order.cancellation_notice": _l("order.cancellation notice"),
    "order.written_off": _l("order.written off"),
    "payment.claimed": _l("payment.claimed"),
    "claim.updated": _l("claim.updated"),
    "claim.received": _l("claim.received"),
    "claim.not_received": _l("claim.not received"),
    "payment.recorded": _l("payment.recorded"),
    "payment.refunded": _l("payment.refunded"),
    "payment.reversed": _l("payment.reversed"),
    "refund.requested": _l("refund.requested"),
    "refund.created": _l("refund.created"),
    "refund.details_given": _l("refund.details given"),
    "refund.cancelled": _l("refund.cancelled"),
    "refund.reversed": _l("refund.reversed"),
    "refund.exported": _l("refund.exported"),
    "refund.executed": _l("refund.executed"),
    "rules.activated": _l("rules.activated"),
    "rules.saved": _l("rules.saved"),
    "settings.changed": _l("settings.changed"),
    "bank_account.added": _l("bank account.added"),
    "bank_account.changed": _l("bank account.changed"),
    "bank_account.removed": _l("bank account.removed"),
    "api_token.created": _l("API token.created"),
    "api_token.revoked": _l("API token.revoked"),
    "user.language": _l("user.language"),
    # the team (ledger/team.py, ledger/two_factor.py)
    "user.invited": _l("user.invited"),
    "user.invitation_resent": _l("user.invitation resent"),
    "user.joined": _l("user.joined"),
    "user.role_changed": _l("user.role changed"),
    "user.deactivated": _l("user.deactivated"),
    "user.reactivated": _l("user.reactivated"),
    "user.reset_requested": _l("user.reset requested"),
    "user.password_reset": _l("user.password reset"),
    "user.password_changed": _l("user.password changed"),
    "user.totp_enabled": _l("user.two-factor on"),
    "user.totp_disabled": _l("user.two-factor off"),
    "settings.owners_need_totp": _l("settings.owners need two-factor"),
    "letter.cancelled": _l("letter.cancelled"),
    "letter.requested": _l("letter.requested"),
    "message.bounced": _l("message.bounced"),
    "message.resent": _l("message.resent"),
    "message.sent_as_letter": _l("message.sent as letter"),
    "order.unsubscribed": _l("order.unsubscribed"),
    "print_run.started": _l("print run.started"),
    "print_run.printed": _l("print run.printed"),
    "print_run.posted": _l("print run.posted"),
    "invoice.stored": _l("invoice.stored"),
    "invitation": _l("invitation"),
    "password_reset": _l("password reset"),
    # a collection case's status (ledger.collection.STATUSES; "partially_paid", "paid" above)
    "handed_over": _l("handed over"),
    "accepted": _l("accepted"),
    "in_progress": _l("in progress"),
    "payment_plan": _l("payment plan"),
    "uncollectible": _l("uncollectible"),
    "closed": _l("closed"),
    "recalled": _l("recalled"),
    # audit details: their keys (and an order's fields that changed)
    "address": _l("address"),
    "role": _l("role"),
    "old_role": _l("old role"),
    "new_role": _l("new role"),
    "required": _l("required"),
    "amount": _l("amount"),
    "claimed_on": _l("claimed on"),
    "comment": _l("comment"),
    "country": _l("country"),
    "currency": _l("currency"),
    "customer_email": _l("customer email"),
    "customer_name": _l("customer name"),
    "customer_number": _l("customer number"),
    "customer_type": _l("customer type"),
    "discount_amount": _l("discount amount"),
    "discount_until": _l("discount until"),
    "due_on": _l("due on"),
    "invoice_number": _l("invoice number"),
    "key": _l("key"),
    "language": _l("language"),
    "level": _l("level"),
    "locked_until": _l("locked until"),
    "blocked_until": _l("blocked until"),
    "message": _l("message"),
    "note": _l("note"),
    "ordered_on": _l("ordered on"),
    "orders": _l("orders"),
    "paid_on": _l("paid on"),
    "payment_method": _l("payment method"),
    "postal_address": _l("postal address"),
    "reason": _l("reason"),
    "reference": _l("reference"),
    "region": _l("region"),
    "scope": _l("scope"),
    "section": _l("section"),
    "source": _l("source"),
    "status": _l("status"),
    "transaction": _l("transaction"),
    "letters": _l("letters"),
    "run": _l("print run"),
    "kind": _l("kind"),
    "filename": _l("file"),
    "file_number": _l("file number"),
    "end_to_end_id": _l("end-to-end id"),
    "executed_on": _l("executed on"),
    "export": _l("export file"),
    "state": _l("state"),
    "partner": _l("partner"),
    "partner_file_number": _l("partner's file number"),
    "pages": _l("pages"),
    "replaced": _l("replaced"),
    "size": _l("size"),
    "version": _l("version"),
}


def _label(value: str | None, context: str | None = None) -> str:
    """`{{ order.status|label }}`; `{{ message.state|label('message') }}` for an outbox
    message's state, which is withdrawn ("cancelled"), not cancelled like an order."""
    value = value or ""
    if context == "message" and value == "cancelled":
        return pgettext("message state", "cancelled")
    label = LABELS.get(value)
    return str(label) if label is not None else value.replace("_", " ")


def error_page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


# The roles of ledger/permissions.py in words (the team page, the account page, the audit log).
ROLE_NAMES = {
    "owner": _l("Owner"),
    "accountant": _l("Accountant"),
    "clerk": _l("Clerk"),
    "viewer": _l("Viewer"),
}


def register(app: Flask) -> None:
    """Filters, globals and error pages shared by every page (the blueprints are registered by
    portal.init_portal; this module imports none of them)."""
    # Templates show an action only where the order lifecycle's transition table allows it.
    app.add_template_global(lifecycle.can, "can")
    app.add_template_filter(_label, "label")
    app.add_template_filter(_non_empty, "non_empty")
    app.add_template_global(ROLE_NAMES, "ROLE_NAMES")

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        if request.path.startswith("/api/"):
            return exc
        return error_page(
            400,
            _("Form expired"),
            _(
                "The form was missing its security token or it has expired. "
                "Reload the page and try again; nothing was changed."
            ),
        )

    @app.errorhandler(404)
    def _not_found(exc):
        if request.path.startswith("/api/"):
            return exc  # the API's own answers are its business
        # Werkzeug's own description is English; the pages' own (abort(404, …)) are translated.
        description = exc.description if exc.description != NotFound.description else None
        return error_page(404, _("Not found"), description or _("There is nothing here."))

    @app.after_request
    def _vary_on_htmx(response):
        # The same URL answers with a whole page or a fragment: caches must keep them apart.
        if not request.path.startswith(("/api/", "/static/")):
            response.vary.add("HX-Request")
        return response


__all__ = ["PAGE_SIZE", "Page", "abort", "actor", "merchant", "paginate", "render_page"]
