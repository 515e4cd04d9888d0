"""GET /api/docs: the OpenAPI document (portal/api.py, generated from ledger/schemas.py) as a
page for people. Open without a login, like the document itself: a shop's developer needs it
before anyone has a portal account."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask import Blueprint, render_template

from portal.api import openapi_document

bp = Blueprint("api_docs", __name__)

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass
class Row:
    name: str
    type: str
    required: bool
    limits: list[str]
    description: str


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Row]
    body: list[Row]
    body_name: str | None
    example: str | None
    responses: list[tuple[str, str, str | None]]  # status, description, schema name


@dataclass
class Model:
    name: str
    description: str
    rows: list[Row] = field(default_factory=list)


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


class _Reader:
    def __init__(self, document: dict):
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict) -> dict:
        seen = 0
        while "$ref" in schema and seen < 20:
            schema = self.components.get(_name(schema["$ref"]), {})
            seen += 1
        return schema

    def type(self, schema: dict) -> str:
        if "$ref" in schema:
            target = self.resolve(schema)
            return f"object ({target.get('title', _name(schema['$ref']))})"
        if "anyOf" in schema:
            return " or ".join(dict.fromkeys(self.type(s) for s in schema["anyOf"]))
        kind = schema.get("type", "any")
        if kind == "array":
            return f"list of {self.type(schema.get('items', {}))}"
        if "format" in schema and kind == "string":
            return f"string ({schema['format']})"
        return str(kind)

    def limits(self, schema: dict) -> list[str]:
        out: list[str] = []
        for branch in schema.get("anyOf", [schema]):
            if "$ref" in branch or branch.get("type") == "null":
                continue
            low, high = branch.get("minLength"), branch.get("maxLength")
            if low is not None and high is not None:
                out.append(f"{low}–{high} characters")
            elif high is not None:
                out.append(f"at most {high} characters")
            if "maxItems" in branch:
                out.append(f"at most {branch['maxItems']} items")
            if "enum" in branch:
                out.append("one of " + ", ".join(str(v) for v in branch["enum"]))
            if "pattern" in branch:
                out.append(f"pattern {branch['pattern']}")
            if "exclusiveMinimum" in branch:
                out.append(f"> {branch['exclusiveMinimum']}")
            if "maximum" in branch:
                out.append(f"≤ {branch['maximum']:f}".rstrip("0").rstrip("."))
            if "multipleOf" in branch:
                out.append(f"multiple of {branch['multipleOf']}")
            items = branch.get("items")
            if isinstance(items, dict) and "$ref" not in items:
                out += [f"each: {text}" for text in self.limits(items)]
        return out

    @staticmethod
    def description(schema: dict) -> str:
        texts = [schema.get("description")]
        texts += [s.get("description") for s in schema.get("anyOf", [])]
        if isinstance(schema.get("items"), dict):
            texts.append(schema["items"].get("description"))
        return " ".join(dict.fromkeys(t for t in texts if t))

    def rows(self, schema: dict, prefix: str = "", depth: int = 0) -> list[Row]:
        schema = self.resolve(schema)
        required = set(schema.get("required", []))
        rows = []
        for name, prop in schema.get("properties", {}).items():
            rows.append(
                Row(
                    prefix + name,
                    self.type(prop),
                    name in required,
                    self.limits(prop),
                    self.description(prop),
                )
            )
            if "$ref" in prop and depth < 3:
                rows += self.rows(prop, f"{prefix}{name}.", depth + 1)
        return rows


def _operations(document: dict, reader: _Reader) -> list[Operation]:
    operations = []
    for path, methods in document.get("paths", {}).items():
        for method in METHOD_ORDER:
            op = methods.get(method)
            if op is None:
                continue
            parameters = [
                Row(
                    f"{p['name']} ({p['in']})",
                    reader.type(p.get("schema", {})),
                    p.get("required", False),
                    reader.limits(p.get("schema", {})),
                    p.get("description", ""),
                )
                for p in op.get("parameters", [])
            ]
            body_schema = (
                op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ).get("schema")
            body, body_name, example = [], None, None
            if body_schema:
                target = reader.resolve(body_schema)
                body = reader.rows(body_schema)
                body_name = target.get("title")
                if target.get("examples"):
                    example = json.dumps(target["examples"][0], indent=2, ensure_ascii=False)
            responses = []
            for status, answer in op.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                model = reader.resolve(schema).get("title") if schema else None
                responses.append((status, answer.get("description", ""), model))
            operations.append(
                Operation(
                    method.upper(),
                    path,
                    op.get("summary", ""),
                    op.get("description", ""),
                    parameters,
                    body,
                    body_name,
                    example,
                    sorted(responses),
                )
            )
    return operations


def _response_models(document: dict, reader: _Reader) -> list[Model]:
    """The answers' schemas (the request bodies are shown with their operations)."""
    names: dict[str, None] = {}
    for methods in document.get("paths", {}).values():
        for op in methods.values():
            for answer in op.get("responses", {}).values():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if "$ref" in schema:
                    names[_name(schema["$ref"])] = None
    models = []
    for name in names:
        schema = reader.components.get(name, {})
        models.append(
            Model(schema.get("title", name), schema.get("description", ""), reader.rows(schema))
        )
    return models


@bp.get("/api/docs")
def page():
    document = openapi_document()
    reader = _Reader(document)
    return render_template(
        "api/docs.html",
        info=document.get("info", {}),
        operations=_operations(document, reader),
        models=_response_models(document, reader),
        security=document.get("components", {}).get("securitySchemes", {}),
    )
