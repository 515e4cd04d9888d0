"""The dashboard, the first page after login: the book today and over time.

The book-wide figures come from the merchant's snapshot (ledger.dashboard: recomputed by the
worker after each daily run and bank import, nightly and on request), the work waiting from
indexed live counts: the page costs a few small queries however large the book is."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, current_app, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ledger import dashboard
from ledger.clock import today_for
from ledger.db import db
from portal.auth import require_login
from portal.charts import bar_chart
from portal.ui import merchant, partial_request, render_page

bp = Blueprint("dashboard", __name__)
bp.before_request(require_login)

AGE_LABELS = {
    "not_due": _l("not yet due"),
    "0_14": _l("0–14 days"),
    "15_30": _l("15–30 days"),
    "31_60": _l("31–60 days"),
    "61_90": _l("61–90 days"),
    "over_90": _l("more than 90 days"),
}


def _amounts(tally: dict) -> dict:
    """A stored tally with its amounts as Decimal."""
    return {
        "count": tally["count"],
        "amounts": {c: Decimal(a) for c, a in tally["amounts"].items()},
    }


def _figures(stored: dict) -> dict:
    """The snapshot's JSON ready for the template: Decimals, dates, the charts."""
    filters = current_app.jinja_env.filters
    opened = stored["open"]
    figures = {
        "today": date.fromisoformat(stored["today"]),
        "currencies": stored["currencies"],
        "total": _amounts(opened["total"]),
        "by_method": {k: _amounts(v) for k, v in opened["by_method"].items()},
        "by_age": [(k, AGE_LABELS[k], _amounts(opened["by_age"][k])) for k in AGE_LABELS],
        "by_status": {k: _amounts(v) for k, v in opened["by_status"].items()},
        "recovery": [
            level | {"amounts": {c: Decimal(a) for c, a in level["amounts"].items()}}
            for level in stored["recovery"]
        ],
        "months": [
            {
                "month": date.fromisoformat(m["month"] + "-01"),
                "cancelled": _amounts(m["cancelled"]),
                "sales": _amounts(m["sales"]),
            }
            for m in stored["months"]
        ],
    }
    figures["age_chart"] = bar_chart(
        "chart-age",
        _("Open orders by days past due"),
        [str(label) for _key, label, _tally in figures["by_age"]],
        [(_("Orders"), [tally["count"] for _key, _label, tally in figures["by_age"]])],
        filters["number"],
        _("The table below gives the count and the open amount of each group."),
    )
    figures["recovery_chart"] = bar_chart(
        "chart-recovery",
        _("Paid within 14 days of the reminder, by dunning level"),
        [_("Level %(level)s", level=level["level"]) for level in figures["recovery"]],
        [(_("Paid"), [level["rate"] or 0 for level in figures["recovery"]])],
        filters["percent"],
        _("The table below gives the orders reminded, paid and the amount recovered."),
    )
    newest_first = figures["months"][::-1]  # as in the table
    figures["months_chart"] = bar_chart(
        "chart-months",
        _("Sales and cancelled unpaid prepayment orders per month"),
        [filters["month"](m["month"]) for m in newest_first],
        [
            (_("Sales"), [m["sales"]["count"] for m in newest_first]),
            (_("Cancelled unpaid"), [m["cancelled"]["count"] for m in newest_first]),
        ],
        filters["number"],
        _("The table below gives the counts and amounts of each month."),
    )
    return figures


def _context() -> dict:
    shop = merchant()
    today = today_for(shop)
    row = dashboard.snapshot(shop.id)
    if row is None:  # a new merchant (or a new installation): compute once, here
        try:
            row = dashboard.refresh(shop, today)
            db.session.commit()
        except IntegrityError:  # another tab or the worker stored the first snapshot meanwhile
            db.session.rollback()
            row = dashboard.snapshot(shop.id)
    return {
        "today": today,
        "row": row,
        "pending": dashboard.pending(row),
        "figures": _figures(row.figures),
        "live": dashboard.live(shop, today),
        "stale_days": dashboard.STALE_BANK_DAYS,
        "recovery_days": dashboard.RECOVERY_DAYS,
    }


@bp.get("/dashboard")
def page():
    return render_page("dashboard/page.html", "figures", **_context())


@bp.post("/dashboard/recompute")
def recompute():
    """Ask the worker for fresh figures; the page shows it is waiting and looks again."""
    dashboard.request_refresh(current_user.merchant_id)
    if not partial_request():
        return redirect(url_for("dashboard.page"))
    return render_page("dashboard/page.html", "figures", **_context())
