"""Saved-page parser cases: `tests/data/pages/<kind>/<case>/{body, meta.json, expected.json}`.

meta.json holds the page's `url` and `headers` (as the server sent them), the crawl time `now` that relative
dates are read against, and the source's `params`; expected.json the parser's exact output.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
from scrapy.http import Response

from crawlers.items import MentionItem
from tests.support.paths import DATA_DIR

PAGES = DATA_DIR / "pages"


def cases(kind: str) -> list[Path]:
    return sorted(p for p in (PAGES / kind).iterdir() if p.is_dir())


def load_case(case: Path) -> tuple[Response, dict[str, Any], datetime, Any]:
    """The raw response (bytes, not pre-decoded: decoding is under test), params, now, expected."""
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    response = Response(meta["url"], body=(case / "body").read_bytes(), headers=meta.get("headers"))
    expected_path = case / "expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else None
    return response, meta.get("params", {}), datetime.fromisoformat(meta["now"]), expected


def to_jsonable(item: MentionItem) -> dict[str, Any]:
    data = attrs.asdict(item)
    data["published_at"] = item.published_at.isoformat() if item.published_at else None
    return data
