"""vocwatch.testing.LocalSite: the real HTTP server the crawl tests and the demo serve feeds from."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from vocwatch.testing.localsite import LocalSite, Reply


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.fixture
def site(tmp_path: Path) -> LocalSite:
    (tmp_path / "feed.rss").write_bytes(b"<rss/>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_bytes(b"<p>hi</p>")
    return LocalSite(tmp_path)


def test_files_are_served_with_a_type_and_validators(site: LocalSite) -> None:
    with site:
        status, headers, body = fetch(site.url("/feed.rss"))
        assert (status, body, headers["Content-Type"]) == (200, b"<rss/>", "application/rss+xml")
        assert headers["ETag"].startswith('"') and "GMT" in headers["Last-Modified"]
        assert fetch(site.url("/feed.rss"), {"If-None-Match": headers["ETag"]})[0] == 304
        assert fetch(site.url("/sub/page.html"))[2] == b"<p>hi</p>"


def test_scripted_replies_come_first_once_each(site: LocalSite) -> None:
    with site:
        site.script("/feed.rss", Reply(429, {"Retry-After": "2"}, b"slow"), Reply(500, {}, b"oops"))
        first, second, third = (fetch(site.url("/feed.rss")) for _ in range(3))
    assert (first[0], first[1]["Retry-After"], first[2]) == (429, "2", b"slow")
    assert (second[0], third[0], third[2]) == (500, 200, b"<rss/>")
    assert [r.status for r in site.requests_for("/feed.rss")] == [429, 500, 200]


def test_fixed_content_and_headers_override_files(site: LocalSite) -> None:
    with site:
        site.set_content("/new.xml", "<rss>新</rss>".encode("gb18030"), content_type="text/xml; charset=gbk")
        site.set_headers("/feed.rss", {"Content-Type": "text/xml"})
        status, headers, body = fetch(site.url("/new.xml"))
        assert (status, headers["Content-Type"], body.decode("gb18030")) == (
            200,
            "text/xml; charset=gbk",
            "<rss>新</rss>",
        )
        assert fetch(site.url("/feed.rss"))[1]["Content-Type"] == "text/xml"


def test_paths_outside_the_root_and_missing_files_are_404(site: LocalSite, tmp_path: Path) -> None:
    (tmp_path.parent / "secret.txt").write_text("no")
    with site:
        assert fetch(site.url("/../secret.txt"))[0] == 404
        assert fetch(site.url("/%2e%2e/secret.txt"))[0] == 404
        assert fetch(site.url("/missing.xml"))[0] == 404


def test_a_stopped_site_refuses_connections(site: LocalSite) -> None:
    with site:
        url = site.url("/feed.rss")
    with pytest.raises(urllib.error.URLError):
        fetch(url)
