"""The audit log: every action of every user and of the system (the matcher, the daily run,
the shop's API), filterable by who, what, order and day, and exportable as CSV."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ledger.db import db
from ledger.models import AuditEntry, Order
from portal import exports
from portal.auth import require_login
from portal.ui import clean_url, page_number, paginate, partial_request, render_page

bp = Blueprint("audit_page", __name__)
bp.before_request(require_login)

MAX_TEXT = 254
EXPORT_LIMIT = 100_000  # rows in one CSV (the newest); the file says so when it is cut


def _day(text: str, label: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(_("%(field)s is not a date (YYYY-MM-DD): %(value)s", field=label, value=text))
        return None


def _filters() -> tuple[dict, list, list[str]]:
    """The filters as given (for the form), the query's conditions, and what was refused."""
    errors: list[str] = []
    values = {
        key: request.args.get(key, "").strip()[:MAX_TEXT]
        for key in ("actor", "action", "order", "since", "until")
    }
    conditions = [AuditEntry.merchant_id == current_user.merchant_id]
    if values["actor"]:
        conditions.append(AuditEntry.actor.contains(values["actor"], autoescape=True))
    if values["action"]:
        conditions.append(AuditEntry.action == values["action"])
    if values["order"]:
        conditions.append(
            AuditEntry.order_id.in_(
                select(Order.id).where(
                    Order.merchant_id == current_user.merchant_id, Order.number == values["order"]
                )
            )
        )
    zone = ZoneInfo(current_user.merchant.timezone or "Europe/Berlin")
    since = _day(values["since"], _("From"), errors)
    until = _day(values["until"], _("To"), errors)
    if since:
        conditions.append(AuditEntry.created_at >= _utc(since, zone))
    if until:
        conditions.append(AuditEntry.created_at < _utc(until + timedelta(days=1), zone))
    for key, day in (("since", since), ("until", until)):
        if values[key] and day is None:
            values[key] = ""
    return values, conditions, errors


def _utc(day: date, zone: ZoneInfo) -> datetime:
    """The start of the merchant's day, as the naive UTC the audit entries are stored in."""
    return datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@bp.get("/audit")
def audit_list():
    values, conditions, errors = _filters()
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
    matching = select(AuditEntry.id).where(*conditions)
    page = paginate(db.session, query, matching, page_number())
    numbers = _order_numbers({e.order_id for e in page.rows if e.order_id})
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.merchant_id == current_user.merchant_id)
        .group_by(AuditEntry.action)
        .order_by(AuditEntry.action)
    ).all()
    response = render_page(
        "audit/list.html",
        "results",
        page=page,
        filters=values,
        errors=errors,
        actions=actions,
        numbers=numbers,
    )
    if partial_request():
        response.headers["HX-Push-Url"] = clean_url("audit_page.audit_list", page.number, values)
    return response


def _order_numbers(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Order.id, Order.number).where(Order.id.in_(ids))).all())


@bp.get("/audit.csv")
def audit_csv():
    """The filtered log as CSV (newest first), for the accountant's files: streamed, the rows
    read in batches while the file is sent."""
    _values, conditions, _errors = _filters()
    named = aliased(Order)  # not the Order of the filter's subquery
    query = (
        select(AuditEntry, named.number)
        .outerjoin(named, named.id == AuditEntry.order_id)
        .where(*conditions)
        .order_by(AuditEntry.id.desc())
        .limit(EXPORT_LIMIT)
        .execution_options(yield_per=2000)
    )

    def rows():  # run while the file is sent (the view's session is gone by then)
        count = 0
        for entry, number in db.session.execute(query):
            count += 1
            yield [
                entry.created_at.isoformat(timespec="seconds"),
                entry.actor,
                entry.action,
                number or "",
                json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True),
            ]
        if count == EXPORT_LIMIT:
            yield ["", "", "", "", f"cut at {EXPORT_LIMIT} rows: narrow the filter for the rest"]

    header = ["time_utc", "actor", "action", "order", "detail"]
    return exports.csv_response("mahnwerk-audit", header, rows())
