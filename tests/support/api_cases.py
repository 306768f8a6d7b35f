"""Saved API responses of the JSON API kinds: `tests/data/pages/<kind>/<case>/{body,meta.json,expected.json}`.

`expected.json` spells the `ApiPage` a parser must return: the items (every field but `raw`, which is checked
to be the JSON of what the source sent), and how the crawl goes on. The recorded real responses in
`../shared/fixtures/<kind>/` are read too when that directory exists, to prove real shapes parse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from scrapy.http import Response

from crawlers.parsing.jsonapi import ApiPage
from tests.support.paths import DATA_DIR, SHARED_FIXTURES

PAGES_DIR = DATA_DIR / "pages"

Reader = Callable[..., ApiPage]


def cases(kind: str) -> list[Path]:
    return sorted(p for p in (PAGES_DIR / kind).iterdir() if p.is_dir())


def load_response(case: Path) -> Response:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    return Response(meta["url"], body=(case / "body").read_bytes(), headers=meta.get("headers"))


def page_to_jsonable(page: ApiPage) -> dict[str, Any]:
    """An ApiPage as expected.json spells it: ISO times, no `raw` (asserted separately)."""
    items = []
    for item in page.items:
        data = attrs.asdict(item)
        data["published_at"] = item.published_at.isoformat() if item.published_at else None
        del data["raw"]
        items.append(data)
    return {
        "items": items,
        "next_url": page.next_url,
        "follow_urls": list(page.follow_urls),
        "newest": page.newest,
        "truncated": page.truncated,
        "ordered": page.ordered,
    }


def assert_case(read: Reader, case: Path) -> None:
    page = read(load_response(case), source="test")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert page_to_jsonable(page) == expected
    for item in page.items:
        assert isinstance(json.loads(item.raw), dict)


def shared_fixtures(kind: str, *names: str) -> list[Path]:
    """Real recorded bodies of a kind (empty when ../shared/fixtures is not there)."""
    directory = SHARED_FIXTURES / kind
    return [directory / name for name in names if (directory / name).is_file()]


def load_shared(path: Path) -> Response:
    """A recorded body served as it was: URL and Content-Type (and Link) from its sidecar."""
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text(encoding="utf-8"))
    headers = {"Content-Type": meta.get("content_type") or "application/json"}
    for name, value in (meta.get("response_headers_subset") or {}).items():
        if name.lower() == "link":
            headers["Link"] = value[0] if isinstance(value, list) else value
    return Response(meta["original_url"], body=path.read_bytes(), headers=headers)
