"""Writing new mentions exactly once, and claiming them for analysis."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import MentionStatus, TouchpointOrigin
from storage.models import Mention, MentionTopic, Topic

__all__ = [
    "InsertResult",
    "NewMention",
    "analysis_text",
    "claim_with_lease",
    "content_hash",
    "count_new",
    "insert_new_mentions",
    "known_external_ids",
    "list_new",
    "lock_new",
    "lock_own_claims",
    "normalise_for_hash",
    "placeable_after",
    "ranked_topics",
    "release_claims",
    "renew_leases",
]

_T = TypeVar("_T")

# Well below SQLite's and PostgreSQL's bound-parameter limits for IN (...) lists.
_IN_CHUNK = 500


def analysis_text(title: str | None, text: str) -> str:
    """What the model reads of a mention: the title carries the story in news and forum posts, so it leads.

    The one definition for analysis, alert quotes and CX corrections, so that a correction is learned from
    (and evaluated on) exactly the text the model saw.
    """
    if title and title not in text:
        return f"{title}. {text}"
    return text


@dataclass(frozen=True, kw_only=True)
class NewMention:
    """A mention as a crawler hands it over: plain values, no ORM, times tz-aware UTC."""

    source_id: int
    external_id: str
    url: str
    text: str
    collected_at: datetime
    raw: str = ""
    title: str | None = None
    author: str | None = None
    lang: str | None = None
    rating: float | None = None
    published_at: datetime | None = None
    author_followers: int | None = None
    score: int | None = None
    replies: int | None = None
    reposts: int | None = None
    likes: int | None = None
    parent_external_id: str | None = None  # the source's id of the item this one replies to
    thread_external_id: str | None = None  # the source's id of the thread's root item
    touchpoint_id: int | None = None
    touchpoint_origin: TouchpointOrigin = TouchpointOrigin.DEFAULT


@dataclass(frozen=True)
class InsertResult:
    """What one `insert_new_mentions` call did.

    `duplicates` counts items already stored under the same (source, external_id), i.e. seen by an
    earlier crawl (or twice in this batch); `copies` counts NEW rows whose text matched an earlier
    mention's and that were linked to it through `duplicate_of_id`.
    """

    new_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    copies: int = 0


def normalise_for_hash(text: str) -> str:
    """Fold the differences that cross-posting introduces: Unicode forms, case and whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    """SHA-256 hex of the normalised text: equal for copies of the same text posted elsewhere."""
    return _sha256(normalise_for_hash(text))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def insert_new_mentions(session: Session, items: Sequence[NewMention]) -> InsertResult:
    """Insert the items that are not stored yet; a rerun of the same crawl inserts nothing.

    The database decides what is new (ON CONFLICT (source_id, external_id) DO NOTHING), so concurrent
    crawlers cannot insert the same mention twice. Rows are inserted one statement at a time so that the
    id RETURNING gives back belongs to a known item and a copy within the same batch can point at the
    first one; crawl batches are small (~100), so this costs little.
    An item whose normalised text is empty is never linked as a copy: empty texts say nothing alike.
    """
    normalised = [normalise_for_hash(item.text) for item in items]
    hashes = [_sha256(text) for text in normalised]
    originals = _first_mention_by_hash(session, {h for h, n in zip(hashes, normalised, strict=True) if n})
    new_ids: list[int] = []
    duplicates = copies = 0
    for item, digest, text in zip(items, hashes, normalised, strict=True):
        linkable = bool(text)
        duplicate_of_id = originals.get(digest) if linkable else None
        stmt = (
            insert_for(session, Mention)
            .values(
                source_id=item.source_id,
                external_id=item.external_id,
                url=item.url,
                author=item.author,
                title=item.title,
                text=item.text,
                raw=item.raw,
                lang=item.lang,
                rating=item.rating,
                published_at=item.published_at,
                collected_at=item.collected_at,
                author_followers=item.author_followers,
                score=item.score,
                replies=item.replies,
                reposts=item.reposts,
                likes=item.likes,
                parent_external_id=item.parent_external_id,
                thread_external_id=item.thread_external_id,
                content_hash=digest,
                duplicate_of_id=duplicate_of_id,
                touchpoint_id=item.touchpoint_id,
                touchpoint_origin=item.touchpoint_origin,
                status=MentionStatus.NEW,
            )
            .on_conflict_do_nothing(index_elements=[Mention.source_id, Mention.external_id])
            .returning(Mention.id)
        )
        new_id = session.execute(stmt).scalar_one_or_none()
        if new_id is None:
            duplicates += 1
            continue
        new_ids.append(new_id)
        if duplicate_of_id is not None:
            copies += 1
        elif linkable:
            originals[digest] = new_id
    return InsertResult(new_ids=new_ids, duplicates=duplicates, copies=copies)


def known_external_ids(session: Session, source_id: int, external_ids: Collection[str]) -> set[str]:
    """The subset of `external_ids` already stored for the source: a crawler stops paginating at them."""
    known: set[str] = set()
    for chunk in _chunks(list(external_ids), _IN_CHUNK):
        known.update(
            session.scalars(
                select(Mention.external_id).where(
                    Mention.source_id == source_id, Mention.external_id.in_(chunk)
                )
            )
        )
    return known


def list_new(session: Session, *, limit: int, now: datetime) -> list[Mention]:
    """The oldest `new` mentions that no scale-out worker holds under a live lease; nothing is locked.

    The embedded analyzer (`vocwatch.stages.analyze_pending`) reads a batch with this, runs the model with
    no transaction open, then stores the results for the mentions `lock_new` finds still `new`: on SQLite
    a transaction holds the database's only write lock, and holding it through a batch's model time
    starved the crawl and the dispatcher into "database is locked".
    """
    return list(session.scalars(_unleased_new(limit=limit, now=now)))


def _unleased_new(*, limit: int, now: datetime) -> Select[Mention]:
    """The oldest `new` mentions whose lease (if any) ran out: what both analysis paths read."""
    return (
        select(Mention)
        .where(
            Mention.status == MentionStatus.NEW,
            or_(Mention.lease_expires_at.is_(None), Mention.lease_expires_at < now),
        )
        .order_by(Mention.id)
        .limit(limit)
    )


def lock_new(session: Session, *, mention_ids: Collection[int]) -> list[Mention]:
    """The mentions of `mention_ids` that are still `new`, locked until the caller's transaction ends.

    Called in the transaction that stores their analyses: one analyzed meanwhile (by a worker, or a second
    analyzer) is left out, so no mention gets a second analysis. Rows are locked without SKIP LOCKED: a
    concurrent store either committed before (left out) or waits for this one (and then leaves them out).
    """
    return _lock_still_new(session, mention_ids)


def claim_with_lease(
    session: Session, *, worker: str, limit: int, now: datetime, lease: timedelta
) -> list[Mention]:
    """Claim the oldest `new` mentions that nobody holds (or whose holder's lease ran out) for `worker`.

    The caller commits at once and analyzes OUTSIDE any transaction: a worker holds no row lock while the
    model runs, and a worker that dies mid-batch blocks its mentions for one lease only, after which any
    worker claims them again. SKIP LOCKED makes concurrent claims take disjoint batches without waiting
    (SQLite ignores it; its BEGIN IMMEDIATE serialises the claims instead).
    """
    mentions = list(session.scalars(_unleased_new(limit=limit, now=now).with_for_update(skip_locked=True)))
    for mention in mentions:
        mention.claimed_by = worker
        mention.lease_expires_at = now + lease
    return mentions


def count_new(session: Session) -> int:
    """Mentions still waiting for analysis, claimed or not: 0 means the queue is really empty."""
    return session.scalar(select(func.count()).where(Mention.status == MentionStatus.NEW)) or 0


def renew_leases(session: Session, *, worker: str, mention_ids: Collection[int], until: datetime) -> int:
    """Extend `worker`'s leases on the mentions it still holds; returns how many it still holds.

    A worker renews while it analyzes, so a lease only has to outlast the gap between renewals, not a
    whole batch on a slow or busy machine; a killed worker stops renewing and its claim runs out.
    """
    result = session.execute(
        update(Mention)
        .where(
            Mention.id.in_(list(mention_ids)),
            Mention.status == MentionStatus.NEW,
            Mention.claimed_by == worker,
        )
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_claims(session: Session, *, worker: str) -> int:
    """Give back every `new` mention `worker` holds, for any worker to claim at once; returns how many.

    A worker whose batch failed on the database (PostgreSQL restarted before its results were stored)
    calls this once the database answers again, so its batch waits for no lease. Mentions another worker
    took over, or that are analyzed, are not touched.
    """
    result = session.execute(
        update(Mention)
        .where(Mention.status == MentionStatus.NEW, Mention.claimed_by == worker)
        .values(claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def lock_own_claims(session: Session, *, worker: str, mention_ids: Collection[int]) -> list[Mention]:
    """The mentions of `mention_ids` that are still `new` and still claimed by `worker`, locked.

    A worker calls this in the transaction that stores its results: a mention whose lease ran out and was
    claimed by another worker meanwhile is left out (the other worker's result counts), so a slow worker
    never writes a second analysis. Rows are locked without SKIP LOCKED: the takeover either committed
    before (left out) or waits for this transaction (and then finds the mention analyzed).
    """
    return _lock_still_new(session, mention_ids, Mention.claimed_by == worker)


def _lock_still_new(
    session: Session, mention_ids: Collection[int], *also: ColumnElement[bool]
) -> list[Mention]:
    """The mentions of `mention_ids` still `new` (and matching `also`), locked, read fresh from the row."""
    stmt = (
        select(Mention)
        .where(Mention.id.in_(list(mention_ids)), Mention.status == MentionStatus.NEW, *also)
        .order_by(Mention.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def placeable_after(session: Session, after_id: int, *, limit: int) -> list[Mention]:
    """Analyzed mentions with id > `after_id` whose touchpoint topic rules may move (`default`, `topic`)."""
    stmt = (
        select(Mention)
        .where(
            Mention.id > after_id,
            Mention.status == MentionStatus.ANALYZED,
            Mention.touchpoint_origin.in_([TouchpointOrigin.DEFAULT, TouchpointOrigin.TOPIC]),
        )
        .order_by(Mention.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def ranked_topics(session: Session, mention_ids: Collection[int]) -> dict[int, list[str]]:
    """Each mention's stored topic names, strongest first (ties by name, so the order is stable)."""
    ranked: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(mention_ids), _IN_CHUNK):
        rows = session.execute(
            select(MentionTopic.mention_id, Topic.name)
            .join(Topic, Topic.id == MentionTopic.topic_id)
            .where(MentionTopic.mention_id.in_(chunk))
            .order_by(MentionTopic.mention_id, MentionTopic.score.desc(), Topic.name)
        )
        for mention_id, name in rows:
            ranked.setdefault(mention_id, []).append(name)
    return ranked


def _first_mention_by_hash(session: Session, hashes: set[str]) -> dict[str, int]:
    """The earliest stored mention for each content hash: the one that copies point at."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(hashes), _IN_CHUNK):
        rows = session.execute(
            select(Mention.content_hash, func.min(Mention.id))
            .where(Mention.content_hash.in_(chunk))
            .group_by(Mention.content_hash)
        )
        found.update({digest: mention_id for digest, mention_id in rows})
    return found


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
