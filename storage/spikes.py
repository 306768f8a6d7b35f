"""Queries behind the spike check: negative counts per touchpoint/topic per time bin, and spike episodes.

A mention is placed in time by `published_at` (when the customer said it), or by `collected_at` when the
source gives no date: a crawl that runs every 30 minutes must not make its batch look like a burst. It
counts with the label of its latest analysis (a re-analysis does not count twice); cross-posted copies
(`duplicate_of_id`) are left out, so one text pasted in five places is one voice. For topics, the clause
(aspect) label is used when there is one, else the mention's.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import AlertKind, SentimentLabel
from storage.models import Alert, Analysis, Mention, MentionTopic, SpikeEpisode, SpikeKey, Topic, Touchpoint

__all__ = [
    "BinnedCounts",
    "count_negative_by_bin",
    "end_episode",
    "extend_episode",
    "get_open_episode",
    "latest_alert_key",
    "list_negative_examples",
    "list_open_episodes",
    "open_episode",
    "watched_since",
]

TOUCHPOINT = "touchpoint"
TOPIC = "topic"


@dataclass(frozen=True)
class BinnedCounts:
    """Counts of one touchpoint or topic: per bin `(negative, total)`, oldest bin first."""

    dimension: str  # "touchpoint" or "topic"
    name: str
    bins: tuple[tuple[int, int], ...]


def count_negative_by_bin(session: Session, *, edges: Sequence[datetime]) -> list[BinnedCounts]:
    """Negative and total analyzed mentions per touchpoint and per topic in bins `[edges[i], edges[i+1])`.

    `edges` must be ascending (aware UTC); one GROUP BY per dimension, with the bin index as a CASE
    expression, so the work stays in the database whatever the volume. Keys without any mention in the
    range are absent (nothing to spike).
    """
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("edges must be at least two ascending datetimes")
    when = func.coalesce(Mention.published_at, Mention.collected_at)
    bin_index = case(
        *((and_(when >= edges[i], when < edges[i + 1]), i) for i in range(len(edges) - 1)),
        else_=None,
    ).label("bin")
    in_range = and_(when >= edges[0], when < edges[-1], Mention.duplicate_of_id.is_(None))
    latest = _latest_analysis_ids(in_range)

    by_touchpoint = (
        select(
            Touchpoint.name,
            bin_index,
            func.count(case((Analysis.label == SentimentLabel.NEGATIVE, 1))),
            func.count(),
        )
        .select_from(Mention)
        .join(Analysis, Analysis.mention_id == Mention.id)
        .join(latest, latest.c.analysis_id == Analysis.id)
        .join(Touchpoint, Touchpoint.id == Mention.touchpoint_id)
        .where(in_range)
        .group_by(Touchpoint.name, bin_index)
    )
    topic_negative: ColumnElement[bool] = func.coalesce(MentionTopic.label, Analysis.label) == (
        SentimentLabel.NEGATIVE
    )
    by_topic = (
        select(Topic.name, bin_index, func.count(case((topic_negative, 1))), func.count())
        .select_from(Mention)
        .join(Analysis, Analysis.mention_id == Mention.id)
        .join(latest, latest.c.analysis_id == Analysis.id)
        .join(MentionTopic, MentionTopic.mention_id == Mention.id)
        .join(Topic, Topic.id == MentionTopic.topic_id)
        .where(in_range)
        .group_by(Topic.name, bin_index)
    )
    n_bins = len(edges) - 1
    found: list[BinnedCounts] = []
    for dimension, stmt in ((TOUCHPOINT, by_touchpoint), (TOPIC, by_topic)):
        bins: dict[str, list[tuple[int, int]]] = defaultdict(lambda: [(0, 0)] * n_bins)
        for name, index, negative, total in session.execute(stmt):
            if index is None:
                continue
            bins[name][int(index)] = (int(negative), int(total))
        found.extend(BinnedCounts(dimension, name, tuple(b)) for name, b in sorted(bins.items()))
    return found


def watched_since(session: Session, keys: Sequence[str], *, now: datetime) -> dict[str, datetime]:
    """When the spike check first saw each of `keys` (`<dimension>:<name>`); unseen keys start `now`."""
    for key in keys:
        session.execute(
            insert_for(session, SpikeKey)
            .values(key=key, first_seen_at=now)
            .on_conflict_do_nothing(index_elements=[SpikeKey.key])
        )
    rows = session.execute(select(SpikeKey.key, SpikeKey.first_seen_at).where(SpikeKey.key.in_(keys)))
    return {key: first_seen_at for key, first_seen_at in rows}


def get_open_episode(session: Session, key: str) -> SpikeEpisode | None:
    """The episode of `key` that has not ended, if any (locked on PostgreSQL for the check's update)."""
    stmt = (
        select(SpikeEpisode)
        .where(SpikeEpisode.key == key, SpikeEpisode.ended_at.is_(None))
        .order_by(SpikeEpisode.id.desc())
        .limit(1)
        .with_for_update()
    )
    return session.scalar(stmt)


def open_episode(
    session: Session, *, key: str, now: datetime, alert_dedup_key: str, count: int
) -> SpikeEpisode:
    episode = SpikeEpisode(
        key=key,
        started_at=now,
        last_spike_at=now,
        ended_at=None,
        alert_dedup_key=alert_dedup_key,
        peak_count=count,
    )
    session.add(episode)
    session.flush()
    return episode


def extend_episode(episode: SpikeEpisode, *, now: datetime, count: int) -> None:
    episode.last_spike_at = now
    episode.peak_count = max(episode.peak_count, count)


def end_episode(episode: SpikeEpisode, *, now: datetime) -> None:
    episode.ended_at = now


def list_open_episodes(session: Session) -> list[SpikeEpisode]:
    return list(session.scalars(select(SpikeEpisode).where(SpikeEpisode.ended_at.is_(None))))


def latest_alert_key(session: Session, *, kind: AlertKind, prefix: str) -> str | None:
    """The dedup key of the newest alert of `kind` whose key starts with `prefix` (state kept in keys,
    e.g. the source-health sequence `health:<source id>:<n>:<status>`)."""
    stmt = (
        select(Alert.dedup_key)
        .where(Alert.kind == kind, Alert.dedup_key.startswith(prefix, autoescape=True))
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def list_negative_examples(
    session: Session, *, dimension: str, name: str, since: datetime, until: datetime, limit: int = 3
) -> list[str]:
    """Texts of up to `limit` negative mentions of one touchpoint or topic in `[since, until)`, most
    negative first: the quotes a spike alert shows so that people see what the pile-on is about."""
    when = func.coalesce(Mention.published_at, Mention.collected_at)
    latest = _latest_analysis_ids(and_(when >= since, when < until))
    stmt = (
        select(Mention.text)
        .join(Analysis, Analysis.mention_id == Mention.id)
        .join(latest, latest.c.analysis_id == Analysis.id)
        .where(
            when >= since,
            when < until,
            Mention.duplicate_of_id.is_(None),
            Analysis.label == SentimentLabel.NEGATIVE,
        )
        .order_by(Analysis.p_negative.desc(), Mention.id)
        .limit(limit)
    )
    if dimension == TOUCHPOINT:
        stmt = stmt.join(Touchpoint, Touchpoint.id == Mention.touchpoint_id).where(Touchpoint.name == name)
    elif dimension == TOPIC:
        stmt = (
            stmt.join(MentionTopic, MentionTopic.mention_id == Mention.id)
            .join(Topic, Topic.id == MentionTopic.topic_id)
            .where(Topic.name == name)
        )
    else:
        raise ValueError(f"unknown dimension {dimension!r}")
    return list(session.scalars(stmt))


def _latest_analysis_ids(mentions: ColumnElement[bool]) -> Subquery:
    """Ids of the latest analysis of each mention matching `mentions` (restricted, so that a check reads
    the window's analyses, not the whole history)."""
    return (
        select(func.max(Analysis.id).label("analysis_id"))
        .join(Mention, Mention.id == Analysis.mention_id)
        .where(mentions)
        .group_by(Analysis.mention_id)
        .subquery()
    )
