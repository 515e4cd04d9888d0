"""Security headers on every response, and the client address behind trusted proxies.

The Content-Security-Policy allows scripts and styles from the portal's own origin only: no
inline <script>, style="…" or <style> anywhere in templates/ (htmx's indicator CSS is switched
off in base.html's htmx-config meta tag and lives in static/app.css instead). With
MAHNWERK_HTTPS=1 (production behind TLS) every response also carries HSTS, and the cookies are
Secure (app.py's _config).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies:
        # request.remote_addr (the login throttle's address) and the scheme as the proxy saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("MAHNWERK_HTTPS"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
