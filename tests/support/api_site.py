"""Helpers of the JSON API crawl tests: scripted JSON answers on a LocalSite, saved bodies by case name."""

from __future__ import annotations

import json
from typing import Any

from tests.support.sites import DATA_DIR, Reply

JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}


def case_body(kind: str, case: str) -> bytes:
    """The body of a parser case (`tests/data/pages/<kind>/<case>/body`): crawls and parsers share them."""
    return (DATA_DIR / "pages" / kind / case / "body").read_bytes()


def json_reply(body: bytes | Any, status: int = 200, **headers: str) -> Reply:
    """A one-shot JSON answer; `body` is bytes as saved, or a value to serialise."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(status, {**JSON_TYPE, **headers}, data)
