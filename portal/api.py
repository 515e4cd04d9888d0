"""REST API for shops: /api/v1, bearer-token authenticated. Invalid input stores nothing."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, jsonify, request

from ledger import accounts, orders, rulesets, scheduling
from ledger.db import db
from ledger.models import Order

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
    version, program = rulesets.program_for(order)
    step = None
    if program and order.next_due_on:
        history = scheduling.order_history(order)
        upcoming = program.schedule(scheduling.order_facts(order), history, order.next_due_on)
        step = upcoming.steps[0] if upcoming.steps else None
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
        "status": order.status,
        "paid_amount": str(order.paid_total),
        "fees": str(order.fees_total),
        "open_amount": str(order.open_amount),
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
    order, created = orders.upsert_order(g.merchant, data, "api")
    db.session.commit()
    return jsonify(order_json(order)), 201 if created else 200


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
    order = orders.find_order(g.merchant.id, number)
    if order is None:
        db.session.rollback()
        return _problem(404, f"no order {number!r}")
    try:
        data = orders.parse_payment(_json_body())
    except orders.ValidationError as exc:
        db.session.rollback()
        return _problem(422, "invalid payment", exc.errors)
    orders.record_payment(order, data, "api")
    db.session.commit()
    return jsonify(order_json(order)), 201
