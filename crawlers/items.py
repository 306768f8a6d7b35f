"""Typed items the spiders yield and the pipelines store.

Items are plain immutable values (no ORM, no Scrapy `Item` fields) so that parsers can be tested by
comparing them, and the store pipeline maps them onto `storage.mentions.NewMention` in one place.
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["MAX_EXTERNAL_ID_LENGTH", "MentionItem", "mention_problems"]


@attrs.frozen(kw_only=True)
class MentionItem:
    """One piece of customer voice as a source showed it; identity is (source, external_id).

    `text` is cleaned (HTML removed, entities decoded, whitespace normalised) because the analyzer and the
    content hash read it; `raw` keeps what the source sent, so a parsing bug can be fixed and replayed
    without crawling again. Reach fields stay None where a source does not report them (0 would be a lie).
    """

    source: str  # the configured source name (sources.name)
    external_id: str  # the source's own id (guid, status id, ...); "" marks a malformed item
    url: str
    text: str
    raw: str = ""
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None  # tz-aware UTC
    rating: float | None = None  # normalised to 0..1
    lang: str | None = None  # the source's language hint (primary subtag, lower case)
    author_followers: int | None = None
    score: int | None = None
    replies: int | None = None
    reposts: int | None = None
    likes: int | None = None
    # The source's id of what this item replies to or comments on (a comment's parent comment or post),
    # and of the thread's root (the submission, story or root post); None for top-level items.
    parent_external_id: str | None = None
    thread_external_id: str | None = None


_REACH_FIELDS = ("author_followers", "score", "replies", "reposts", "likes")
MAX_EXTERNAL_ID_LENGTH = 1024  # mentions.external_id is VARCHAR(1024)


def mention_problems(item: object) -> list[str]:
    """What makes an item unstorable, as short reasons ([] when it is fine).

    The parsers yield what a source gave them; this is the one place that decides what is too broken to
    store, so every kind drops (and counts) malformed items the same way.
    """
    if not isinstance(item, MentionItem):
        return [f"not a MentionItem: {type(item).__name__}"]
    problems = []
    if not item.external_id:
        problems.append("no id (no guid/id and no link)")
    elif len(item.external_id) > MAX_EXTERNAL_ID_LENGTH:
        problems.append(f"id longer than {MAX_EXTERNAL_ID_LENGTH} characters")
    if not item.text.strip():
        problems.append("no text")
    if item.url and not item.url.startswith(("http://", "https://")):
        problems.append(f"not an http(s) URL: {item.url[:100]!r}")
    if item.published_at is not None and item.published_at.utcoffset() is None:
        problems.append("published_at has no time zone")
    if item.rating is not None and not 0.0 <= item.rating <= 1.0:
        problems.append(f"rating {item.rating} outside 0..1")
    for name in ("parent_external_id", "thread_external_id"):
        if len(getattr(item, name) or "") > MAX_EXTERNAL_ID_LENGTH:
            problems.append(f"{name} longer than {MAX_EXTERNAL_ID_LENGTH} characters")
    problems.extend(f"{name} is negative" for name in _REACH_FIELDS if (getattr(item, name) or 0) < 0)
    return problems
