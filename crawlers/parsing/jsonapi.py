"""What the JSON API parsers share: a page of items, reading the body, and the value conversions.

Social APIs answer JSON in which counts may be missing or null, times come as epoch seconds or ISO strings
with or without a zone, and nested objects may be absent. These helpers turn such values into the typed
fields of a MentionItem without raising on a missing key: one odd item must not lose the whole page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from scrapy.http import Response

from crawlers.errors import FeedError
from crawlers.items import MentionItem

# The mentions table keeps counts in INTEGER columns (32-bit on PostgreSQL): a larger "count" is a lie or a
# saturation, and storing it would fail the whole batch of mentions it arrived with.
MAX_COUNT = 2**31 - 1

__all__ = [
    "MAX_COUNT",
    "ApiPage",
    "as_count",
    "as_cursor",
    "as_list",
    "as_mapping",
    "as_str",
    "epoch_to_utc",
    "iso_to_utc",
    "primary_language",
    "raw_json",
    "read_json",
]


@attrs.frozen
class ApiPage:
    """One API response: its items and how the spider may go on.

    `next_url` continues the same listing (older items); `follow_urls` start new listings (e.g. a
    submission's comment tree); `newest` is an opaque marker of the newest item (an id or a time) that the
    next run can ask the API to start after; `truncated` says the source itself will not show more than
    this (a feed cap), so the run must report it; `ordered` is False where items are not newest first.
    """

    items: tuple[MentionItem, ...]
    next_url: str | None = None
    follow_urls: tuple[str, ...] = ()
    newest: str | None = None
    truncated: bool = False
    ordered: bool = True


def read_json(response: Response) -> Any:
    """The decoded body; FeedError when it is not JSON (an HTML error page, a truncated download).

    `json.loads` is given bytes, so it detects UTF-8/16/32 itself, whatever a server's header claims.
    """
    try:
        return json.loads(response.body)
    except ValueError as exc:
        raise FeedError(f"{response.url}: not a JSON document: {exc}") from None
    except RecursionError:  # nesting deeper than any API sends: a hostile or broken body
        raise FeedError(f"{response.url}: JSON nested too deeply to read") from None


def raw_json(value: Any) -> str:
    """What the source sent for one item, kept verbatim-equivalent for replaying a parser fix."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one where the source sent null, "" or something else."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """A JSON array, or an empty one where the source sent null, a number, a string or an object."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """A non-empty string, else None (APIs send "", null or a number where text was expected)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_cursor(value: Any) -> str | None:
    """A cursor or id to send back in the next page's URL (`after`, `cursor`, `max_id`), else None.

    Like `as_str`, but a string holding a lone surrogate (a JSON `\\ud800` escape) is None: it cannot be
    encoded into a URL, and the listing ends there rather than the whole page being lost to an error.
    """
    text = as_str(value)
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def as_count(value: Any) -> int | None:
    """A non-negative count; None when the source did not give one (not 0: that would be a claim).

    A negative number (a downvoted Reddit comment's score) becomes 0: reach is never negative, and the
    item validator would drop the whole mention over it. A count above MAX_COUNT is clamped to it; NaN,
    infinities and non-ASCII digits ("²", which `str.isdigit` accepts and `int` refuses) give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            return None
    if isinstance(value, int | float | str):
        return min(max(0, int(value)), MAX_COUNT)
    return None


def epoch_to_utc(value: Any) -> datetime | None:
    """Epoch seconds (int, float or numeric string) as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def iso_to_utc(value: Any) -> datetime | None:
    """An ISO 8601 time as aware UTC. A time without a zone is taken as UTC: that is what the APIs
    parsed here mean by it (Bluesky clients sometimes drop the `Z`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range by its offset
        return None


def primary_language(value: Any) -> str | None:
    """ "en-US" → "en": MentionItem.lang holds the primary subtag in lower case."""
    text = as_str(value)
    if text is None:
        return None
    return text.replace("_", "-").split("-", 1)[0].strip().lower() or None
