"""Logging in and out of the portal, and the login check every other page uses."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ledger import accounts
from ledger.db import db
from portal import login_manager

bp = Blueprint("auth", __name__)


def require_login():
    """`before_request` hook for the page blueprints: every page needs a logged-in user."""
    if current_user.is_authenticated:
        return None
    if request.htmx:
        # A fragment would land inside the page; send the whole browser to the login page.
        response = login_manager.unauthorized()
        response.status_code = 401
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    return login_manager.unauthorized()


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the login page cannot be used to send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("orders.order_list"))
    error = None
    email = ""
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        user = accounts.authenticate(email, password) if email and password else None
        if user is None:
            db.session.rollback()
            error = "Wrong email address or password."
            if not email or not password:
                error = "Please enter your email address and your password."
            status = 401
        else:
            db.session.commit()  # last_login_at, and a password hash upgrade if any
            login_user(user)
            return redirect(next_url or url_for("orders.order_list"))
    return render_template("auth/login.html", error=error, email=email, next=next_url), status


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
