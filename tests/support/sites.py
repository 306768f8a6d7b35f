"""Local HTTP sites for crawl tests: a real server on 127.0.0.1, port 0, serving `tests/data`.

Fixtures:
- `local_site`  a started `vocwatch.testing.localsite.LocalSite` rooted at `tests/data` (conditional GET on:
                ETag + 304, like a real static server); script 429/500 replies with `site.script(...)`.
- `plain_site`  the same without conditional GET, so a second crawl re-reads unchanged feeds.

`serve_page_case(site, case_dir)` serves a parser case (`tests/data/pages/<kind>/<case>/body`) with the
headers from its `meta.json` and returns its URL, so crawl tests and parser tests share one set of bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import DATA_DIR
from vocwatch.testing.localsite import LocalSite, RecordedRequest, Reply

__all__ = ["DATA_DIR", "LocalSite", "RecordedRequest", "Reply", "local_site", "plain_site", "serve_page_case"]


def serve_page_case(site: LocalSite, case_dir: Path) -> str:
    """URL of a parser case's body on `site`, answered with the case's recorded headers."""
    path = "/" + case_dir.resolve().relative_to(DATA_DIR).as_posix() + "/body"
    meta = json.loads((case_dir / "meta.json").read_text(encoding="utf-8"))
    site.set_headers(path, meta.get("headers", {}))
    return site.url(path)


@pytest.fixture
def local_site() -> Iterator[LocalSite]:
    with LocalSite(DATA_DIR) as site:
        yield site


@pytest.fixture
def plain_site() -> Iterator[LocalSite]:
    with LocalSite(DATA_DIR, conditional=False) as site:
        yield site
