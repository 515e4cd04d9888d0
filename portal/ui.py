"""The portal's pages: blueprints, shared helpers, Jinja filters and the error pages."""

from __future__ import annotations

from math import ceil

from flask import Flask, abort, make_response, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block

from ledger import lifecycle
from ledger.models import Merchant

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


class Page:
    """One page of a query's rows, with what the pager needs."""

    def __init__(self, rows: list, total: int, number: int, size: int = PAGE_SIZE):
        self.rows = rows
        self.total = total
        self.number = number
        self.size = size
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


def paginate(session, query, count_query, number: int, size: int = PAGE_SIZE) -> Page:
    total = session.scalar(count_query) or 0
    pages = max(ceil(total / size), 1)
    number = min(number, pages)
    rows = list(session.scalars(query.limit(size).offset((number - 1) * size)))
    return Page(rows, total, number, size)


def _non_empty(values: dict) -> dict:
    """Filter values worth keeping in a URL (pager links)."""
    return {key: value for key, value in values.items() if value}


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _error_page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    """Filters, globals and error pages shared by every page (the blueprints are registered by
    portal.init_portal; this module imports none of them)."""
    # Templates show an action only where the order lifecycle's transition table allows it.
    app.add_template_global(lifecycle.can, "can")
    app.add_template_filter(_label, "label")
    app.add_template_filter(_non_empty, "non_empty")

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        if request.path.startswith("/api/"):
            return exc
        return _error_page(
            400,
            "Form expired",
            "The form was missing its security token or it has expired. "
            "Reload the page and try again; nothing was changed.",
        )

    @app.errorhandler(404)
    def _not_found(exc):
        if request.path.startswith("/api/"):
            return exc  # the API's own answers are its business
        return _error_page(404, "Not found", exc.description or "There is nothing here.")

    @app.after_request
    def _vary_on_htmx(response):
        # The same URL answers with a whole page or a fragment: caches must keep them apart.
        if not request.path.startswith(("/api/", "/static/")):
            response.vary.add("HX-Request")
        return response


__all__ = ["PAGE_SIZE", "Page", "abort", "actor", "merchant", "paginate", "render_page"]
