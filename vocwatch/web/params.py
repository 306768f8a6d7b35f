"""Row ids from URLs and forms, checked before they reach the database.

Any number a user types ends up as a bound parameter; one past BIGINT overflows the SQLite driver and
PostgreSQL refuses it, so unchecked it would be a 500 (an error page any viewer could trigger at will).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

__all__ = ["NO_SUCH_ID", "RowId", "parse_id"]

_MAX_ID = 2**63 - 1

RowId = Annotated[int, Path(ge=1, le=_MAX_ID)]
"""A path parameter naming a row: out of range is a 422, not a database error."""

NO_SUCH_ID = -1
"""An id no row can have (ids are positive): a filter or action on it matches nothing."""


def parse_id(text: str) -> int | None:
    """A typed row id: None when `text` is not ASCII digits, NO_SUCH_ID when it is too long for BIGINT.

    ASCII only, since str.isdigit() also accepts "²" (which int() refuses) and other scripts' digits; the
    length is checked before int(), which refuses more than 4300 digits.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    return int(significant) if len(significant) <= 18 else NO_SUCH_ID
