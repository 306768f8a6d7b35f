"""The two watch stages the scheduler runs besides the pipeline: the spike check and the source-health check.

Like the pipeline stages in `jobs.py`, each one reads, decides and enqueues its alerts in ONE transaction,
so a crash re-runs the check instead of losing or doubling an alert; the outbox's unique dedup keys make a
rerun of the same decision a no-op. The decisions themselves are pure (`notifier.spikes`,
`notifier.health`); this module only feeds them rows and stores what they decide.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import blocks, health, spikes
from storage import spikes as spike_store
from storage.enums import AlertKind
from vocwatch.ledger import LedgerThresholds, source_ledger

__all__ = ["HealthTotals", "SpikeTotals", "check_source_health", "check_spikes"]

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


@dataclass(frozen=True)
class HealthTotals:
    checked: int = 0
    alerted: int = 0  # went dark / degraded
    recovered: int = 0


def check_source_health(
    sessions: sessionmaker[Session],
    *,
    channel: str,
    sources: Collection[str] | None = None,
    now: datetime | None = None,
    thresholds: LedgerThresholds | None = None,
) -> HealthTotals:
    """Compare each source's ledger status with the last one announced; enqueue an alert per transition.

    `sources` limits the check to these names (the daemon passes the configured ones: a source removed
    from the config stays in the database, and its silence is on purpose). A source without a finished
    crawl is skipped: right after it is configured, or while its first crawl runs, "dark" is not news (the
    scheduler's first crawl comes next); if that crawl fails, its failed run makes it news.
    """
    now = now or datetime.now(UTC)
    ledger = source_ledger(sessions, now=now, thresholds=thresholds)
    checked = alerted = recovered = 0
    with sessions.begin() as session:
        for source, verdict in ledger:
            if verdict.runs_finished == 0 or (sources is not None and source.name not in sources):
                continue
            checked += 1
            latest = spike_store.latest_alert_key(
                session, kind=AlertKind.SOURCE_HEALTH, prefix=f"health:{source.id}:"
            )
            sequence, announced = health.announced_status(latest)
            transition = health.next_health_transition(announced, str(verdict.status), sequence=sequence)
            if transition is None:
                continue
            enqueued = storage.alerts.enqueue_alert(
                session,
                kind=AlertKind.SOURCE_HEALTH,
                dedup_key=health.health_dedup_key(source.id, transition),
                channel=channel,
                text=health.build_health_fallback(source.name, transition, verdict.reason),
                blocks=health.build_health_blocks(source.name, source.kind, transition, verdict.reason),
                now=now,
            )
            if enqueued is None:
                continue
            logger.info("source %s: %s (%s)", source.name, transition.status, verdict.reason)
            if transition.recovered:
                recovered += 1
            else:
                alerted += 1
    return HealthTotals(checked=checked, alerted=alerted, recovered=recovered)
