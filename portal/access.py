"""Every route of the portal and the action it takes (ledger.permissions): one table, checked
before any view runs. A route missing from the table is refused to everybody (fail closed),
and tests/portal/test_roles.py walks the URL map to prove each route refuses the roles that
lack its action."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _
from flask_login import current_user

from ledger.permissions import Action, allowed
from portal.ui import error_page

# Routes that are not the portal's pages: the login itself, static files, and the API (its
# bearer tokens are the shop's, checked in portal/api.py).
PUBLIC = {"static", "auth.login", "auth.logout", "api_docs.page"}
# Used logged out (the links in invitation and reset mails, the login's code step); their
# forms still carry the CSRF token.
PUBLIC |= {"auth.two_factor", "password.invite", "password.forgot", "password.reset"}
# The customer page behind the signed link in payment requests (portal/customer.py).
PUBLIC |= {"customer.page", "customer.claim", "customer.refund_details"}
PUBLIC_BLUEPRINTS = {"api"}

ROUTES: dict[str, Action] = {
    "auth.language": Action.VIEW,  # one's own language
    "orders.index": Action.VIEW,
    "orders.order_list": Action.VIEW,
    "orders.open_total": Action.VIEW,
    "orders.detail": Action.VIEW,
    "orders.remind": Action.DUNNING,
    "orders.run_dunning": Action.DUNNING,
    "orders.block": Action.DUNNING,
    "orders.mark_overdue": Action.DUNNING,
    "orders.cancel": Action.DUNNING,
    "orders.mark_paid": Action.MONEY,
    "orders.undo_payment": Action.MONEY,
    "orders.reactivate": Action.MONEY,
    "orders.refund": Action.MONEY,
    "orders.request_refund": Action.MONEY,
    "refunds.create": Action.MONEY,
    "refunds.cancel": Action.MONEY,
    "refunds.refund_list": Action.VIEW,
    "refunds.export": Action.MONEY,
    "refunds.export_xml": Action.MONEY,  # every payee's bank details at once
    "orders.erase": Action.ERASE,
    "orders.export": Action.REPORTS,
    "orders.send_letter": Action.DUNNING,
    "bulk.review": Action.DUNNING,  # mark_paid needs MONEY too (checked in portal/bulk.py)
    "bulk.start": Action.DUNNING,
    "bulk.progress": Action.VIEW,
    "claims.proof": Action.VIEW,  # a customer's proof of payment, the merchant's own
    "collection.hand_over": Action.MONEY,  # a claim handed to a third party
    "collection.recall": Action.MONEY,
    "collection.details": Action.VIEW,
    "messages.resend": Action.DUNNING,  # resend a message
    "messages.send_as_letter": Action.DUNNING,
    "messages.unsubscribe": Action.DUNNING,
    "messages.send_payment_info": Action.DUNNING,  # the payment information emailed again
    "order_edits.edit": Action.MONEY,  # the amount is money; email, due date, address with it
    "order_edits.accept": Action.MONEY,
    "order_edits.payment_info": Action.MONEY,  # what the bank matching finds the order by
    "shop_sync.reread": Action.MONEY,  # the shop's data applied like an API upsert
    "letters.letter_list": Action.VIEW,
    "letters.letter_pdf": Action.VIEW,
    "letters.cancel": Action.DUNNING,
    "letters.run_list": Action.VIEW,
    "letters.start_run": Action.DUNNING,
    "letters.run_pdf": Action.VIEW,
    "letters.run_manifest": Action.VIEW,
    "letters.mark_printed": Action.DUNNING,
    "letters.mark_posted": Action.DUNNING,
    "letters.invoice_pdf": Action.VIEW,
    "outbox.message_list": Action.VIEW,
    "outbox.view": Action.VIEW,
    "outbox.message_body": Action.VIEW,
    "outbox.retry": Action.DUNNING,
    "runs.run_list": Action.VIEW,
    "runs.progress": Action.VIEW,
    "runs.run_now": Action.RUNS,
    "bank.page": Action.VIEW,
    "bank.transaction": Action.VIEW,
    "bank.import_files": Action.BANK,
    "bank.assign": Action.BANK,
    "bank.split": Action.BANK,
    "bank.not_for_us": Action.BANK,
    "bank.refund": Action.BANK,
    "rules_page.page": Action.VIEW,
    "rules_page.check": Action.VIEW,  # checks, previews and forecasts change nothing
    "rules_page.preview_today": Action.VIEW,
    "rules_page.forecast": Action.VIEW,
    "rules_page.order_timeline": Action.VIEW,
    "rules_page.version_page": Action.VIEW,
    "rules_page.progress": Action.VIEW,
    "rules_page.save": Action.RULES_EDIT,
    "rules_page.confirm_activation": Action.RULES_ACTIVATE,
    "rules_page.activate": Action.RULES_ACTIVATE,
    "audit_page.audit_list": Action.REPORTS,
    "audit_page.audit_csv": Action.REPORTS,
    "dashboard.page": Action.VIEW,
    "dashboard.recompute": Action.VIEW,  # fresh figures: changes nothing in the book
    "settings.page": Action.SETTINGS,
    "settings.save_company": Action.SETTINGS,
    "settings.save_mail": Action.SETTINGS,
    "settings.save_terms": Action.SETTINGS,
    "settings.save_matching": Action.SETTINGS,
    "settings.save_webhook": Action.SETTINGS,
    "settings.save_shop": Action.SETTINGS,
    "settings.save_time": Action.SETTINGS,
    "settings.save_notices": Action.SETTINGS,
    "settings.logo": Action.VIEW,  # the letterhead's logo, for everyone of the merchant
    "settings.upload_logo": Action.SETTINGS,
    "settings.remove_logo": Action.SETTINGS,
    "settings.add_account": Action.SETTINGS,
    "settings.edit_account": Action.SETTINGS,
    "settings.remove_account": Action.SETTINGS,
    "settings.webhook_secret": Action.SETTINGS,
    "settings.webhook_test": Action.SETTINGS,
    "settings.create_token": Action.SETTINGS,
    "settings.revoke_token": Action.SETTINGS,
    "users.user_list": Action.USERS,
    "users.invite": Action.USERS,
    "users.change_role": Action.USERS,
    "users.deactivate": Action.USERS,
    "users.reactivate": Action.USERS,
    "users.resend": Action.USERS,
    "users.two_factor_rule": Action.USERS,
    "account.page": Action.VIEW,  # one's own account, any role
    "account.change_password": Action.VIEW,
    "account.two_factor": Action.VIEW,
    "account.start_two_factor": Action.VIEW,
    "account.confirm_two_factor": Action.VIEW,
    "account.disable_two_factor": Action.VIEW,
}


def is_public(endpoint: str | None) -> bool:
    return endpoint in PUBLIC or (endpoint or "").split(".", 1)[0] in PUBLIC_BLUEPRINTS


def permitted(action: str) -> bool:
    """For templates: show a button only to those who may use it."""
    return current_user.is_authenticated and allowed(current_user.role, Action(action))


def _check():
    endpoint = request.endpoint
    if endpoint is None or is_public(endpoint) or not current_user.is_authenticated:
        return None  # no route (404), not ours, or the blueprint's login check answers
    action = ROUTES.get(endpoint)
    if action is not None and allowed(current_user.role, action):
        return None
    return error_page(
        403,
        _("Not allowed"),
        _(
            "Your role does not allow this; nothing was changed. "
            "The owner of your team can change your role."
        ),
    )


def register(app: Flask) -> None:
    app.before_request(_check)
    app.add_template_global(permitted, "permitted")
