"""Generated Atom feeds for the reliability tests: many entries, paged per RFC 5005, ids known up front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["atom_page", "entry_id", "paged_feed"]

_EPOCH = datetime(2024, 3, 1, tzinfo=UTC)


def entry_id(feed: str, number: int) -> str:
    return f"urn:{feed}:post:{number}"


def atom_page(feed: str, numbers: range | list[int], *, next_href: str | None = None) -> bytes:
    """One Atom document listing the entries `numbers` (give them newest first), linking to `next_href`."""
    entries = "".join(
        f"<entry><id>{entry_id(feed, n)}</id><title>{feed} post {n}</title>"
        f'<link href="https://forum.example/{feed}/{n}"/>'
        f"<updated>{(_EPOCH + timedelta(minutes=n)).isoformat()}</updated>"
        f"<author><name>member{n}</name></author>"
        f'<content type="text">Post {n} of {feed}: the parcel arrived late again.</content></entry>'
        for n in numbers
    )
    link = f'<link rel="next" href="{next_href}"/>' if next_href else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{feed}</title><id>urn:{feed}:feed</id><updated>{_EPOCH.isoformat()}</updated>{link}{entries}</feed>"
    ).encode()


def paged_feed(feed: str, *, pages: int, per_page: int) -> dict[str, bytes]:
    """`{"/<feed>/page-1.atom": body, ...}`: `pages × per_page` entries, newest (highest number) first."""
    total = pages * per_page
    out = {}
    for page in range(1, pages + 1):
        top = total - (page - 1) * per_page
        numbers = range(top, top - per_page, -1)
        next_href = f"page-{page + 1}.atom" if page < pages else None
        out[f"/{feed}/page-{page}.atom"] = atom_page(feed, numbers, next_href=next_href)
    return out
