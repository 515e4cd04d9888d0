"""The API contract: GET /api/v1/openapi.json is valid OpenAPI 3.1 generated from the models that
validate the requests, the docs page shows it, and schemathesis drives the app in-process from
that document: no server error, every response as documented."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

RULES = "vorkasse after 14 days: remind; after 21 days: cancel and notify accounting\n"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_headers(app, make_merchant):
    """A merchant with rules and one order (the document's own example, AK-10001)."""
    from ledger import rulesets
    from ledger.accounts import find_merchant
    from ledger.db import db

    info = make_merchant()
    with app.app_context():
        rulesets.save_and_activate(find_merchant(info["name"]), RULES, "test")
        db.session.commit()
    headers = {"Authorization": f"Bearer {info['token']}"}
    client = app.test_client()
    example = client.get("/api/v1/openapi.json").json["components"]["schemas"]["OrderIn"]
    created = client.post("/api/v1/orders", json=example["examples"][0], headers=headers)
    assert created.status_code == 201, created.json
    return headers


def test_the_document_is_valid_openapi_generated_from_the_models(app):
    from ledger import schemas
    from portal.api import openapi_document

    document = app.test_client().get("/api/v1/openapi.json").json
    assert document == json.loads(json.dumps(openapi_document()))
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.1 meta-schema
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    components = document["components"]["schemas"]
    # The request bodies are the models' own JSON schemas, not a second copy of the rules.
    order_schema = schemas.OrderIn.model_json_schema(ref_template="#/components/schemas/{model}")
    order_schema.pop("$defs")
    assert components["OrderIn"] == order_schema
    assert components["PaymentIn"] == schemas.PaymentIn.model_json_schema()
    number = components["OrderIn"]["properties"]["number"]
    assert number["pattern"] == schemas.NUMBER_PATTERN and number["maxLength"] == 64
    assert components["OrderIn"]["properties"]["tags"]["maxItems"] == 20
    assert components["OrderIn"]["properties"]["tags"]["items"]["maxLength"] == 40

    expected = {
        ("/api/v1/orders", "post"): {"200", "201", "401", "413", "422"},
        ("/api/v1/orders/{number}", "get"): {"200", "401", "404"},
        ("/api/v1/orders/{number}/payments", "post"): {
            "200", "201", "401", "404", "409", "413", "422",
        },
        ("/api/v1/bank-accounts", "get"): {"200", "401"},
        ("/api/v1/bank-accounts", "post"): {"201", "401", "413", "422"},
        ("/api/v1/bank-statements", "post"): {"201", "401", "413", "422"},
        ("/api/v1/orders/{number}/invoice", "post"): {"201", "401", "404", "413", "415", "422"},
        ("/api/v1/orders/{number}/collection", "post"): {
            "200", "401", "404", "409", "413", "422",
        },
        ("/api/v1/bounces", "post"): {"202", "401", "413", "422"},
    }  # fmt: skip
    found = {(p, m): set(op["responses"]) for p, ops in document["paths"].items()
             for m, op in ops.items()}  # fmt: skip
    assert found == expected
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs and all(ref.rsplit("/", 1)[-1] in components for ref in refs)
    problem = components["Problem"]
    assert set(problem["properties"]) == {"error", "errors"}
    field_error = components[problem["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(field_error["properties"]) == {"field", "message"}
    payments = document["paths"]["/api/v1/orders/{number}/payments"]["post"]
    assert [p["name"] for p in payments["parameters"]] == ["number", "Idempotency-Key"]


def test_the_docs_page_shows_the_document(app, make_merchant):
    from tests.portal.conftest import login

    anonymous = app.test_client()
    page = anonymous.get("/api/docs")
    assert page.status_code == 200  # no login needed: a shop's developer reads it first
    html = page.get_data(as_text=True)
    for text in (
        "POST /api/v1/orders",
        "GET /api/v1/orders/{number}",
        "POST /api/v1/orders/{number}/payments",
        "customer.email",
        "Idempotency-Key",
        "1–200 characters",
        "at most 20 items",
        "one of prepayment, vorkasse, invoice, rechnung, cod, nachnahme",
        "at most 10 digits before",
        "2000-01-01",
        'href="/api/v1/openapi.json"',
        "OrderRead",
    ):
        assert text in html, text
    assert "http://" not in html and "https://" not in html  # nothing from a CDN

    info = make_merchant()
    portal = app.test_client()
    assert login(portal, info["email"], info["password"]).status_code == 302
    orders_page = portal.get("/orders").get_data(as_text=True)
    assert 'href="/api/docs"' in orders_page
    assert 'href="/api/docs" aria-current="page"' in portal.get("/api/docs").get_data(as_text=True)


OPERATIONS = [
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders/{number}"),
    ("POST", "/api/v1/orders/{number}/payments"),
    ("GET", "/api/v1/bank-accounts"),
    ("POST", "/api/v1/bank-accounts"),
    ("POST", "/api/v1/bank-statements"),
    ("POST", "/api/v1/orders/{number}/collection"),
    ("POST", "/api/v1/bounces"),
]
# A returned mail (POST /api/v1/bounces) goes as its raw bytes, like a binary upload.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
ORDER = "AK-10001"  # the document's example order, created by api_headers
EXAMPLES = 30  # per operation and mode: 14 x 30 = 420 requests


# (A GET without parameters, a body of any bytes: nothing a negative case could break.)
NOTHING_TO_BREAK = {("GET", "/api/v1/bank-accounts"), ("POST", "/api/v1/bounces")}
CASES = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (mode == GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_BREAK)
]


def _hand_over(app, number: str) -> None:
    from ledger import collection, lifecycle, orders
    from ledger.db import db
    from ledger.models import Order

    with app.app_context():
        order = db.session.scalar(db.select(Order).where(Order.number == number))
        order.merchant.collection_partner = "Inkasso Nord GmbH"
        cause = lifecycle.Cause("test", "manual", order.ordered_on)
        collection.hand_over(orders.find_order(order.merchant_id, number), cause)
        db.session.commit()


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=str)
def test_schemathesis(app, api_headers, method, path, mode):
    """Generated requests (valid ones, and ones the schema forbids) against the app in-process:
    no 5xx, and every answer's status, content type, headers and body as documented.
    (schemathesis' own pytest plugin, `from_fixture`, does not run under pytest 9: its lazy
    schema writes `node._nodeid`; so the strategy goes through hypothesis directly.)"""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.validate()
    operation = schema[path][method]
    statuses: list[int] = []

    # Payments go to the order that exists, so that their bodies reach the ledger; the GET
    # tries generated numbers (found or not).
    fixed = {"number": ORDER} if path.endswith(("/payments", "/collection")) else None
    if path.endswith("/collection"):  # reports go to a case: the order is handed over first
        _hand_over(app, ORDER)
    # The token is fixed too: negative cases then break the body and parameters, not the token.
    strategy = operation.as_strategy(mode, path_parameters=fixed, headers=api_headers)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call_and_validate(checks=CHECKS, headers=api_headers)
        statuses.append(response.status_code)

    run()
    assert statuses
    print(f"{method} {path} {mode}: {len(statuses)} requests, statuses {sorted(set(statuses))}")
