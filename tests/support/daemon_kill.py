"""Parts of the daemon kill loop (test_daemon_kill_loop.py): feeds that grow, a slow fake Slack that knows
what it is answering, `vocwatch run` as a killable process, and read-only looks into its database.

- `GrowingFeed`     one source's paged Atom feed on a FaultServer; `publish(n)` adds n newer posts (texts
                    from the labelled test reviews, so some are clearly negative and get alerted).
- `InFlightSlack`   the fake Slack, answering chat.postMessage/chat.update only after `post_delay_s`
                    (the message is already stored: the window in which a kill leaves an alert that IS in
                    Slack but not recorded as sent), and counting the requests it is answering right now.
- `DaemonProcess`   one `python -m vocwatch run` in its own process group, its stderr in a file; killed
                    alone (its crawl process lives on, as after `kill -9 PID`) or with its group (as a
                    container or systemd stop takes the crawl with it).
- `Probe`           counts read from the database through a plain engine (no BEGIN IMMEDIATE, so a look
                    never takes SQLite's write lock from the daemon).

Every process the loop starts carries `KILL_LOOP_TAG=<token>` in its environment (crawl processes inherit
it), so teardown finds and kills a crawl process that outlived its daemon by its pid, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psutil
from sqlalchemy import Engine, create_engine, func, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage import models
from storage.enums import AlertAction, AlertStatus, MentionStatus
from tests.support.faults import FaultServer
from tests.support.models import LABELLED_REVIEWS
from tests.support.paths import REPO_ROOT
from vocwatch.daemon.scheduler import JOBSTORE_TABLE
from vocwatch.testing.fakeslack import FakeSlackServer, RecordedRequest

__all__ = [
    "TAG_VARIABLE",
    "DaemonProcess",
    "GrowingFeed",
    "InFlightSlack",
    "Probe",
    "kill_tagged",
    "tagged_crawls",
    "write_daemon_config",
]

TAG_VARIABLE = "KILL_LOOP_TAG"  # not VOCWATCH_*: Settings forbids unknown keys
PER_PAGE = 10
_EPOCH = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


# -- the site -------------------------------------------------------------------------------------------


class GrowingFeed:
    """A source's feed as a customer forum grows it: newest post first, `PER_PAGE` per RFC 5005 page."""

    def __init__(self, site: FaultServer, name: str) -> None:
        self.site = site
        self.name = name
        self.posts = 0

    @property
    def url(self) -> str:
        return self.site.url(f"/{self.name}/page-1.atom")

    def external_ids(self) -> set[str]:
        return {self.entry_id(n) for n in range(1, self.posts + 1)}

    def entry_id(self, number: int) -> str:
        return f"urn:{self.name}:post:{number}"

    def publish(self, count: int) -> None:
        """Add `count` newer posts; every page is replaced, so the older posts move one way: later.

        A crawl reading page 1 before and page 2 after this sees some posts twice, never none.
        """
        self.posts += count
        pages = max(1, -(-self.posts // PER_PAGE))
        for page in range(1, pages + 1):
            top = self.posts - (page - 1) * PER_PAGE
            numbers = range(top, max(top - PER_PAGE, 0), -1)
            next_href = f"page-{page + 1}.atom" if page < pages else None
            self.site.serve(
                f"/{self.name}/page-{page}.atom", self._page(numbers, next_href), "application/atom+xml"
            )

    def text(self, number: int) -> str:
        """Post n's text: a labelled review (18 of every 48 clearly negative), made unique by its number."""
        _, review = LABELLED_REVIEWS[(number * 7) % len(LABELLED_REVIEWS)]
        return f"{review} (order {self.name}-{number})"

    def _page(self, numbers: range, next_href: str | None) -> bytes:
        entries = "".join(
            f"<entry><id>{self.entry_id(n)}</id><title>{escape(self.text(n)[:30])}</title>"
            f'<link href="https://forum.example/{self.name}/{n}"/>'
            f"<updated>{(_EPOCH + timedelta(minutes=n)).isoformat()}</updated>"
            f"<author><name>member{n}</name></author>"
            f'<content type="text">{escape(self.text(n))}</content></entry>'
            for n in numbers
        )
        link = f'<link rel="next" href="{next_href}"/>' if next_href else ""
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{self.name}</title><id>urn:{self.name}:feed</id><updated>{_EPOCH.isoformat()}</updated>"
            f"{link}{entries}</feed>"
        ).encode()


# -- Slack ----------------------------------------------------------------------------------------------


class InFlightSlack(FakeSlackServer):
    """The fake Slack, slow to answer posts and updates (stored first, answered `post_delay_s` later)."""

    SLOW_METHODS = ("chat.postMessage", "chat.update")

    def __init__(self, *, post_delay_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._post_delay_s = post_delay_s
        self._flight_lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Posts and updates Slack has received and not answered yet."""
        with self._flight_lock:
            return self._in_flight

    def posts(self) -> int:
        return len(self.calls("chat.postMessage"))

    def make_server(self) -> ThreadingHTTPServer:
        server = super().make_server()
        server.handle_error = _quiet  # type: ignore[method-assign]  # a killed client is the point
        return server

    def _handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes | None]:
        if request.api_method not in self.SLOW_METHODS:
            return super()._handle(request)
        with self._flight_lock:
            self._in_flight += 1
        try:
            answer = super()._handle(request)
            time.sleep(self._post_delay_s)  # bounded: one slow reply
            return answer
        finally:
            with self._flight_lock:
                self._in_flight -= 1


def _quiet(request: object, client_address: object) -> None:
    """No traceback when the daemon was killed before Slack's slow answer could reach it."""


# -- the daemon -----------------------------------------------------------------------------------------


def write_daemon_config(
    path: Path,
    *,
    database_url: str,
    slack: FakeSlackServer,
    model_dir: Path,
    heads_dir: Path,
    feeds: Sequence[GrowingFeed],
    batch_size: int,
) -> Path:
    """The daemon on local servers with second-long job intervals (crawls: every minute, the shortest).

    The channel budget is off, so every confident negative is owed to Slack (none is held back);
    the digest is off (it is not an alert and has its own tests).
    """
    sources = "".join(
        f'\n[sources.{feed.name}]\nkind = "rss"\nurls = ["{feed.url}"]\ntouchpoint = "support"\n'
        "every_minutes = 1\n"
        for feed in feeds
    )
    path.write_text(
        f"""
data_dir = "{path.parent}"
database_url = "{database_url}"

[slack]
token = "xoxb-test"
base_url = "{slack.base_url}"
default_channel = "#cx"
ops_channel = "#ops"

[model]
dir = "{model_dir}"
heads_dir = "{heads_dir}"
batch_size = {batch_size}

[alerts]
max_pings_per_hour = 0
max_pings_per_day = 0

[schedule]
analyze_every_s = 1
dispatch_every_s = 1
incidents_every_s = 2
health_check_every_s = 2
spike_check_every_s = 2
misfire_grace_s = 60

[digest]
enabled = false

[crawl]
download_delay_s = 0.0
obey_robots = false
max_pages = 500
timeout_s = 300
{sources}""",
        encoding="utf-8",
    )
    return path


class DaemonProcess:
    """One `python -m vocwatch run` (own process group, stderr in `log`), tagged with `tag`."""

    def __init__(self, config: Path, log: Path, *, tag: str) -> None:
        self.log = log
        self.began = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOCWATCH_")}
        env[TAG_VARIABLE] = tag
        self._stderr = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vocwatch", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,  # its own process group: what a group kill takes
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def events(self) -> list[dict[str, Any]]:
        """The JSON event lines of the scheduler and the leader lock, in order."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            for prefix in ("vocwatch.daemon.scheduler: ", "vocwatch.daemon.leader: "):
                _, sep, payload = line.partition(prefix)
                if sep and payload.startswith("{"):
                    found.append(json.loads(payload))
        return found

    def saw(self, event: str) -> bool:
        return any(e.get("event") == event for e in self.events())

    def job_runs(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == "job_run"]

    def crawls(self) -> list[psutil.Process]:
        """Its crawl processes running now (`python -m crawlers`, children of the daemon)."""
        try:
            children = psutil.Process(self.pid).children()
        except psutil.Error:
            return []
        return [child for child in children if _is_crawl(child)]

    def kill(self, *, group: bool) -> None:
        """SIGKILL the daemon alone, or its whole process group (the daemon and its crawl processes)."""
        if group:
            os.killpg(self.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait(timeout=30)
        self._stderr.close()

    def stop(self, *, timeout_s: float) -> tuple[int, float]:
        """SIGTERM and wait; returns (exit status, seconds it took)."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=timeout_s)
        finally:
            self.close()
        return status, time.monotonic() - began

    def close(self) -> None:
        """Kill it (alone) if it still runs, and close its log."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._stderr.close()


def _is_crawl(process: psutil.Process) -> bool:
    try:
        cmdline = process.cmdline()
    except psutil.Error:
        return False
    return "crawlers" in cmdline and "-m" in cmdline


def tagged_crawls(tag: str) -> list[psutil.Process]:
    """Every crawl process of this loop still running, whether its daemon lives or not."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG_VARIABLE) == tag and _is_crawl(process):
                found.append(process)
        except psutil.Error:  # gone, or not ours to read
            continue
    return found


def kill_tagged(tag: str) -> int:
    """Kill, by pid, every process of this loop that is still running (teardown); returns how many."""
    killed = 0
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG_VARIABLE) == tag:
                process.kill()
                killed += 1
        except psutil.Error:
            continue
    return killed


# -- the database ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    stored: int
    new: int
    analyzed: int
    alerts: dict[str, int] = field(default_factory=dict)
    claimable: int = 0

    @property
    def unsettled_alerts(self) -> int:
        return sum(n for status, n in self.alerts.items() if status in ("pending", "sending"))


class Probe:
    """Read-only counts from the daemon's database through a plain engine (deferred, never IMMEDIATE)."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url)

    def counts(self) -> Counts:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            mentions = select(models.Mention.status, func.count()).group_by(models.Mention.status)
            by_status = {status: n for status, n in session.execute(mentions)}
            analyzed = session.scalar(select(func.count()).select_from(models.Analysis)) or 0
            outbox = select(models.Alert.status, func.count()).group_by(models.Alert.status)
            alerts = {str(status): n for status, n in session.execute(outbox)}
            parent_known = select(models.Incident.id).where(models.Incident.slack_ts.is_not(None))
            claimable = session.scalar(
                select(func.count())
                .select_from(models.Alert)
                .where(
                    models.Alert.status == AlertStatus.PENDING,
                    models.Alert.next_attempt_at <= now,
                    or_(models.Alert.action == AlertAction.POST, models.Alert.incident_id.in_(parent_known)),
                )
            )
        return Counts(
            stored=sum(by_status.values()),
            new=by_status.get(MentionStatus.NEW, 0),
            analyzed=analyzed,
            alerts=alerts,
            claimable=claimable or 0,
        )

    def seconds_to_next_crawl(self) -> float | None:
        """Seconds until the earliest stored crawl job is due (negative: overdue); None: none stored yet."""
        try:
            with self.engine.connect() as connection:
                due = connection.execute(
                    text(f"SELECT min(next_run_time) FROM {JOBSTORE_TABLE} WHERE id LIKE 'crawl:%'")
                ).scalar()
        except DBAPIError:  # the job store's table does not exist before the first daemon creates it
            return None
        return None if due is None else float(due) - time.time()

    def close(self) -> None:
        self.engine.dispose()
