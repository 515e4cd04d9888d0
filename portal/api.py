"""REST API for shops: /api/v1, bearer-token authenticated. Invalid input stores nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache, wraps
from typing import get_args, get_origin

from flask import Blueprint, g, jsonify, request
from pydantic.json_schema import models_json_schema
from werkzeug.exceptions import RequestEntityTooLarge

from ledger import (
    accounts,
    bounces,
    collection,
    dashboard,
    idempotency,
    lifecycle,
    orders,
    schemas,
)
from ledger.bank import accounts as bank_accounts
from ledger.bank import importing
from ledger.clock import today_for
from ledger.db import db
from ledger.documents import invoices
from ledger.models import Order, Source
from ledger.refusals import Refused

bp = Blueprint("api", __name__, url_prefix="/api/v1")


STATEMENT_UPLOAD_BYTES = importing.MAX_BYTES + 64 * 1024  # the file and its multipart frame
INVOICE_UPLOAD_BYTES = invoices.MAX_BYTES + 64 * 1024
UPLOAD_BYTES = {
    "api.import_statement": STATEMENT_UPLOAD_BYTES,
    "api.upload_invoice": INVOICE_UPLOAD_BYTES,
    "api.report_bounce": bounces.MAX_BYTES,
}


@bp.before_request
def _limit_body():
    request.max_content_length = UPLOAD_BYTES.get(request.endpoint, schemas.MAX_BODY_BYTES)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    db.session.rollback()
    limit = request.max_content_length or schemas.MAX_BODY_BYTES
    return _problem(413, "request body too large", {"body": f"must be at most {limit} bytes"})


def _problem(status: int, title: str, errors: dict | None = None):
    body = {"error": title}
    if errors:
        body["errors"] = [{"field": f, "message": m} for f, m in errors.items()]
    return jsonify(body), status


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        merchant = (
            accounts.merchant_for_token(token.strip()) if scheme.lower() == "bearer" else None
        )
        if merchant is None:
            db.session.rollback()
            response, status = _problem(401, "missing or invalid bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="mahnwerk"'
            return response, status
        g.merchant = merchant
        return view(*args, **kwargs)

    return wrapped


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _json_body():
    """The body as Python data; JSON numbers with a fraction or exponent as exact Decimals.
    Over MAX_BODY_BYTES werkzeug raises RequestEntityTooLarge (answered 413 above)."""
    if not request.is_json:
        raise orders.ValidationError(
            {"body": "expected a JSON object (Content-Type: application/json)"}
        )
    try:
        return json.loads(request.get_data(), parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # bad JSON or encoding, 5000-digit integers, [[[[…
        raise orders.ValidationError({"body": "is not valid JSON"}) from None


def _unknown_number(number: str):
    """A 404 for a path that cannot name an order (control characters, too long): never
    queried, never echoed. Numbers stored under the earlier, looser rules stay reachable."""
    if schemas.storable_number(number):
        return None
    db.session.rollback()
    return _problem(404, "no such order", {"number": "is not a valid order number"})


def order_json(order: Order) -> dict:
    _version, schedule = lifecycle.upcoming(order, order.next_due_on or today_for(g.merchant))
    step = schedule.steps[0] if schedule and schedule.steps and order.next_due_on else None
    statement = order.statement
    return {
        "number": order.number,
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "country": order.country,
            "region": order.region,
            "language": order.language,
            "type": order.customer_type,
            "number": order.customer_number,
        },
        "amount": str(order.amount),
        "currency": order.currency,
        "payment_method": order.payment_method,
        "ordered_on": order.ordered_on.isoformat(),
        "due_on": order.due_on.isoformat(),
        "invoice_number": order.invoice_number,
        "status": str(order.status),
        "paid_after_cancellation": order.paid_after_cancellation,
        "paid_amount": str(statement.paid),
        "fees": str(statement.fees),
        "interest": str(statement.interest),
        "adjustments": str(statement.adjustments),
        "open_amount": str(statement.open),
        "credit": str(statement.credit),
        "dunning_level": order.dunning_level,
        "dunning_block": order.dunning_block,
        "next_step_on": order.next_due_on.isoformat() if order.next_due_on else None,
        "next_step": ", ".join(a.kind for a in step.actions) if step else None,
        "payment_terms": _terms_json(order),
    }


def _terms_json(order: Order) -> dict | None:
    if order.payment_days is None and order.discount_percent is None:
        return None
    percent = order.discount_percent
    return {
        "net_days": order.payment_days,
        "discount_percent": str(percent) if percent is not None else None,
        "discount_days": order.discount_days,
    }


@bp.post("/orders")
@token_required
def upsert_order():
    """Create the order with this number, or update it (201 created, 200 updated)."""
    try:
        data = orders.parse_order(_json_body())
    except orders.ValidationError as exc:
        db.session.rollback()
        return _problem(422, "invalid order", exc.errors)
    merchant = g.merchant

    def unit():
        order, created = orders.upsert_order(merchant, data, "api")
        return order_json(order), created

    body, created = lifecycle.retrying(unit)
    return jsonify(body), 201 if created else 200


@bp.get("/orders/<number>")
@token_required
def get_order(number: str):
    """The order with its status, itemised money and next dunning step."""
    if (refused := _unknown_number(number)) is not None:
        return refused
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        return _problem(404, f"no order {number!r}")
    return jsonify(order_json(order))


@bp.post("/orders/<number>/payments")
@token_required
def add_payment(number: str):
    """Book a payment for the order.

    Sent again with the same Idempotency-Key it is answered with the first response and stored
    once; the same reference again is the same payment, stored once."""
    if (refused := _unknown_number(number)) is not None:
        return refused
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        db.session.rollback()
        return _problem(404, f"no order {number!r}")
    try:
        data = orders.parse_payment(_json_body())
    except orders.ValidationError as exc:
        db.session.rollback()
        return _problem(422, "invalid payment", exc.errors)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not idempotency.valid_key(key):
        return _problem(422, "invalid Idempotency-Key", {"Idempotency-Key": "1 to 200 ASCII "
                        "characters without control characters"})  # fmt: skip
    print_ = idempotency.fingerprint(request.method, request.path, request.get_data())
    merchant_id = g.merchant.id

    def unit():
        if key is not None:
            stored = idempotency.replay(merchant_id, key, print_)
            if stored is not None:
                return stored
        cause = lifecycle.Cause("api", Source.API, today_for(g.merchant))
        locked = lifecycle.lock(order)
        entry, created = lifecycle.record_payment(
            locked, data.amount, data.paid_on, cause, data.reference
        )
        body = order_json(locked) | {"payment": {"id": entry.id, "duplicate": not created}}
        status = 201 if created else 200
        if key is not None:
            idempotency.store(merchant_id, key, print_, status, body)
        return status, body

    try:
        status, body = lifecycle.retrying(unit)
    except idempotency.KeyReused as exc:
        return _problem(422, str(exc), {"Idempotency-Key": str(exc)})
    except lifecycle.Refused as exc:
        return _problem(409, f"payment refused: {exc}")
    return jsonify(body), status


def account_json(account) -> dict:
    return {
        "iban": account.iban,
        "bic": account.bic,
        "currency": account.currency,
        "country": account.country,
        "holder": account.holder,
        "bank_name": account.bank_name,
        "qr_iban": account.qr_iban,
        "data_as_of": account.data_as_of.isoformat() if account.data_as_of else None,
    }


@bp.get("/bank-accounts")
@token_required
def list_bank_accounts():
    """The merchant's bank accounts, with how far their imported statements reach."""
    return jsonify([account_json(a) for a in bank_accounts.accounts_of(g.merchant.id)])


@bp.post("/bank-accounts")
@token_required
def add_bank_account():
    """Add a bank account: customers are asked to pay to it, and its statements are accepted."""
    try:
        body = orders._validate(schemas.BankAccountIn, _json_body())
    except orders.ValidationError as exc:
        db.session.rollback()
        return _problem(422, "invalid bank account", exc.errors)
    try:
        account = bank_accounts.add_account(g.merchant, **body.model_dump())
    except bank_accounts.AccountError as exc:
        db.session.rollback()
        return _problem(422, "bank account refused", {"iban": str(exc)})
    db.session.commit()
    return jsonify(account_json(account)), 201


@bp.post("/bank-statements")
@token_required
def import_statement():
    """Import a bank statement file (camt.052/053/054 or MT940) as multipart field `file`.

    Each transaction is stored once, however often a file (or an overlapping one) comes; new
    payments are matched to orders. A refused file stores nothing and says what and where."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        db.session.rollback()
        return _problem(422, "no file", {"file": "send the statement as multipart field 'file'"})
    try:
        summary = importing.import_file(
            g.merchant,
            upload.read(),
            schemas.clean_filename(upload.filename),
            "api",
            "api",
            today_for(g.merchant),
        )
    except importing.ImportRefused as exc:
        db.session.rollback()
        return _problem(422, "statement refused", {"file": str(exc)})
    dashboard.schedule_refresh(g.merchant.id)
    return jsonify(summary.as_dict()), 201


def invoice_json(order: Order, invoice) -> dict:
    return {
        "order": order.number,
        "filename": invoice.filename,
        "pages": invoice.pages,
        "size": invoice.size,
        "sha256": invoice.sha256,
        "uploaded_at": invoice.uploaded_at.isoformat(timespec="seconds") + "Z",
    }


@bp.post("/orders/<number>/invoice")
@token_required
def upload_invoice(number: str):
    """Store the order's invoice PDF: the body as application/pdf, or multipart field `file`.

    At most 10 MB; a readable PDF with at least one page, not encrypted. A new upload replaces
    the one before. Sent by letter (the order page), it comes first, then the payment slip."""
    if (refused := _unknown_number(number)) is not None:
        return refused
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        db.session.rollback()
        return _problem(404, f"no order {number!r}")
    if request.mimetype == "application/pdf":
        data, filename = request.get_data(), f"{number}.pdf"
    elif request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            db.session.rollback()
            return _problem(422, "no file", {"file": "send the PDF as multipart field 'file'"})
        data, filename = upload.read(), schemas.clean_filename(upload.filename)
    else:
        db.session.rollback()
        return _problem(
            415, "not a PDF", {"body": "send application/pdf, or multipart/form-data with 'file'"}
        )
    try:
        invoice = invoices.store_invoice(order, filename, data, "api")
    except Refused as exc:
        db.session.rollback()
        status = 413 if exc.code == "file_too_big" else 422
        return _problem(status, "invoice refused", {"file": str(exc)})
    db.session.commit()
    return jsonify(invoice_json(order, invoice)), 201


@bp.post("/bounces")
@token_required
def report_bounce():
    """Report a returned mail: the whole mail as message/rfc822 (a mail server's forward).

    It must be addressed to one of your messages' return addresses (bounces+…@ your bounce
    domain, in its To or the envelope's X-Original-To / Delivered-To) and report a permanent
    failure; the message is then marked bounced with the reason (202). Anything else: 422."""
    if request.mimetype != "message/rfc822":
        db.session.rollback()
        return _problem(422, "not a mail", {"body": "send the returned mail as message/rfc822"})
    message = bounces.handle(request.get_data(), merchant_id=g.merchant.id)
    if message is None:
        db.session.rollback()
        return _problem(
            422,
            "bounce refused",
            {"body": "names none of your messages, or reports no permanent failure"},
        )
    db.session.commit()
    return jsonify(bounces.as_json(message)), 202


@bp.post("/orders/<number>/collection")
@token_required
def collection_report(number: str):
    """The collection partner's report on the order's debt collection case.

    The status moves only forward (accepted, in_progress, payment_plan or partially_paid,
    uncollectible, paid or closed); `paid` needs the order paid, with the report's payment if
    need be, and closes the case, as `closed` does. A payment is booked on the order (source
    collection) once per reference; the same report again is answered with duplicate true and
    stores nothing. The fees are the partner's total so far, kept, not booked."""
    if (refused := _unknown_number(number)) is not None:
        return refused
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        db.session.rollback()
        return _problem(404, f"no order {number!r}")
    try:
        report = collection.parse_update(_json_body())
    except orders.ValidationError as exc:
        db.session.rollback()
        return _problem(422, "invalid collection report", exc.errors)
    today = today_for(g.merchant)

    def unit():
        case, stored = collection.update_from_partner(order, report, "api", today)
        return collection.answer_json(case, order, stored)

    try:
        body = lifecycle.retrying(unit)
    except Refused as exc:
        return _problem(409, f"collection report refused: {exc}")
    return jsonify(body), 200


# --- the contract: OpenAPI 3.1 from ledger/schemas.py's models --------------------------------

_ERRORS = {
    401: "Missing or invalid bearer token.",
    404: "No order with this number for this merchant.",
    409: "The order's state refuses it (a payment; a collection report: no case, a closed "
    "case, a status going back, paid without the money).",
    413: f"The body is larger than {schemas.MAX_BODY_BYTES} bytes (a statement file: "
    f"{importing.MAX_BYTES} bytes, an invoice PDF: {invoices.MAX_BYTES} bytes); nothing stored.",
    415: "Not a PDF upload: send application/pdf, or multipart/form-data with 'file'.",
    422: "Invalid input: one entry per bad field (dotted names such as customer.email); "
    "nothing stored.",
}
_NUMBER_PARAMETER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The shop's order number.",
    "schema": {
        "type": "string",
        "pattern": schemas.NUMBER_PATTERN,
        "maxLength": schemas.NUMBER_MAX,
        "examples": ["AK-10001"],
    },
}
_IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key and body is answered with the first response and "
    "stored once; the same key with another body is refused (422).",
    "schema": {
        "type": "string",
        "pattern": schemas.IDEMPOTENCY_KEY_PATTERN,
        "maxLength": idempotency.MAX_KEY,
    },
}
# (path, method, view, request model, {status: (description, response model)}, parameters)
_OPERATIONS = [
    (
        "/api/v1/orders",
        "post",
        upsert_order,
        schemas.OrderIn,
        {201: ("Created.", schemas.OrderOut), 200: ("Updated.", schemas.OrderOut)},
        [],
    ),
    (
        "/api/v1/orders/{number}",
        "get",
        get_order,
        None,
        {200: ("The order.", schemas.OrderOut)},
        [_NUMBER_PARAMETER],
    ),
    (
        "/api/v1/orders/{number}/payments",
        "post",
        add_payment,
        schemas.PaymentIn,
        {
            201: ("Booked.", schemas.PaymentOut),
            200: ("Booked before (same reference or Idempotency-Key).", schemas.PaymentOut),
        },
        [_NUMBER_PARAMETER, _IDEMPOTENCY_PARAMETER],
    ),
    (
        "/api/v1/bank-accounts",
        "get",
        list_bank_accounts,
        None,
        {200: ("The accounts.", list[schemas.BankAccountOut])},
        [],
    ),
    (
        "/api/v1/bank-accounts",
        "post",
        add_bank_account,
        schemas.BankAccountIn,
        {201: ("Added.", schemas.BankAccountOut)},
        [],
    ),
    (
        "/api/v1/bank-statements",
        "post",
        import_statement,
        {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "camt.052/053/054 (XML) or MT940",
                        }
                    },
                }
            }
        },
        {201: ("Imported.", schemas.ImportSummaryOut)},
        [],
    ),
    (
        "/api/v1/orders/{number}/invoice",
        "post",
        upload_invoice,
        {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a PDF"}
                    },
                }
            },
        },
        {201: ("Stored (replacing the invoice before).", schemas.InvoiceOut)},
        [_NUMBER_PARAMETER],
    ),
    (
        "/api/v1/orders/{number}/collection",
        "post",
        collection_report,
        collection.CollectionUpdateIn,
        {
            200: (
                "The case after the report (or the same report before).",
                collection.CollectionCaseOut,
            )
        },
        [_NUMBER_PARAMETER],
    ),
    (
        "/api/v1/bounces",
        "post",
        report_bounce,
        {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        {202: ("The message, now marked bounced.", bounces.BounceOut)},
        [],
    ),
]
_REFUSALS = {"post": (401, 413, 422), "get": (401, 404)}


# Requests are documented as the models validate them, answers as they are written.
_MODES = {
    schemas.OrderIn: "validation",
    schemas.PaymentIn: "validation",
    schemas.OrderOut: "serialization",
    schemas.PaymentOut: "serialization",
    schemas.Problem: "serialization",
    schemas.BankAccountIn: "validation",
    schemas.BankAccountOut: "serialization",
    schemas.ImportSummaryOut: "serialization",
    schemas.InvoiceOut: "serialization",
    collection.CollectionUpdateIn: "validation",
    collection.CollectionCaseOut: "serialization",
    bounces.BounceOut: "serialization",
}


@cache
def openapi_document() -> dict:
    """OpenAPI 3.1: each body's schema is its Pydantic model's JSON schema, under components."""
    refs, top = models_json_schema(
        list(_MODES.items()), ref_template="#/components/schemas/{model}"
    )
    problem = refs[(schemas.Problem, _MODES[schemas.Problem])]

    def content(model):
        if get_origin(model) is list:
            (item,) = get_args(model)
            schema = {"type": "array", "items": refs[(item, _MODES[item])]}
            return {"application/json": {"schema": schema}}
        return {"application/json": {"schema": refs[(model, _MODES[model])]}}

    paths: dict = {}
    for path, method, view, body, answers, parameters in _OPERATIONS:
        summary, _, description = (view.__doc__ or "").strip().partition("\n")
        responses = {
            str(status): {"description": text, "content": content(model)}
            for status, (text, model) in sorted(answers.items())
        }
        refused = (404, 409) if path.endswith(("/payments", "/collection")) else ()
        refusals = _REFUSALS[method] + refused
        if path.endswith("/invoice"):
            refusals += (404, 415)
        if method == "get" and "{number}" not in path:
            refusals = (401,)  # a list: nothing to be not found
        for status in sorted(refusals):
            responses[str(status)] = {
                "description": _ERRORS[status],
                "content": {"application/json": {"schema": problem}},
            }
        responses["401"]["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer realm"}
        }
        operation = {
            "operationId": view.__name__,
            "summary": summary,
            "description": " ".join(description.split()),
            "parameters": parameters,
            "responses": responses,
        }
        if body is not None:
            body_content = body if isinstance(body, dict) else content(body)
            operation["requestBody"] = {"required": True, "content": body_content}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mahnwerk shop API",
            "version": "1",
            "description": "Shops send their orders and payments; Mahnwerk reminds and dunns. "
            "Invalid input is answered 422 with one entry per bad field and stores nothing.",
        },
        "paths": paths,
        "components": {
            "schemas": top["$defs"],
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


@bp.get("/openapi.json")
def openapi_json():
    """The API's contract, generated from the models that validate the requests."""
    return jsonify(openapi_document())
