"""Static files that browsers keep: every `url_for('static', …)` carries the file's version
(`?v=` its modification time), and a request with a version is answered as cacheable for a
year, so a changed file is fetched at once under its new URL and an unchanged one never again.
A request without a version (an old bookmark) is answered `no-cache`: the browser asks again
and gets a 304 while the file is the same (Flask's ETag)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request

YEAR = 365 * 24 * 3600


def register(app: Flask) -> None:
    folder = Path(app.static_folder)
    versions: dict[str, str] = {}

    def version(filename: str) -> str | None:
        if app.debug or filename not in versions:  # in debug, files change under us
            try:
                versions[filename] = str(int(os.stat(folder / filename).st_mtime))
            except OSError:
                return None
        return versions[filename]

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            found = version(values["filename"])
            if found:
                values["v"] = found

    def max_age(_filename: str | None) -> int | None:
        return YEAR if request.args.get("v") else None

    app.get_send_file_max_age = max_age
