"""The source-health check: a source gone dark or degraded (the coverage ledger) becomes one Slack alert.

One transaction per check, like every stage: a crash re-runs it and the outbox's dedup key per
(source, transition) keeps the alert single. The decision is pure (`notifier.health`); the verdicts come
from the ledger (`vocwatch.stages.ledger`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import health
from storage import spikes as spike_store
from storage.enums import AlertKind
from vocwatch.stages.ledger import LedgerThresholds, source_ledger

__all__ = ["HealthTotals", "check_source_health"]

logger = logging.getLogger(__name__)


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
