"""The spike check: negative volume per touchpoint/topic/source against its own baseline, as Slack alerts.

Like every stage it reads, decides and enqueues its alerts in ONE transaction, so a crash re-runs the check
instead of losing or doubling an alert; the outbox's unique dedup keys make a rerun of the same decision a
no-op. The decision itself is pure (`notifier.spikes`); the counts come from `storage.spikes`.

Three things keep spike alerts from becoming a flood (issue 18):
- a key is judged only once it has been watched for `min_history` (its usual volume is unknown before:
  a fresh install's backlog read as 11 spikes against empty baselines);
- the spikes one check finds go out as ONE message, each line naming the open incident it belongs to;
- that message is a ping like any other: it counts against the channel's budget (held back as
  `suppressed` over it, like a mention alert).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import blocks, spikes
from notifier.budget import BudgetLimits
from notifier.incidents import IncidentStats
from storage import models
from storage import spikes as spike_store
from storage.enums import AlertKind, AlertStatus, Severity
from vocwatch.stages.alerting import channel_budget, incident_title

__all__ = ["SpikeTotals", "check_spikes"]

logger = logging.getLogger(__name__)

SPIKE_SEVERITY = Severity.WARNING
"""What a spike alert weighs against the budget: louder than a lone complaint, never a budget bypass."""


@dataclass(frozen=True)
class SpikeTotals:
    checked: int = 0  # (key, rule) pairs judged
    opened: int = 0  # new episodes (all in one alert per check)
    ongoing: int = 0
    ended: int = 0
    warming: int = 0  # (key, rule) pairs not judged yet: watched for less than the minimum history
    held_back: int = 0  # spike messages the channel's budget held back (stored as suppressed)


@dataclass(frozen=True)
class _Opened:
    key: str  # `<scope>:<rule>`, the episode's key
    scope: str
    count: int
    message: blocks.SpikeMessage


def check_spikes(
    sessions: sessionmaker[Session],
    *,
    rules: Sequence[spikes.SpikeRule],
    channel: str,
    min_history: timedelta = spikes.DEFAULT_MIN_HISTORY,
    budget: BudgetLimits | None = None,
    now: datetime | None = None,
) -> SpikeTotals:
    """Judge every touchpoint and topic against every rule; one alert for the episodes this check opens."""
    now = now or datetime.now(UTC)
    checked = ongoing = ended = warming = 0
    opened: list[_Opened] = []
    seen: set[str] = set()
    with sessions.begin() as session:
        for rule in rules:
            edges = [now - rule.window * (rule.baseline_bins + 1 - i) for i in range(rule.baseline_bins + 2)]
            all_series = spike_store.count_negative_by_bin(session, edges=edges)
            watched = spike_store.watched_since(session, [_scope(s) for s in all_series], now=now)
            for series in all_series:
                key = f"{_scope(series)}:{rule.name}"[:255]
                seen.add(key)
                if now - watched[_scope(series)] < min_history:
                    warming += 1
                    continue
                counts = [spikes.BinCounts(negative=n, total=t) for n, t in series.bins]
                verdict = spikes.evaluate_spike(counts[-1], counts[:-1], rule)
                checked += 1
                episode = spike_store.get_open_episode(session, key)
                state = (
                    None
                    if episode is None
                    else spikes.EpisodeState(
                        started_at=episode.started_at, last_spike_at=episode.last_spike_at
                    )
                )
                step = spikes.next_episode_step(
                    state, is_spike=verdict.is_spike, now=now, cooldown=rule.cooldown
                )
                if step is spikes.EpisodeStep.OPEN:
                    message = blocks.SpikeMessage(
                        dimension=series.dimension,
                        name=series.name,
                        window=rule.name,
                        observed=verdict.observed,
                        total=verdict.total,
                        expected=verdict.expected,
                        share=verdict.share,
                        baseline_share=verdict.baseline_share,
                        p_value=verdict.p_value,
                        examples=spike_store.list_negative_examples(
                            session, dimension=series.dimension, name=series.name, since=edges[-2], until=now
                        ),
                    )
                    opened.append(
                        _Opened(key=key, scope=_scope(series), count=verdict.observed, message=message)
                    )
                    logger.info("spike opened: %s (%s)", key, verdict.reason)
                elif step is spikes.EpisodeStep.EXTEND and episode is not None:
                    spike_store.extend_episode(episode, now=now, count=verdict.observed)
                    ongoing += 1
                elif step is spikes.EpisodeStep.END and episode is not None:
                    spike_store.end_episode(episode, now=now)
                    ended += 1
        # A key with no mention left in its whole range is not counted at all; its episode still ends.
        cooldowns = {rule.name: rule.cooldown for rule in rules}
        for episode in spike_store.list_open_episodes(session):
            cooldown = cooldowns.get(episode.key.rsplit(":", 1)[-1])
            if episode.key not in seen and cooldown is not None and now - episode.last_spike_at >= cooldown:
                spike_store.end_episode(episode, now=now)
                ended += 1
        held_back = _alert(session, opened, channel=channel, budget=budget or BudgetLimits(), now=now)
    return SpikeTotals(
        checked=checked,
        opened=len(opened),
        ongoing=ongoing,
        ended=ended,
        warming=warming,
        held_back=held_back,
    )


def _scope(series: spike_store.BinnedCounts) -> str:
    """`touchpoint:delivery`, `topic:billing`: what a spike is about (and an incident's theme key)."""
    return f"{series.dimension}:{series.name}"


def _link(incident: models.Incident) -> blocks.IncidentLink:
    return blocks.IncidentLink(
        id=incident.id,
        title=incident_title(IncidentStats.from_json(incident.stats or {}), None),
        count=incident.mention_count,
        channel_id=incident.slack_channel_id,
        ts=incident.slack_ts,
    )


def _alert(
    session: Session, opened: Sequence[_Opened], *, channel: str, budget: BudgetLimits, now: datetime
) -> int:
    """Open the episodes and queue their one message (held back over budget); returns 1 if held back."""
    if not opened:
        return 0
    dedup_key = spikes.spike_batch_key([spike.key for spike in opened], now)
    for spike in opened:
        spike_store.open_episode(
            session, key=spike.key, now=now, alert_dedup_key=dedup_key, count=spike.count
        )
    verdict = channel_budget(session, channel=channel, severity=SPIKE_SEVERITY, limits=budget, now=now)
    # Which open incident each spike belongs to: read only when a spike opened, not on every check.
    incidents = storage.incidents.open_incidents_by_key(session)
    messages = [
        replace(spike.message, incident=_link(row) if (row := incidents.get(spike.scope)) else None)
        for spike in opened
    ]
    storage.alerts.enqueue_alert(
        session,
        kind=AlertKind.SPIKE,
        dedup_key=dedup_key,
        channel=channel,
        text=blocks.build_spikes_fallback(messages),
        blocks=blocks.build_spikes_blocks(messages),
        status=AlertStatus.PENDING if verdict.allowed else AlertStatus.SUPPRESSED,
        reason=None if verdict.allowed else verdict.reason,
        now=now,
    )
    if not verdict.allowed:
        logger.info("spike alert held back: %s", verdict.reason)
    return 0 if verdict.allowed else 1
