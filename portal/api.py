"""REST API for shops: /api/v1, bearer-token authenticated. Invalid input stores nothing."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, jsonify, request

from ledger import accounts, idempotency, lifecycle, orders
from ledger.clock import today_for
from ledger.db import db
from ledger.models import Order, Source

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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


def _json_body():
    data = request.get_json(silent=True)
    if data is None:
        raise orders.ValidationError(
            {"body": "expected a JSON object (Content-Type: application/json)"}
        )
    return data


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
    }


@bp.post("/orders")
@token_required
def upsert_order():
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
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        return _problem(404, f"no order {number!r}")
    return jsonify(order_json(order))


@bp.post("/orders/<number>/payments")
@token_required
def add_payment(number: str):
    """Book a payment. Sent again with the same Idempotency-Key it is answered with the first
    response and stored once; the same reference again is the same payment, stored once."""
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
