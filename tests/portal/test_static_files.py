"""Static files: versioned URLs cached for a year, unversioned ones revalidated."""

from __future__ import annotations

import re


def test_static_urls_carry_the_file_version_and_are_cached_for_a_year(app):
    client = app.test_client()
    page = client.get("/login").get_data(True)
    url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    versioned = client.get(url)
    assert versioned.status_code == 200
    assert versioned.cache_control.max_age == 365 * 24 * 3600
    assert versioned.cache_control.public

    other = client.get("/static/app.css?v=0123456789ab")  # another machine's version
    assert other.status_code == 200 and other.cache_control.no_cache

    bare = client.get("/static/app.css")
    assert bare.status_code == 200 and bare.cache_control.no_cache
    etag = bare.headers["ETag"]
    assert client.get("/static/app.css", headers={"If-None-Match": etag}).status_code == 304


def test_a_missing_static_file_is_a_404_and_its_url_has_no_version(app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="nothing-here.js") == "/static/nothing-here.js"
    assert app.test_client().get("/static/nothing-here.js").status_code == 404


def test_a_download_is_never_cached_for_a_year(app, monkeypatch):
    """Flask asks the same hook for every file it sends: only static files get the year."""
    from io import BytesIO

    from flask import send_file

    with app.test_request_context("/orders/export.xlsx?v=1"):
        response = send_file(BytesIO(b"data"), download_name="x.xlsx")
        assert response.cache_control.max_age is None


def test_a_path_out_of_the_static_folder_is_never_read(app, monkeypatch):
    """Flask asks for a file's max age before it refuses a path like ../app.py: the version is
    looked up only inside the static folder (else "../../dev/zero" would be read whole)."""
    import hashlib
    from pathlib import Path

    from portal import static_files

    hashed, real = [], hashlib.sha256

    def sha256(data=b""):
        hashed.append(data)
        return real(data)

    monkeypatch.setattr(static_files.hashlib, "sha256", sha256)
    outside = (Path(app.root_path) / "app.py").read_bytes()
    assert app.test_client().get("/static/..%2Fapp.py?v=1").status_code == 404
    assert outside not in hashed
