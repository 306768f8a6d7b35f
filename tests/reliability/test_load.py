"""Load (issue 10, point 5): many mentions through crawl → analyze → alert with a rate-limited Slack.

A generated forum feed (500 entries a page; a third negative, each text unique) is crawled by the real
crawl process, analyzed in batches by the real analyzer (MiniLM encoder + a fitted test head: the
pipeline's own cost, not the default model's accuracy, is under test) and alerted through the real
policy and dispatcher to a fake Slack that accepts at most one message per second per channel (429 with
`Retry-After: 1` otherwise). Checked: every entry stored and analyzed exactly once; every alert row ends
`sent` (exactly once in Slack) or `suppressed` by the per-channel budget, none pending or failed; the
budget's ping limit held; memory bounded (peak RSS of the crawl process and of the analyzing process).

Default: 400 mentions. `VOCWATCH_LONG_TESTS=1`: 100,000, or `VOCWATCH_LOAD_MENTIONS` (run once; numbers
in docs/reliability.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import psutil
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

import storage
from storage import models
from storage.enums import AlertAction, AlertStatus
from tests.support.faults import FaultServer
from tests.support.feeds import entry_id
from tests.support.models import LABELLED_REVIEWS
from tests.support.paths import REPO_ROOT
from vocwatch import stages
from vocwatch.daemon.crawl import make_runspec
from vocwatch.settings import SlackSettings, SourceSettings, load_settings
from vocwatch.testing.fakeslack import FakeSlackServer, RecordedRequest
from vocwatch.wiring import App, build_app

PER_PAGE = 500
MAX_PINGS_PER_HOUR = 10
# One mention in NEGATIVE_EVERY is negative. Every negative mention is one Slack message (a new incident's
# parent or a reply in its thread; the budget limits only the parents), and Slack takes one message per
# second per channel: at the share of real feeds (~30 %) 100,000 mentions would keep one channel busy
# for 9 hours. The share is kept low so the dispatch phase stays minutes; docs/reliability.md says so.
NEGATIVE_EVERY = 100


class OneMessagePerSecondSlack(FakeSlackServer):
    """The fake Slack with Slack's posting limit: one message per second per channel, else 429."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._last_post: dict[str, float] = {}
        self.rejected = 0

    def _handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes | None]:
        if request.api_method == "chat.postMessage":
            channel = self._find_channel(str(request.args.get("channel", "")))
            key = channel.id if channel is not None else ""
            now = time.monotonic()
            with self._lock:
                if now - self._last_post.get(key, -10.0) < 1.0:
                    self.rejected += 1
                    request.status = 429
                    self._requests.append(request)
                    body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                    return 429, {"Retry-After": "1", "Content-Type": "application/json"}, body
                self._last_post[key] = now
        return super()._handle(request)


def review(n: int) -> str:
    """Entry n's text: a negative review every NEGATIVE_EVERY entries, else a positive or neutral one."""
    negatives = [text for label, text in LABELLED_REVIEWS if label == "negative"]
    others = [text for label, text in LABELLED_REVIEWS if label != "negative"]
    pool = negatives if n % NEGATIVE_EVERY == 0 else others
    return pool[n % len(pool)]


def feed_pages(total: int) -> dict[str, bytes]:
    """`total` entries newest first, each text made unique (no cross-post copies)."""
    pages: dict[str, bytes] = {}
    numbers = list(range(total, 0, -1))
    for page, start in enumerate(range(0, total, PER_PAGE), start=1):
        entries = "".join(
            f"<entry><id>{entry_id('load', n)}</id><link href='https://forum.example/load/{n}'/>"
            f"<updated>2026-11-{1 + n % 20:02d}T{n % 24:02d}:00:00Z</updated>"
            f"<content type='text'>{review(n)} (order {n})</content></entry>"
            for n in numbers[start : start + PER_PAGE]
        )
        more = f"<link rel='next' href='page-{page + 1}.atom'/>" if start + PER_PAGE < total else ""
        pages[f"/load/page-{page}.atom"] = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>load</title><id>urn:load</id><updated>2026-11-22T00:00:00Z</updated>{more}{entries}</feed>"
        ).encode()
    return pages


class PeakRss:
    """Samples a process's resident memory every 50 ms in a thread; `peak` in bytes."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class CrawlProcess:
    """The real crawl process (`python -m crawlers`) fed one RunSpec, watched from a thread."""

    def __init__(self, spec_json: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crawlers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        self._spec = spec_json
        self.stderr = ""
        self.peak_rss = 0
        self.ended_at = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with PeakRss(self._process.pid) as rss:
            _, self.stderr = self._process.communicate(self._spec, timeout=7200)
        self.peak_rss, self.ended_at = rss.peak, time.monotonic()

    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def returncode(self) -> int | None:
        self._thread.join()
        return self._process.returncode


T = TypeVar("T")


def unless_unavailable(stage: Callable[[], T]) -> T | None:
    """One pass of a stage, as the daemon's scheduler runs it: a database unavailable for a while (SQLite's
    lock held past the busy timeout by the other writers) fails the pass, and the next pass retries.
    None when that happened; any other error is raised."""
    try:
        return stage()
    except DBAPIError as error:
        if not storage.engine.is_transient_error(error):
            raise
        return None


class DispatchLoop(threading.Thread):
    """Drains the outbox like the dispatcher job, until analysis has ended and nothing is due."""

    def __init__(self, app: App, analysis_done: threading.Event, *, timeout_s: float) -> None:
        super().__init__(daemon=True)
        self._app, self._analysis_done, self._timeout_s = app, analysis_done, timeout_s
        self.ended_at = 0.0
        self.db_retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self._timeout_s
        try:
            while time.monotonic() < deadline:
                finished = self._analysis_done.is_set()
                if unless_unavailable(lambda: stages.dispatch_alerts(self._app.dispatcher)) is None:
                    self.db_retries += 1
                if finished and not self._due():
                    break
                time.sleep(0.2)  # the Retry-After of a 429 is 1 s: the outbox holds them until then
        except BaseException as error:  # re-raised by join() in the test's thread
            self.error = error
        self.ended_at = time.monotonic()

    def _due(self) -> int:
        with self._app.sessions() as session:
            statuses = [AlertStatus.PENDING, AlertStatus.SENDING]
            query = select(func.count()).select_from(models.Alert).where(models.Alert.status.in_(statuses))
            return session.scalar(query) or 0

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error
        assert not self._due(), "alerts still due when the dispatch loop gave up"


def test_mentions_flow_through_crawl_analyze_and_a_rate_limited_slack_without_loss(
    tmp_path: Path, minilm_model_dir: Path, minilm_heads_dir: Path, long_run: bool, load_mentions: int
) -> None:
    total = load_mentions
    numbers: dict[str, float] = {"mentions": total}
    with FaultServer() as site, OneMessagePerSecondSlack(channels=("cx",)) as slack:
        for path, body in feed_pages(total).items():
            site.serve(path, body, "application/atom+xml")
        settings = load_settings(
            None,
            data_dir=tmp_path,
            # The long run uses the high-volume setting (int8 Linear layers, ~2.5x the fp32 rate on CPU).
            model={
                "dir": minilm_model_dir,
                "heads_dir": minilm_heads_dir,
                "batch_size": 64,
                "backend": "int8" if long_run else "torch",
            },
            slack=SlackSettings(token=SecretStr("xoxb-test"), base_url=slack.base_url, default_channel="#cx"),
            crawl={"download_delay_s": 0.0, "lookback_days": 36500, "max_pages": total // PER_PAGE + 1},
            alerts={"max_pings_per_hour": MAX_PINGS_PER_HOUR, "max_pings_per_day": 50},
            sources={
                "forum": SourceSettings(
                    kind="rss", urls=[site.url("/load/page-1.atom")], touchpoint="support"
                )
            },
        )
        app = build_app(settings)
        storage.upgrade(app.engine)
        stages.sync_catalog(app.sessions, settings)

        # The three stages run at once, as under the daemon: the crawl process writes pages while this
        # thread analyzes whatever has arrived and another thread drains the outbox into Slack.
        spec = make_runspec(settings, "forum", settings.sources["forum"])
        analysis_done = threading.Event()
        dispatch = DispatchLoop(app, analysis_done, timeout_s=7200 if long_run else 600)
        started = time.monotonic()
        crawl = CrawlProcess(spec.model_dump_json())
        dispatch.start()
        rules = stages.AlertRules.from_settings(settings)
        analyze_retries = 0
        with PeakRss(psutil.Process().pid) as analyze_rss:
            while dispatch.error is None:  # a failed dispatch fails the test now, not after the analysis
                crawling = crawl.running()
                count = unless_unavailable(
                    lambda: stages.analyze_pending(app.sessions, app.analyzer, rules, batch_size=64)
                )
                if count is None:
                    analyze_retries += 1
                    continue
                if not count:
                    if not crawling:  # the crawl had ended before this empty read: nothing more comes
                        break
                    time.sleep(0.5)
        analysis_done.set()
        numbers["analyze_s"] = time.monotonic() - started
        numbers["analyze_peak_rss_mb"] = analyze_rss.peak / 2**20
        numbers["crawl_s"] = crawl.ended_at - started
        numbers["crawl_peak_rss_mb"] = crawl.peak_rss / 2**20
        assert crawl.returncode == 0, crawl.stderr[-2000:]
        dispatch.join()
        numbers["dispatch_s"] = dispatch.ended_at - started
        numbers["slack_429s"] = slack.rejected
        numbers["db_unavailable_passes"] = analyze_retries + dispatch.db_retries
        messages = slack.messages()

    with app.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(models.Mention))
        analyzed = session.scalar(select(func.count(func.distinct(models.Analysis.mention_id))))
        analyses = session.scalar(select(func.count()).select_from(models.Analysis))
        alerts = list(session.scalars(select(models.Alert)))
    app.engine.dispose()
    statuses = Counter(alert.status for alert in alerts)
    numbers.update({f"alerts_{status.value}": n for status, n in statuses.items()})
    numbers["slack_messages"] = len(messages)
    print("LOAD", json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in numbers.items()}))

    assert stored == total and analyzed == total and analyses == total  # each once
    assert set(statuses) <= {AlertStatus.SENT, AlertStatus.SUPPRESSED}, statuses  # none lost or stuck
    sent = [alert for alert in alerts if alert.status == AlertStatus.SENT]
    keys = Counter(str((m.metadata or {}).get("event_payload", {}).get("dedup_key")) for m in messages)
    assert keys == Counter({alert.dedup_key: 1 for alert in sent if alert.action != AlertAction.UPDATE})
    ping_times = sorted(a.created_at for a in sent if a.action == AlertAction.POST)
    assert ping_times
    for at in ping_times:  # the budget held in every hour of the run
        assert sum(at - timedelta(hours=1) < t <= at for t in ping_times) <= MAX_PINGS_PER_HOUR
    assert numbers["crawl_peak_rss_mb"] < 1024
