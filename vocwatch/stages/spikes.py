"""The spike check: negative volume per touchpoint/topic/source against its own baseline, as Slack alerts.

Like every stage it reads, decides and enqueues its alerts in ONE transaction, so a crash re-runs the check
instead of losing or doubling an alert; the outbox's unique dedup keys make a rerun of the same decision a
no-op. The decision itself is pure (`notifier.spikes`); the counts come from `storage.spikes`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import blocks, spikes
from storage import spikes as spike_store
from storage.enums import AlertKind

__all__ = ["SpikeTotals", "check_spikes"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpikeTotals:
    checked: int = 0  # (key, rule) pairs judged
    opened: int = 0  # new episodes = spike alerts enqueued
    ongoing: int = 0
    ended: int = 0


def check_spikes(
    sessions: sessionmaker[Session],
    *,
    rules: Sequence[spikes.SpikeRule],
    channel: str,
    now: datetime | None = None,
) -> SpikeTotals:
    """Judge every touchpoint and topic against every rule; enqueue one alert per new spike episode."""
    now = now or datetime.now(UTC)
    checked = opened = ongoing = ended = 0
    seen: set[str] = set()
    with sessions.begin() as session:
        for rule in rules:
            edges = [now - rule.window * (rule.baseline_bins + 1 - i) for i in range(rule.baseline_bins + 2)]
            for series in spike_store.count_negative_by_bin(session, edges=edges):
                counts = [spikes.BinCounts(negative=n, total=t) for n, t in series.bins]
                verdict = spikes.evaluate_spike(counts[-1], counts[:-1], rule)
                checked += 1
                key = f"{series.dimension}:{series.name}:{rule.name}"[:255]
                seen.add(key)
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
                    dedup_key = spikes.spike_dedup_key(series.dimension, series.name, rule.name, now)
                    spike_store.open_episode(
                        session, key=key, now=now, alert_dedup_key=dedup_key, count=verdict.observed
                    )
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
                    storage.alerts.enqueue_alert(
                        session,
                        kind=AlertKind.SPIKE,
                        dedup_key=dedup_key,
                        channel=channel,
                        text=blocks.build_spike_fallback(message),
                        blocks=blocks.build_spike_blocks(message),
                        now=now,
                    )
                    logger.info("spike opened: %s (%s)", key, verdict.reason)
                    opened += 1
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
    return SpikeTotals(checked=checked, opened=opened, ongoing=ongoing, ended=ended)
