"""The order page's "Re-read from the shop" (in the Order data card): fetch the order from the
merchant's shop URL and apply it like an API upsert; the page shows the changed fields, the
shop's values kept aside for fields edited by hand, or why it failed. The rules are
ledger/shop_sync.py."""

from __future__ import annotations

from flask import Blueprint, abort, current_app
from flask_babel import gettext as _
from flask_login import current_user

from ledger import orders, shop_sync
from ledger.db import db
from ledger.models import Order
from portal import reasons
from portal.auth import require_login
from portal.orders import order_context
from portal.ui import actor, render_page

bp = Blueprint("shop_sync", __name__)
bp.before_request(require_login)


def _translated(message: str, params: dict | None = None) -> str:
    return _(message, **(params or {}))


def _view(result: shop_sync.Result) -> dict:
    """The result as the template shows it: field keys (named by the `detail_label` filter)."""
    if result.ok:
        return {
            "ok": True,
            "changes": [(k, old, new) for k, (old, new) in result.changes.items()],
            "kept": sorted(result.kept_aside.items()),
        }
    if result.refusal is not None:
        error = _("refused: %(reason)s", reason=reasons.refusal_text(result.refusal))
    else:
        error = _translated(result.error, result.params)
    return {"ok": False, "error": error, "fields": sorted(result.fields.items())}


@bp.post("/orders/<number>/reread")
def reread(number: str):
    order = orders.find_order(current_user.merchant_id, number)
    if order is None:
        abort(404, _("There is no order %(number)s.", number=repr(number)))
    private = current_app.config["WEBHOOK_PRIVATE_ADDRESSES"]
    result = shop_sync.reread(order, actor(), private_addresses=private)
    order = db.session.get(Order, order.id, populate_existing=True)
    return render_page(
        "orders/detail.html",
        "order",
        status=200 if result.ok else 422,
        **order_context(order, reread=_view(result)),
    )
