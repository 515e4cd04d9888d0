"""The bank page: the merchant's accounts, statement upload, the import history, the Payments
inbox (assign, split, "not for us", refund) and one transaction's detail. Views are thin: the
import is ledger.bank.importing's, every inbox action ledger.bank.inbox's."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ledger import dashboard
from ledger.bank import accounts, importing, inbox
from ledger.clock import today_for
from ledger.db import db
from ledger.models import BankImport, TransactionState
from ledger.schemas import clean_filename
from portal import reasons
from portal.auth import require_login
from portal.ui import Page, actor, clean_url, merchant, partial_request, render_page

bp = Blueprint("bank", __name__)
bp.before_request(require_login)
bp.add_app_template_filter(reasons.bank_reason, "bank_reason")

# One upload request: up to MAX_FILES statement files of at most importing.MAX_BYTES each; the
# whole request may be UPLOAD_BYTES (a few big files, or many small ones).
MAX_FILES = 20
UPLOAD_BYTES = 5 * importing.MAX_BYTES + 256 * 1024  # the files and their multipart frames
MAX_SEARCH = 100
MAX_NOTE = 300
SPLIT_ROWS = 4  # order/amount pairs the split form offers
STATES = (TransactionState.SUGGESTED, TransactionState.UNMATCHED)


def limit_upload():
    """App-level `before_request`, registered ahead of the CSRF check (which reads the form):
    the import takes big files, every other portal request keeps the app's limit."""
    if request.endpoint == "bank.import_files":
        request.max_content_length = UPLOAD_BYTES


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


@bp.app_template_filter("iban")
def _iban(value: str | None) -> str:
    """An IBAN in groups of four, as printed on paper."""
    if not value:
        return "—"
    compact = value.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


# --- the page ---------------------------------------------------------------------------------


def _inbox_filters(args) -> tuple[dict, list[str]]:
    errors = []
    state = args.get("state", "").strip()
    if state and state not in STATES:
        errors.append(
            _("Unknown state %(state)s; showing all waiting payments.", state=repr(state))
        )
        state = ""
    q = args.get("q", "").strip()
    if len(q) > MAX_SEARCH:
        errors.append(
            ngettext(
                "The search was cut to its first %(num)d character.",
                "The search was cut to its first %(num)d characters.",
                MAX_SEARCH,
            )
        )
        q = q[:MAX_SEARCH]
    try:
        number = max(int(args.get("page", "1")), 1)
    except ValueError:
        number = 1
    return {"state": state, "q": q, "page": number}, errors


def _inbox_page(filters: dict) -> Page:
    merchant_id = current_user.merchant_id
    rows, total = inbox.waiting(
        merchant_id, filters["state"] or None, filters["q"], filters["page"]
    )
    page = Page(list(rows), total, filters["page"], inbox.PAGE)
    if page.number > page.pages:  # past the end (the list got shorter): its last page
        rows, total = inbox.waiting(merchant_id, filters["state"] or None, filters["q"], page.pages)
        page = Page(list(rows), total, page.pages, inbox.PAGE)
    page.suggestions = {row.id: inbox.suggested_orders(row) for row in page.rows}
    return page


def _context(filters: dict | None = None, errors: list[str] | None = None, **extra) -> dict:
    filters = filters or {"state": "", "q": "", "page": 1}
    merchant_id = current_user.merchant_id
    page = _inbox_page(filters)
    context = {
        "accounts": accounts.accounts_of(merchant_id),
        "imports": inbox.imports(merchant_id),
        "refunds": inbox.refunds(merchant_id),
        "order_refunds": inbox.order_refunds(merchant_id),
        "counts": inbox.counts(merchant_id),
        "page": page,
        "filters": {"state": filters["state"], "q": filters["q"]},
        "page_args": _page_args(filters["state"], filters["q"], page.number),
        "errors": errors or [],
        "states": STATES,
        "results": None,
        "notice": None,
        "error": None,
        "form": {},
        "max_files": MAX_FILES,
        "max_bytes": importing.MAX_BYTES,
        "max_size": _megabytes(importing.MAX_BYTES),
        "upload_size": _megabytes(UPLOAD_BYTES),
        "split_rows": SPLIT_ROWS,
    }
    context.update(extra)
    return context


def _page_args(state: str, q: str, number: int) -> dict:
    """The inbox's filters as the action forms carry them, to come back to the same list."""
    return {key: value for key, value in (("state", state), ("q", q)) if value} | (
        {"page": number} if number > 1 else {}
    )


@bp.get("/bank")
def page():
    filters, errors = _inbox_filters(request.args)
    context = _context(filters, errors)
    response = render_page("bank/page.html", "inbox_results", **context)
    if partial_request():
        response.headers["HX-Push-Url"] = clean_url(
            "bank.page", context["page"].number, context["filters"]
        )
    return response


# --- upload -----------------------------------------------------------------------------------


def _import_one(upload) -> dict:
    """One file on its own: its summary, or why it was refused (then nothing of it is stored)."""
    filename = clean_filename(upload.filename)
    data = upload.stream.read(importing.MAX_BYTES + 1)
    if len(data) > importing.MAX_BYTES:
        return {
            "filename": filename,
            "error": _(
                "the file is larger than %(size)s; nothing of it was stored",
                size=_megabytes(importing.MAX_BYTES),
            ),
        }
    try:
        summary = importing.import_file(
            merchant(), data, filename, "upload", actor(), today_for(merchant())
        )
    except importing.ImportRefused as exc:
        db.session.rollback()
        return {
            "filename": filename,
            "error": _("%(reason)s; nothing of it was stored", reason=reasons.refusal_text(exc)),
        }
    except Exception:  # a reader's or matcher's bug must not lose the other files' results
        db.session.rollback()
        current_app.logger.exception("bank import of %r failed", filename)
        return {
            "filename": filename,
            "error": _(
                "an internal error stopped the import of this file (it is logged); "
                "check the import history before sending it again"
            ),
        }
    return {"filename": filename, "summary": summary}


@bp.post("/bank/import")
def import_files():
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return _import_answer([], _("Choose at least one statement file to upload."), 422)
    if len(uploads) > MAX_FILES:
        return _import_answer(
            [],
            ngettext(
                "At most %(num)d file at once, please; nothing was imported.",
                "At most %(num)d files at once, please; nothing was imported.",
                MAX_FILES,
            ),
            422,
        )
    results = [_import_one(upload) for upload in uploads]
    if any("summary" in result for result in results):
        dashboard.schedule_refresh(current_user.merchant_id)
    return _import_answer(results)


def _import_answer(results: list[dict], error: str | None = None, status: int = 200):
    return render_page(
        "bank/page.html", "bank", status=status, **_context(results=results, error=error)
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    db.session.rollback()
    message = _(
        "The upload is too large: at most %(total)s in one go, and %(per_file)s per file. "
        "Nothing was imported; send fewer files at a time.",
        total=_megabytes(UPLOAD_BYTES),
        per_file=_megabytes(importing.MAX_BYTES),
    )
    if request.endpoint != "bank.import_files" or not current_user.is_authenticated:
        return message, 413
    return _import_answer([], message, 413)


# --- the inbox's actions ------------------------------------------------------------------------


def _own_transaction(transaction_id: int):
    row = inbox.transaction(current_user.merchant_id, transaction_id)
    if row is None:
        abort(404, _("There is no such bank transaction."))
    return row


def _back_filters() -> dict:
    filters, _errors = _inbox_filters(request.form)
    return filters


def _answer(transaction_id: int, notice: str | None = None, error: str | None = None, form=None):
    """After an action: the refreshed block for htmx (the detail page's or the bank page's), a
    redirect with a flashed message for a plain form. An error changed nothing: 422."""
    status = 422 if error else 200
    on_detail = request.form.get("from") == "detail"
    if partial_request():
        if on_detail:
            context = _transaction_context(_own_transaction(transaction_id))
            context.update(notice=notice, error=error, form=form or {})
            return render_page("bank/transaction.html", "transaction", status=status, **context)
        context = _context(_back_filters(), notice=notice, error=error, form=form or {})
        return render_page("bank/page.html", "bank", status=status, **context)
    flash(error or notice, "error" if error else "notice")
    if on_detail:
        return redirect(url_for("bank.transaction", transaction_id=transaction_id))
    filters = _back_filters()
    target = clean_url("bank.page", filters["page"], {"state": filters["state"], "q": filters["q"]})
    return redirect(f"{target}#inbox")


def _money(amount: Decimal, currency: str) -> str:
    return current_app.jinja_env.filters["money"](amount, currency)


def parse_amount(text: str) -> Decimal:
    """An amount as people type it: 1234.5, 1234,50, 1.234,50 or 1,234.50; more than 0, at
    most two decimals. ValueError says what is wrong."""
    value = text.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    if value.endswith(("€", "EUR", "CHF")):
        value = value.rstrip("€").removesuffix("EUR").removesuffix("CHF")
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        value = value.replace(thousands, "").replace(decimal_mark, ".")
    else:
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(_("%(text)s is not an amount", text=repr(text.strip()))) from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(_("%(text)s is not an amount more than 0", text=repr(text.strip())))
    if amount.as_tuple().exponent < -2:
        raise ValueError(_("%(text)s has more than two decimals", text=repr(text.strip())))
    if amount >= Decimal("1e12"):
        raise ValueError(_("%(text)s is too large", text=repr(text.strip())))
    return amount.quantize(Decimal("0.01"))


def _assign(transaction_id: int, parts: list[inbox.Part], form: dict):
    row = _own_transaction(transaction_id)
    try:
        inbox.assign(current_user.merchant_id, row.id, parts, actor(), today_for(merchant()))
    except inbox.InboxError as exc:
        db.session.rollback()
        return _answer(
            transaction_id,
            error=_("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc)),
            form=form,
        )
    row = _own_transaction(transaction_id)
    numbers = ", ".join(a.order.number for a in row.assignments)
    amount = _money(row.amount, row.currency)
    return _answer(
        transaction_id,
        notice=_(
            "The payment of %(amount)s is assigned to %(orders)s.", amount=amount, orders=numbers
        ),
    )


@bp.post("/bank/transactions/<int:transaction_id>/assign")
def assign(transaction_id: int):
    """The whole payment to one order: a suggestion's button, or the number typed in."""
    _own_transaction(transaction_id)
    number = request.form.get("order", "").strip()
    form = {"tx": transaction_id, "order": number}
    if not number:
        return _answer(transaction_id, error=_("Give the order number to assign to."), form=form)
    if len(number) > 64:
        return _answer(transaction_id, error=_("There is no order with such a number."), form=form)
    return _assign(transaction_id, [inbox.Part(number, Decimal(0))], form)


@bp.post("/bank/transactions/<int:transaction_id>/split")
def split(transaction_id: int):
    """The payment over several orders: order number and amount pairs that add up to it."""
    _own_transaction(transaction_id)
    numbers = request.form.getlist("order")[:50]
    amounts = request.form.getlist("amount")[:50]
    form = {"tx": transaction_id, "split_orders": numbers, "split_amounts": amounts}
    parts, problems = [], []
    for index in range(max(len(numbers), len(amounts))):
        number = numbers[index].strip() if index < len(numbers) else ""
        text = amounts[index].strip() if index < len(amounts) else ""
        if not number and not text:
            continue  # an empty row of the form
        if not number:
            problems.append(_("part %(part)d has an amount but no order number", part=index + 1))
            continue
        if not text:
            problems.append(
                _("part %(part)d (order %(order)s) has no amount", part=index + 1, order=number)
            )
            continue
        try:
            parts.append(inbox.Part(number[:64], parse_amount(text)))
        except ValueError as exc:
            problems.append(
                _(
                    "part %(part)d (order %(order)s): %(problem)s",
                    part=index + 1,
                    order=number,
                    problem=exc,
                )
            )
    if not problems and len(parts) < 2:
        problems.append(_("a split needs at least two orders with their amounts"))
    if problems:
        return _answer(
            transaction_id,
            error=_("Nothing was changed: %(reason)s.", reason="; ".join(problems)),
            form=form,
        )
    return _assign(transaction_id, parts, form)


def _set_aside(transaction_id: int, state: str, notice: str):
    _own_transaction(transaction_id)
    note = request.form.get("note", "").strip()[:MAX_NOTE] or None
    try:
        inbox.set_aside(current_user.merchant_id, transaction_id, state, actor(), note)
    except inbox.InboxError as exc:
        db.session.rollback()
        return _answer(
            transaction_id,
            error=_("Nothing was changed: %(reason)s.", reason=reasons.refusal_text(exc)),
        )
    return _answer(transaction_id, notice=notice)


@bp.post("/bank/transactions/<int:transaction_id>/not-for-us")
def not_for_us(transaction_id: int):
    return _set_aside(
        transaction_id, TransactionState.IGNORED, _("The payment is marked “not for us”.")
    )


@bp.post("/bank/transactions/<int:transaction_id>/refund")
def refund(transaction_id: int):
    return _set_aside(
        transaction_id,
        TransactionState.REFUND,
        _("The payment is marked to be refunded; it is listed under Refunds."),
    )


# --- one transaction ----------------------------------------------------------------------------


def _transaction_context(row) -> dict:
    return {
        "tx": row,
        "record": db.session.get(BankImport, row.import_id),
        "suggestions": inbox.suggested_orders(row),
        "waiting": row.state in STATES,
        "notice": None,
        "error": None,
        "form": {},
        "split_rows": SPLIT_ROWS,
        "page_args": {},
    }


@bp.get("/bank/transactions/<int:transaction_id>")
def transaction(transaction_id: int):
    row = _own_transaction(transaction_id)
    return render_page("bank/transaction.html", "transaction", **_transaction_context(row))
