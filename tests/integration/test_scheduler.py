"""`vocwatch run` as a real subprocess: it runs the jobs, alerts reach the fake Slack, SIGTERM stops it
cleanly, and a restart after downtime runs each missed job once instead of replaying every missed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

import storage
from storage import models
from tests.support.models import LABELLED_REVIEWS
from tests.support.waiting import wait_until
from vocwatch.daemon.scheduler import JOBSTORE_TABLE, desired_jobs, make_scheduler, sync_jobs
from vocwatch.settings import Settings, SourceSettings, load_settings
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.testing.localsite import LocalSite, Reply
from vocwatch.wiring import build_app

NEGATIVE_TEXTS = [text for label, text in LABELLED_REVIEWS if label == "negative"][:4]
POSITIVE_TEXTS = [text for label, text in LABELLED_REVIEWS if label == "positive"][:2]
STOP_TIMEOUT_S = 20.0


def write_config(
    path: Path, *, db: Path, slack: FakeSlackServer, model_dir: Path, heads_dir: Path, every_s: int = 1
) -> Path:
    path.write_text(
        f"""
data_dir = "{path.parent}"
database_url = "sqlite:///{db}"

[slack]
token = "xoxb-test"
base_url = "{slack.base_url}"
default_channel = "#cx"
ops_channel = "#ops"

[model]
dir = "{model_dir}"
heads_dir = "{heads_dir}"

[schedule]
analyze_every_s = {every_s}
dispatch_every_s = {every_s}
spike_check_every_s = {every_s}
health_check_every_s = {every_s}
incidents_every_s = {every_s}
misfire_grace_s = 60
""",
        encoding="utf-8",
    )
    return path


def add_feeds(config: Path, site: LocalSite, **feeds: tuple[str, str]) -> None:
    """Append an RSS source per `name=(path on the local site, touchpoint)`, and crawl settings that
    fetch at once and keep every item however old."""
    tables = ["[crawl]\ndownload_delay_s = 0.0\nlookback_days = 36500\n"]
    tables += [
        f'[sources.{name}]\nkind = "rss"\nurls = ["{site.url(path)}"]\ntouchpoint = "{touchpoint}"\n'
        for name, (path, touchpoint) in feeds.items()
    ]
    with config.open("a", encoding="utf-8") as toml:
        toml.write("\n" + "\n".join(tables))


class Daemon:
    """One `python -m vocwatch run` process with its stderr in a file (parsed for the JSON job lines)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOCWATCH_")}
        self._stderr = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vocwatch", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
        )

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            _, sep, payload = line.partition("vocwatch.daemon.scheduler: ")
            if sep and payload.startswith("{"):
                found.append(json.loads(payload))
        return found

    def runs(self, job: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == "job_run" and e["job"] == job]

    def started(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the daemon exited early with {self.process.returncode}:\n{self.log.read_text()}")
        return any(e.get("event") == "daemon_started" for e in self.events())

    def stop(self) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took to exit)."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
            self._stderr.close()
        return status, time.monotonic() - began


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=STOP_TIMEOUT_S)


def add_mentions(db: Path, texts: list[str]) -> datetime:
    engine = storage.make_engine(f"sqlite:///{db}")
    now = datetime.now(UTC)
    sessions = storage.make_session_factory(engine)
    with sessions.begin() as session:
        source = storage.sources.upsert_source(
            session, name="forum", kind="rss", config={}, default_touchpoint="support"
        )
        items = [
            storage.NewMention(
                source_id=source.id,
                external_id=f"{now.timestamp()}-{i}",
                url=f"https://forum.example/{i}",
                text=body,
                collected_at=now,
                published_at=now,
            )
            for i, body in enumerate(texts)
        ]
        storage.mentions.insert_new_mentions(session, items)
    engine.dispose()
    return now


@pytest.mark.slow  # the daemon as a subprocess, stopped, restarted and waited for
@pytest.mark.timing  # asserts how fast the daemon stops: not beside the parallel run's load
def test_daemon_runs_jobs_alerts_slack_stops_on_sigterm_and_does_not_stampede_on_restart(
    tmp_path: Path,
    fake_slack: FakeSlackServer,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    daemons: list[Daemon],
) -> None:
    db = tmp_path / "vocwatch.db"
    config = write_config(
        tmp_path / "vocwatch.toml",
        db=db,
        slack=fake_slack,
        model_dir=minilm_model_dir,
        heads_dir=minilm_heads_dir,
    )
    first = Daemon(config, tmp_path / "first.log")
    daemons.append(first)
    wait_until(first.started, timeout_s=60, what="the daemon to start")
    assert {"analyze", "dispatch", "health", "spikes", "incidents"} <= _job_ids(db)

    add_mentions(db, NEGATIVE_TEXTS + POSITIVE_TEXTS)
    wait_until(
        lambda: len(fake_slack.calls("chat.postMessage")) >= len(NEGATIVE_TEXTS),
        timeout_s=90,
        what="the negative mentions to reach Slack",
    )
    status, took_s = first.stop()

    assert status == 0, first.log.read_text()
    assert took_s < 10
    assert first.events()[-1]["event"] == "daemon_stopped"
    for job in ("analyze", "dispatch", "spikes", "health", "incidents", "digest"):
        runs = first.runs(job)
        assert runs, f"no {job} run logged"
        assert all(r["outcome"] == "ok" for r in runs), runs
        assert all({"duration_s", "counts", "at"} <= r.keys() for r in runs)
    assert sum(r["counts"]["analyzed"] for r in first.runs("analyze")) == len(NEGATIVE_TEXTS + POSITIVE_TEXTS)
    assert sum(r["counts"]["sent"] for r in first.runs("dispatch")) == len(
        fake_slack.calls("chat.postMessage")
    )
    latencies = _alert_latencies_s(db)
    assert latencies and max(latencies) < 60
    print(f"alert latency (mention stored -> Slack post), 1 s schedule: max {max(latencies):.2f} s")

    # Down for 5 s: every 1-second job misses ~5 runs. A restart runs each missed job once (coalesced),
    # so over its lifetime a job runs at most once more than its regular schedule allows.
    time.sleep(5)  # bounded: the downtime this test is about
    posts_before = len(fake_slack.calls("chat.postMessage"))
    second = Daemon(config, tmp_path / "second.log")
    daemons.append(second)
    wait_until(second.started, timeout_s=60, what="the daemon to restart")
    wait_until(lambda: bool(second.runs("dispatch")), timeout_s=30, what="a dispatch run after the restart")
    status, _ = second.stop()

    assert status == 0, second.log.read_text()
    events = second.events()
    started_at = datetime.fromisoformat(next(e["at"] for e in events if e["event"] == "daemon_started"))
    stopped_at = datetime.fromisoformat(events[-1]["at"])
    lifetime_s = (stopped_at - started_at).total_seconds()
    for job in ("analyze", "dispatch", "spikes", "health", "incidents", "digest"):
        assert len(second.runs(job)) <= lifetime_s + 2, (job, lifetime_s, second.runs(job))
    assert next(e for e in events if e["event"] == "daemon_started")["jobs"]["kept"] == 6
    assert len(fake_slack.calls("chat.postMessage")) == posts_before  # nothing sent twice


def _job_ids(db: Path) -> set[str]:
    engine = storage.make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text(f"SELECT id FROM {JOBSTORE_TABLE}"))}
    finally:
        engine.dispose()


def _alert_latencies_s(db: Path) -> list[float]:
    engine = storage.make_engine(f"sqlite:///{db}")
    try:
        with storage.make_session_factory(engine)() as session:
            rows = session.execute(
                select(models.Mention.collected_at, models.Alert.sent_at)
                .join(models.Alert, models.Alert.mention_id == models.Mention.id)
                .where(models.Alert.sent_at.is_not(None))
            )
            return [(sent - stored) / timedelta(seconds=1) for stored, sent in rows if sent is not None]
    finally:
        engine.dispose()


def test_stored_jobs_keep_their_next_run_and_follow_config_changes(db_url: str) -> None:
    settings = load_settings(
        None,
        database_url=db_url,
        sources={
            "forum": SourceSettings(kind="rss", urls=["https://forum.example/feed"], every_minutes=30),
            "news": SourceSettings(kind="rss", urls=["https://news.example/feed"], every_minutes=60),
        },
    )
    # A day ahead: no job is due while the (paused) scheduler runs, so the stored run times are the test's.
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)

    def synced(settings: Settings, when: datetime) -> tuple[dict[str, int], dict[str, Any]]:
        app = build_app(settings)
        scheduler = make_scheduler(app)
        scheduler.start(paused=True)
        try:
            counts = sync_jobs(scheduler, desired_jobs(settings), now=when)
            jobs = {
                job.id: (job.trigger.interval, job.next_run_time, job.args, job.misfire_grace_time)
                for job in scheduler.get_jobs()
            }
        finally:
            scheduler.shutdown(wait=False)
            app.engine.dispose()
        return counts, jobs

    counts, first = synced(settings, now)
    assert counts == {"kept": 0, "added": 8, "changed": 0, "removed": 0}
    assert first["crawl:news"][0] == timedelta(hours=1)
    assert first["crawl:news"][3] == 3600  # its catch-up run after downtime is never dropped as too late
    assert first["dispatch"][3] == 60
    assert first["crawl:forum"][2] == ("forum",)
    # staggered first crawls, 5 s apart, the first one at once
    assert sorted([first["crawl:forum"][1], first["crawl:news"][1]]) == [now, now + timedelta(seconds=5)]

    # A restart with the same config keeps every job and its next run time.
    counts, again = synced(settings, now + timedelta(minutes=3))
    assert counts == {"kept": 8, "added": 0, "changed": 0, "removed": 0}
    assert again == first

    # Config changes: news removed, analysis slower; only those jobs change.
    changed = settings.model_copy(
        update={
            "sources": {"forum": settings.sources["forum"]},
            "schedule": settings.schedule.model_copy(update={"analyze_every_s": 120}),
        }
    )
    counts, after = synced(changed, now + timedelta(minutes=5))
    assert counts == {"kept": 6, "added": 0, "changed": 1, "removed": 1}
    assert "crawl:news" not in after
    assert after["analyze"][0] == timedelta(seconds=120)
    assert after["crawl:forum"] == first["crawl:forum"]


@pytest.mark.slow  # the daemon as a subprocess
def test_a_crawl_that_stores_mentions_gets_them_to_slack_without_waiting_for_intervals(
    tmp_path: Path,
    fake_slack: FakeSlackServer,
    local_site: LocalSite,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    daemons: list[Daemon],
) -> None:
    # Analysis and dispatch run once an hour here: only the crawl's wake-up of analysis, and analysis's
    # wake-up of dispatch, can bring the feed's negative posts to Slack within the test.
    db = tmp_path / "vocwatch.db"
    config = write_config(
        tmp_path / "vocwatch.toml",
        db=db,
        slack=fake_slack,
        model_dir=minilm_model_dir,
        heads_dir=minilm_heads_dir,
        every_s=3600,
    )
    add_feeds(config, local_site, brand=("/pipeline/brand-feed.xml", "support"))
    daemon = Daemon(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    wait_until(daemon.started, timeout_s=60, what="the daemon to start")
    wait_until(lambda: bool(fake_slack.calls("chat.postMessage")), timeout_s=60, what="an alert in Slack")
    status, _ = daemon.stop()

    assert status == 0, daemon.log.read_text()
    assert len(daemon.runs("analyze")) >= 2  # the start-up run, then the crawl's wake-up
    assert [e for e in daemon.events() if e["event"] == "model_loaded"]  # loaded before any job ran
    assert "maximum number of running instances" not in daemon.log.read_text()
    latencies = _alert_latencies_s(db)
    assert latencies and max(latencies) < 30, latencies
    print(f"stored -> Slack with hourly analysis and dispatch: max {max(latencies):.2f} s")


@pytest.mark.slow  # the daemon as a subprocess, stopped, restarted and waited for
def test_daemon_crawls_each_source_and_alerts_ops_once_when_one_fails(
    tmp_path: Path,
    fake_slack: FakeSlackServer,
    local_site: LocalSite,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    daemons: list[Daemon],
) -> None:
    db = tmp_path / "vocwatch.db"
    config = write_config(
        tmp_path / "vocwatch.toml",
        db=db,
        slack=fake_slack,
        model_dir=minilm_model_dir,
        heads_dir=minilm_heads_dir,
    )
    add_feeds(
        config,
        local_site,
        brand=("/pipeline/brand-feed.xml", "support"),
        broken=("/pipeline/missing.xml", "product"),
    )
    daemon = Daemon(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    wait_until(daemon.started, timeout_s=60, what="the daemon to start")
    wait_until(lambda: bool(fake_slack.messages("ops")), timeout_s=90, what="the source-health alert")
    health_runs = len(daemon.runs("health"))
    wait_until(
        lambda: len(daemon.runs("health")) >= health_runs + 2, timeout_s=30, what="two more health checks"
    )
    status, _ = daemon.stop()

    assert status == 0, daemon.log.read_text()
    assert [m.text for m in fake_slack.messages("ops")] == [
        "Source degraded: `broken` (last run failed: httpˍerror)"  # the reason is escaped like customer text
    ]
    [brand_crawl] = daemon.runs("crawl:brand")
    [broken_crawl] = daemon.runs("crawl:broken")
    assert brand_crawl["outcome"] == "ok"
    assert broken_crawl["outcome"] == "error"
    engine = storage.make_engine(f"sqlite:///{db}")
    with storage.make_session_factory(engine)() as session:
        sources = session.scalars(select(models.Source.name).join(models.Mention.source)).all()
    engine.dispose()
    assert sources and set(sources) == {"brand"}


@pytest.mark.slow  # the daemon as a subprocess, stopped, restarted and waited for
@pytest.mark.timing  # asserts how fast the daemon stops: not beside the parallel run's load
def test_sigterm_during_a_hanging_crawl_stops_the_crawl_and_the_daemon_at_once(
    tmp_path: Path,
    fake_slack: FakeSlackServer,
    local_site: LocalSite,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    daemons: list[Daemon],
) -> None:
    config = write_config(
        tmp_path / "vocwatch.toml",
        db=tmp_path / "vocwatch.db",
        slack=fake_slack,
        model_dir=minilm_model_dir,
        heads_dir=minilm_heads_dir,
    )
    local_site.script("/pipeline/brand-feed.xml", Reply(200, body=None, delay_s=120))
    with config.open("a", encoding="utf-8") as toml:
        toml.write(
            f"""
[crawl]
download_delay_s = 0.0
timeout_s = 300

[sources.slow]
kind = "rss"
urls = ["{local_site.url("/pipeline/brand-feed.xml")}"]
touchpoint = "support"
"""
        )
    daemon = Daemon(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    wait_until(daemon.started, timeout_s=60, what="the daemon to start")
    wait_until(
        lambda: bool(local_site.requests_for("/pipeline/brand-feed.xml")),
        timeout_s=60,
        what="the crawl to request the hanging feed",
    )

    status, took = daemon.stop()

    assert status == 0, daemon.log.read_text()
    assert took < 15, f"stopping took {took:.1f} s"
    assert [e["count"] for e in daemon.events() if e.get("event") == "crawls_terminated"] == [1]
    [crawl] = daemon.runs("crawl:slow")
    assert crawl["outcome"] == "ok" and crawl["counts"]["terminated"] == 1
