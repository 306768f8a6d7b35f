"""`vocwatch demo --daemon`: the real `vocwatch run` scheduler on the demo data, until Slack hears it all.

Besides the bundled sample feeds (fixed dates, so they never spike), the local site serves:

- a **live feed** generated at start with dates relative to now: a steady baseline of calm mentions over
  the prior 12 hours and a burst of clearly negative delivery complaints (English and Chinese) in the last
  hour, enough for the 1-hour spike rule (min count, Poisson test, mean + k·σ, share rise) but below the
  1-day rule's minimum, so the burst is one spike alert naming each scope it spikes (the delivery topic
  the model tags the complaints with, and the touchpoint the topic rules put them at);
- a **blocked source** whose server answers every request with 403, so its crawl run fails, the ledger
  marks it degraded and the health check alerts ops.

Then the real scheduler (`vocwatch.daemon.scheduler.run_daemon`) runs with demo intervals of a few seconds
until the fake Slack (or Slack) has received an incident, a spike alert and a source-health alert and every
source has been crawled and its alerts sent, or the time is up. What was sent is read back from the
outbox, with the latency from mention stored to Slack post.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import models
from storage.enums import AlertAction, AlertKind, AlertStatus, CrawlRunStatus, MentionStatus
from vocwatch import stages
from vocwatch.demo.pipeline import (
    DEMO_FEEDS,
    demo_database,
    demo_settings,
    fake_slack_unless,
    remove_database,
)
from vocwatch.settings import Settings
from vocwatch.testing.localsite import LocalSite, Reply

__all__ = ["DaemonDemoReport", "Received", "live_feed", "received", "run_demo_daemon", "settled"]

LIVE_PATH = "/live/delivery.xml"
BLOCKED_PATH = "/blocked/partner-forum.xml"
# (source name, path on the local site, touchpoint): sorted first among the sources, so crawled first
LIVE_SOURCES = (
    ("delivery_live", LIVE_PATH, "delivery"),
    ("partner_forum", BLOCKED_PATH, "support"),
)

# Calm mentions, one per hour over the 12 hours before the last one (the spike rule's baseline).
_BASELINE = (
    "My parcel arrived on time and the courier was very friendly. Great service!",
    "Fast delivery again, everything was packed carefully. Thank you Acme.",
    "Love the new tracking page, I could see exactly when my order would arrive.",
    "The delivery driver called ahead and left the box with my neighbour, perfect.",
    "Ordered on Monday, delivered on Tuesday. Excellent, highly recommended.",
    "配送很快，包装完好，非常满意！",
    "Great experience, the package came a day early and in perfect condition.",
    "The courier was polite and the order was complete. Happy customer here.",
    "快递小哥态度很好，准时送达，点赞。",
    "Smooth delivery, clear notifications, and the product is lovely.",
    "Everything went smoothly, a pleasure to shop here. Delivery was quick.",
    "Wonderful service, my groceries arrived fresh and on time.",
)
# The burst: distinct (not near-duplicate) delivery complaints in the last hour.
_BURST = (
    "Where is my order?! Tracking has said 'out for delivery' for three days and nobody answers. Terrible.",
    "The courier threw my package over the fence and it arrived smashed. Awful, I want a refund.",
    "Second week waiting for a delivery that was promised in 2 days. Worst service ever, never again.",
    "My parcel was marked delivered but never arrived, and support just closed my ticket. Unacceptable.",
    "快递一个星期了还没到，客服也不回复，太差劲了，再也不买了！",
    "包裹送到的时候箱子全破了，东西也坏了，要求退款却没人理，非常失望。",
    "配送员态度恶劣，把包裹扔在门口就走了，东西被偷了，差评！",
    "The delivery came with the wrong items and the food was spoiled. Disgusting, I am cancelling.",
)


def live_feed(now: datetime) -> bytes:
    """An RSS 2.0 feed with dates relative to `now`: a calm baseline over the prior 12 h, then the burst."""
    items: list[tuple[str, datetime]] = [
        (text, now - timedelta(hours=1, minutes=30) - timedelta(hours=index))
        for index, text in enumerate(_BASELINE)
    ]
    items += [(text, now - timedelta(minutes=3 + 6 * index)) for index, text in enumerate(_BURST)]
    stamp = now.strftime("%Y%m%dT%H%M%S")
    entries = []
    for index, (text, published) in enumerate(sorted(items, key=lambda item: item[1], reverse=True)):
        entries.append(
            "    <item>\n"
            f"      <title>{escape(text[:60])}</title>\n"
            f"      <link>http://shop.acme.example/reviews/{stamp}-{index}</link>\n"
            f'      <guid isPermaLink="false">acme-live-{stamp}-{index}</guid>\n'
            f"      <pubDate>{format_datetime(published.astimezone(UTC), usegmt=True)}</pubDate>\n"
            f"      <description>{escape(text)}</description>\n"
            "    </item>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n  <channel>\n'
        "    <title>Acme shop — live delivery reviews</title>\n"
        "    <link>http://shop.acme.example/reviews</link>\n"
        "    <description>Generated by vocwatch demo --daemon</description>\n"
        + "".join(entries)
        + "  </channel>\n</rss>\n"
    ).encode()


@dataclass(frozen=True)
class SentAlert:
    kind: str  # "incident", "mention", "spike", "health", "update", other alert kinds
    text: str
    latency_s: float | None  # mention stored (collected_at) → Slack post (sent_at)


@dataclass(frozen=True)
class Received:
    """What reached Slack so far, read back from the outbox (status `sent`)."""

    alerts: tuple[SentAlert, ...]

    def count(self, kind: str) -> int:
        return sum(alert.kind == kind for alert in self.alerts)

    @property
    def complete(self) -> bool:
        return all(self.count(kind) > 0 for kind in ("incident", "spike", "health"))

    @property
    def latencies(self) -> list[float]:
        return [alert.latency_s for alert in self.alerts if alert.latency_s is not None]


def received(sessions: sessionmaker[Session]) -> Received:
    """Sent alerts in the order they were sent, each classified, with its mention's latency."""
    stmt = (
        select(models.Alert, models.Mention.collected_at)
        .outerjoin(models.Mention, models.Mention.id == models.Alert.mention_id)
        .where(models.Alert.status == AlertStatus.SENT)
        .order_by(models.Alert.sent_at, models.Alert.id)
    )
    found = []
    with sessions() as session:
        for alert, collected_at in session.execute(stmt):
            latency = None
            if collected_at is not None and alert.sent_at is not None and alert.action != AlertAction.UPDATE:
                latency = (alert.sent_at - collected_at).total_seconds()
            found.append(SentAlert(kind=_kind(alert), text=alert.text, latency_s=latency))
    return Received(alerts=tuple(found))


def settled(sessions: sessionmaker[Session], *, sources: int, now: datetime) -> bool:
    """Every source crawled once, nothing left to analyze, no alert due: the summary is the whole story."""
    with sessions() as session:
        crawled = session.scalar(
            select(func.count(func.distinct(models.CrawlRun.source_id))).where(
                models.CrawlRun.status != CrawlRunStatus.RUNNING
            )
        )
        queued = session.scalar(
            select(func.count()).select_from(models.Mention).where(models.Mention.status == MentionStatus.NEW)
        )
        due = session.scalar(
            select(func.count())
            .select_from(models.Alert)
            .where(
                models.Alert.status.in_((AlertStatus.PENDING, AlertStatus.SENDING)),
                models.Alert.next_attempt_at <= now,
            )
        )
    return (crawled or 0) >= sources and not queued and not due


def _kind(alert: models.Alert) -> str:
    if alert.kind == AlertKind.SPIKE:
        return "spike"
    if alert.kind == AlertKind.SOURCE_HEALTH:
        return "health"
    if alert.kind != AlertKind.MENTION:
        return str(alert.kind)
    if alert.action == AlertAction.UPDATE:
        return "update"
    if alert.action == AlertAction.POST and alert.incident_id is not None:
        return "incident"
    return "mention"


@dataclass(frozen=True)
class DaemonDemoReport:
    database: Path
    received: Received
    complete: bool
    wall_s: float


def run_demo_daemon(settings: Settings, *, console: Console, seconds: float = 120.0) -> DaemonDemoReport:
    """Serve the demo feeds plus the live and blocked ones, run the real scheduler until Slack has an
    incident, a spike alert and a source-health alert (or `seconds` pass), then stop it and report."""
    from vocwatch.daemon.scheduler import run_daemon
    from vocwatch.wiring import build_app

    started = time.monotonic()
    database = demo_database(settings)
    remove_database(database)
    real_slack = settings.slack.token is not None
    with LocalSite(Path(str(DEMO_FEEDS))) as site, fake_slack_unless(real_slack) as fake:
        site.set_content(LIVE_PATH, live_feed(datetime.now(UTC)), content_type="application/rss+xml")
        site.script(BLOCKED_PATH, *[Reply(403, body=b"Forbidden")] * 1000)
        demo = demo_settings(settings, database, site, fake, extra_feeds=LIVE_SOURCES)
        schedule = demo.schedule.model_copy(
            update={
                "analyze_every_s": 2,
                "dispatch_every_s": 1,
                "incidents_every_s": 5,
                "spike_check_every_s": 3,
                "health_check_every_s": 3,
            }
        )
        # The live feed's 12 hours of baseline are all the history the demo has: judge its keys at once
        # (a real install first watches a touchpoint or topic for `spikes.min_history_days`).
        spikes = demo.spikes.model_copy(update={"min_history_days": 0.0})
        demo = demo.model_copy(update={"schedule": schedule, "spikes": spikes})
        app = build_app(demo, slack_base_url=fake.base_url if fake is not None else None)
        storage.upgrade(app.engine)
        stages.sync_catalog(app.sessions, demo)
        with console.status("loading the model (the first run converts it, about 15 s) ..."):
            _ = app.analyzer

        stop = threading.Event()
        deadline = time.monotonic() + seconds

        def watch() -> None:
            while not stop.wait(1.0):
                if time.monotonic() >= deadline or (
                    received(app.sessions).complete
                    and settled(app.sessions, sources=len(demo.sources), now=datetime.now(UTC))
                ):
                    stop.set()

        where = "Slack" if fake is None else f"the local fake Slack at {fake.base_url}"
        console.print(
            f"daemon running on the demo data (up to {seconds:g} s) and posting to {where}; "
            "stop it with Ctrl-C"
        )
        watcher = threading.Thread(target=watch, name="demo-watch", daemon=True)
        watcher.start()
        try:
            run_daemon(app, stop=stop)
        finally:
            stop.set()
            watcher.join(timeout=5)
        got = received(app.sessions)
        app.engine.dispose()

    _print_received(console, got, channel=demo.slack.default_channel)
    wall_s = time.monotonic() - started
    console.print(f"database: {database}")
    if not got.complete:
        missing = [kind for kind in ("incident", "spike", "health") if got.count(kind) == 0]
        console.print(f"[red]not received within {seconds:g} s:[/red] {', '.join(missing)}")
    console.print(f"demo daemon finished in {wall_s:.1f} s")
    return DaemonDemoReport(database=database, received=got, complete=got.complete, wall_s=wall_s)


_HEADINGS = (
    ("incident", "Incidents (parent messages)"),
    ("mention", "Mention alerts and thread replies"),
    ("spike", "Spike alerts"),
    ("health", "Source-health alerts"),
)


def _print_received(console: Console, got: Received, *, channel: str) -> None:
    for kind, heading in _HEADINGS:
        texts = [alert.text for alert in got.alerts if alert.kind == kind]
        console.print(f"[bold]{heading}[/bold] ({len(texts)})")
        for text in texts:
            line = " ".join(text.split())
            console.print(f"  {line[:150]}", markup=False, highlight=False)
    console.print(_summary(got))


def _summary(got: Received) -> str:
    return (
        f"summary: {got.count('incident')} incident(s), {got.count('spike')} spike alert(s), "
        f"{got.count('health')} health alert(s), {got.count('mention')} mention alert(s), "
        f"{got.count('update')} incident update(s); latency mention stored → Slack post: "
        + _latency(got.latencies)
    )


def _latency(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.1f} s, max {max(values):.1f} s (n={len(values)})"
