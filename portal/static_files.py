"""Static files that browsers keep: every `url_for('static', …)` carries the file's version
(`?v=` a hash of its content, the same on every portal machine), and a request for the current
version is answered as cacheable for a year, so a changed file is fetched at once under its new
URL and an unchanged one never again. A request with another or no version (an old bookmark, a
machine not yet upgraded behind the same load balancer) is answered `no-cache`: the browser asks
again and gets a 304 while the file is the same (Flask's ETag)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600


def register(app: Flask) -> None:
    folder = Path(app.static_folder)
    versions: dict[str, str] = {}  # filename -> version; the same value whichever thread wrote

    def version(filename: str) -> str | None:
        if app.debug or filename not in versions:  # in debug, files change under us
            # Only a file inside the static folder: a request may name "../../dev/zero", and
            # Flask asks for its max age before it refuses the path.
            path = safe_join(str(folder), filename)
            if path is None or not os.path.isfile(path):
                return None
            with open(path, "rb") as file:
                versions[filename] = hashlib.sha256(file.read()).hexdigest()[:12]
        return versions[filename]

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            found = version(values["filename"])
            if found:
                values["v"] = found

    def max_age(filename: str | None) -> int | None:
        """Flask asks this for every file it sends (exports too): a year only for a static
        file asked for by its current version."""
        wanted = request.args.get("v")
        if request.endpoint == "static" and filename and wanted and wanted == version(filename):
            return YEAR
        return None

    app.get_send_file_max_age = max_age
