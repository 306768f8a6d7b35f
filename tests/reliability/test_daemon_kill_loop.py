"""Crash safety of the whole daemon (issue 10, point 1): SIGKILL `vocwatch run` at random points, restart
it, again and again; then let it finish. Nothing may be lost or done twice.

The daemon runs as in production (`python -m vocwatch run`, its job store in the database) against a
local site whose forum feeds grow while the loop runs, and a fake Slack that stores each message and only
then answers, slowly: a kill in that window leaves an alert that IS in Slack but is still `sending` in
the outbox. Its model is the small MiniLM encoder with a head fitted on labelled reviews (model.dir and
model.heads_dir in its config), so a start costs the Python and torch imports plus about a second to
load the model; the default run starts 5 daemons and loads the model in 2 of them. Each kill lands at
a random moment (delays from a seeded RNG) of a chosen phase: start-up (before the scheduler runs), a
crawl (its crawl process is running), analysis (batches being analyzed, more waiting) or dispatch (Slack
holds an unanswered post); in the long run also at any moment at all. A kill takes the daemon alone
(as `kill -9 PID` does; its crawl process notices within a second or two, crawlers.parentwatch, and
stops, its run recorded as failed) or, in the long run sometimes, its whole process group (as a
container stop takes the crawl with it).

Afterwards one more daemon runs until the work is done and stops on SIGTERM. Then:

- every post of every feed is stored exactly once, and nothing else is;
- every mention is analyzed exactly once;
- every alert the outbox holds is sent, and the fake Slack holds exactly one message per alert (counted
  by the dedup key in the message metadata): none lost, none doubled; every confident negative has its
  alert; every incident's parent message shows the state of its latest update;
- the job store survived every kill (no job lost or added twice);
- the scheduler lock: every restarted daemon became leader again by itself (SQLite: the lock is always
  granted; PostgreSQL: the advisory lock dies with the killed daemon's connection, see the second test).

An alert a kill left in `sending` is reconciled by the daemon only once its claim is older than the
dispatcher's grace (120 s, so that it never races a live dispatcher). The long run waits for the daemon
to do it; the default run settles them by running the daemon's dispatch job once with a 0 s grace
(every dispatcher is dead by then), which exercises the same reconciliation in seconds.

The third test is the kill during an incident's `chat.update`, step by step: it found that reconciling
a stuck update re-sent it after a newer one, putting an older state back on the Slack parent.

`VOCWATCH_LONG_TESTS=1` kills 50 times (see conftest.py); the default kills 4 times, once per phase
(and the PostgreSQL leader test 2 times).
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from slack_sdk import WebClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import storage
from notifier.dispatcher import METADATA_EVENT_TYPE, Dispatcher
from notifier.policy import mention_dedup_key
from storage import models
from storage.enums import AlertAction, AlertStatus, MentionStatus, SentimentLabel
from tests.support.alerting import Clock, alert
from tests.support.daemon_kill import (
    DaemonProcess,
    GrowingFeed,
    InFlightSlack,
    Probe,
    kill_tagged,
    tagged_crawls,
    write_daemon_config,
)
from tests.support.faults import Fault, FaultKind, FaultServer
from tests.support.scaleout import WATCHES_ONLY_DAEMON, write_config
from tests.support.waiting import wait_until
from vocwatch import stages
from vocwatch.daemon.leader import SCHEDULER_LOCK_KEY
from vocwatch.daemon.scheduler import JOBSTORE_TABLE, desired_jobs
from vocwatch.settings import load_settings
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.wiring import build_app

PHASES = ("startup", "crawl", "analysis", "dispatch")
# The default (CI) run aims one kill at each phase whose timing the test controls. A dispatch kill needs
# a post in flight at that moment, which depends on what earlier daemons left undelivered; the long run
# must land kills in every phase, and tests/reliability/test_crash_loops.py kills the dispatcher alone.
CI_TARGETS = ("startup", "crawl", "analysis")
BATCH_SIZE = 4  # analysis batches: several per crawl, so a kill can land between and inside them
PAGE_STALL_S = 0.3  # each feed page answers this late: a crawl lasts long enough to be killed in
# Slack answers a post this long after storing it: dispatch lags analysis (the long run's hundreds of
# alerts get a shorter delay; its kills still land while posts are in flight).
POST_DELAY_S = 0.5
LONG_POST_DELAY_S = 0.2
START_TIMEOUT_S = 90.0  # imports + model on a busy 2-core machine
# How long after the phase was seen the kill may come (uniform from 0): inside the phase, at a random point.
KILL_WINDOW_S = {"crawl": 1.5, "analysis": 0.05, "dispatch": 0.4}
NEGATIVE_THRESHOLD = 0.7  # alerts.negative_threshold's default, which the config keeps


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: the phase aimed at, how long after the start, what the daemon was doing then."""

    target: str
    after_s: float
    landed: frozenset[str]
    group: bool
    crawls_left_running: int


@dataclass
class KillLoop:
    """The daemons of one test, the servers they talk to, and what the kills hit."""

    tmp_path: Path
    config: Path
    tag: str
    slack: InFlightSlack
    feeds: list[GrowingFeed]
    probe: Probe
    rng: random.Random
    daemons: list[DaemonProcess] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)

    def spawn(self) -> DaemonProcess:
        daemon = DaemonProcess(self.config, self.tmp_path / f"daemon-{len(self.daemons)}.log", tag=self.tag)
        self.daemons.append(daemon)
        return daemon

    def published(self) -> int:
        return sum(feed.posts for feed in self.feeds)

    def doing(self, daemon: DaemonProcess, analyzed_before: int) -> frozenset[str]:
        """What the daemon is in the middle of, as seen from outside, right now."""
        flags = set()
        if not daemon.saw("daemon_started"):
            flags.add("startup")
        if daemon.crawls():
            flags.add("crawl")
        if self.mid_queue(analyzed_before):
            flags.add("analysis")  # its analysis loop ran this round and has batches left
        if self.slack.in_flight:
            flags.add("dispatch")  # a post or update Slack has stored but not answered
        return frozenset(flags)

    def mid_queue(self, analyzed_before: int) -> bool:
        counts = self.probe.counts()
        return counts.new > 0 and counts.analyzed > analyzed_before

    def kill_round(self, target: str, *, group_kills: bool) -> Kill:
        """Start a daemon, wait for `target` to be under way, wait a random moment more, SIGKILL it."""
        daemon = self.spawn()
        before = self.probe.counts()
        analyzed_before = before.analyzed
        posts_before = self.slack.posts()
        if target == "startup":
            # Within the imports: `vocwatch run` needs 0.8-2 s on 2 cores before it logs daemon_started
            # (1.15 s was already too late for a quiet CI machine with compiled bytecode).
            _sleep_while_alive(daemon, self.rng.uniform(0.05, 0.5))
        elif target == "anytime":
            _sleep_while_alive(daemon, self.rng.uniform(0.0, 30.0))
        else:
            wait_until(
                lambda: daemon.saw("daemon_started") or not daemon.alive(),
                timeout_s=START_TIMEOUT_S,
                what="the daemon to start",
            )
            assert daemon.alive(), daemon.log.read_text()
            if target == "analysis":
                # Killed after a random number of its batches, in the second half of the queue (the alerts
                # of the first half are still being posted: the next daemon starts with a backlog to
                # dispatch), never after the last batch it can know of; on a slow machine after 3 s.
                queue = before.new or self.published() - analyzed_before  # a crawl may still be storing
                batches = max(1, queue // BATCH_SIZE - 1)
                at_kill = analyzed_before + BATCH_SIZE * self.rng.randint((batches + 1) // 2, batches)
                _wait_quietly(lambda: self.probe.counts().analyzed > analyzed_before, daemon, timeout_s=90.0)
                _wait_quietly(lambda: self.probe.counts().analyzed >= at_kill, daemon, timeout_s=3.0)
                # The daemon analyzes as soon as a crawl stores (no interval to wait for), so it keeps pace
                # with the crawl's pages: catch it with mentions still queued, between its batches.
                _wait_quietly(lambda: self.mid_queue(analyzed_before), daemon, timeout_s=30.0)
            else:
                # The phase normally starts within seconds (a crawl: when its job is due, up to a
                # minute); if it never does, the kill still lands, and `landed` says where.
                under_way: dict[str, Callable[[], bool]] = {
                    "crawl": lambda: bool(daemon.crawls()),
                    "dispatch": lambda: self.slack.posts() > posts_before,
                }
                _wait_quietly(under_way[target], daemon, timeout_s=75.0)
            _sleep_while_alive(daemon, self.rng.uniform(0.0, KILL_WINDOW_S[target]))
        assert daemon.alive(), f"the daemon exited by itself:\n{daemon.log.read_text()[-3000:]}"
        landed = self.doing(daemon, analyzed_before)
        group = group_kills and "crawl" in landed and self.rng.random() < 0.5
        running = len(daemon.crawls())
        daemon.kill(group=group)
        kill = Kill(
            target=target,
            after_s=round(time.monotonic() - daemon.began, 2),
            landed=landed,
            group=group,
            crawls_left_running=0 if group else running,
        )
        self.kills.append(kill)
        return kill

    def choose_target(self) -> str:
        """A phase that has work to be killed in now (start-up and 'any moment' always have)."""
        counts = self.probe.counts()
        due = self.probe.seconds_to_next_crawl()
        feasible = ["startup", "anytime"]
        if due is None or due < 20:
            feasible.append("crawl")
        if counts.new >= 3 * BATCH_SIZE:
            feasible.append("analysis")
        if counts.claimable >= 3:
            feasible.append("dispatch")
        return self.rng.choice(feasible)

    def settle(self, daemon: DaemonProcess, *, sending_too: bool, timeout_s: float) -> None:
        """Wait until the daemon has stored every post, analyzed every mention and sent every alert it
        can (with `sending_too`, also those a kill left in `sending`: after the dispatcher's grace)."""
        expected = self.published()
        last: tuple[Any, ...] | None = None
        deadline = time.monotonic() + timeout_s
        while True:
            assert daemon.alive(), daemon.log.read_text()[-3000:]
            counts = self.probe.counts()
            done = counts.stored == expected and counts.new == 0 and counts.claimable == 0
            if sending_too:
                done = done and counts.unsettled_alerts == 0
            state = (counts.stored, counts.analyzed, tuple(sorted(counts.alerts.items())))
            if done and state == last and not tagged_crawls(self.tag):
                return  # unchanged over two looks, 1.5 s apart: no job still adding work
            last = state if done else None
            assert time.monotonic() < deadline, f"the daemon did not finish: {counts}"
            time.sleep(1.5)  # bounded: the poll interval of a wait with a deadline


def _sleep_while_alive(daemon: DaemonProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while daemon.alive() and time.monotonic() < deadline:
        time.sleep(0.01)


def _wait_quietly(condition: Callable[[], bool], daemon: DaemonProcess, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while daemon.alive() and not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def loop_tag() -> Iterator[str]:
    """The tag of this test's processes; teardown kills any still running (a crawl that outlived its
    daemon, a daemon a failed assertion left behind) by pid."""
    tag = secrets.token_hex(8)
    yield tag
    kill_tagged(tag)


def dispatch_once(config: Path, *, reconcile_after_s: float) -> stages.DispatchTotals:
    """The daemon's dispatch job, run once in this process on the daemon's config (all daemons dead)."""
    app = build_app(load_settings(config))
    try:
        dispatcher = Dispatcher(app.slack, app.sessions, stuck_after_s=reconcile_after_s)
        return stages.dispatch_alerts(dispatcher)
    finally:
        app.engine.dispose()


@dataclass(frozen=True)
class Outcome:
    """What the database and Slack hold after the loop, as the figures of docs/reliability.md count them."""

    mentions: int
    mentions_lost: int
    mentions_doubled: int
    mentions_unexpected: int
    not_analyzed: int
    analyses_doubled: int
    alerts: int  # outbox rows that post a message (new messages and thread replies)
    updates: int
    alerts_lost: list[str]
    alerts_doubled: dict[str, int]
    slack_unknown: list[str]
    negatives_without_alert: list[int]
    stale_parents: list[int]
    unsent: dict[str, int]

    @property
    def lost(self) -> int:
        return self.mentions_lost + self.not_analyzed + len(self.alerts_lost) + len(self.stale_parents)

    @property
    def duplicated(self) -> int:
        return (
            self.mentions_doubled + self.analyses_doubled + sum(n - 1 for n in self.alerts_doubled.values())
        )


def outcome(database_url: str, feeds: list[GrowingFeed], slack: FakeSlackServer) -> Outcome:
    expected = {(feed.name, external_id) for feed in feeds for external_id in feed.external_ids()}
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            stored = session.execute(
                select(models.Source.name, models.Mention.external_id).join(models.Mention.source)
            ).all()
            mention_status = {
                mention_id: status
                for mention_id, status in session.execute(select(models.Mention.id, models.Mention.status))
            }
            analyses = session.execute(
                select(
                    models.Analysis.mention_id,
                    models.Analysis.label,
                    models.Analysis.p_negative,
                    models.Analysis.reliable,
                )
            ).all()
            alerts = list(session.scalars(select(models.Alert).order_by(models.Alert.id)))
            incidents = list(session.scalars(select(models.Incident)))
    finally:
        engine.dispose()
    stored_set = {(name, external_id) for name, external_id in stored}
    per_mention = Counter(mention_id for mention_id, *_ in analyses)
    posting = [a for a in alerts if a.action in (AlertAction.POST, AlertAction.REPLY)]
    posting = [a for a in posting if a.status != AlertStatus.SUPPRESSED]
    messages = slack.messages()
    in_slack = Counter(
        str((m.metadata or {}).get("event_payload", {}).get("dedup_key"))
        for m in messages
        if (m.metadata or {}).get("event_type") == METADATA_EVENT_TYPE
    )
    keys = {a.dedup_key for a in alerts}
    negatives = [
        mention_id
        for mention_id, label, p_negative, reliable in analyses
        if label == SentimentLabel.NEGATIVE and p_negative >= NEGATIVE_THRESHOLD and reliable
    ]
    by_ts = {(m.channel_id, m.ts): m for m in messages}
    stale = []
    for incident in incidents:
        shown = by_ts.get((incident.slack_channel_id or "", incident.slack_ts or ""))
        latest = [
            a
            for a in alerts
            if a.incident_id == incident.id and a.action in (AlertAction.POST, AlertAction.UPDATE)
        ]
        if shown is None or not latest or shown.text != latest[-1].text:
            stale.append(incident.id)
    return Outcome(
        mentions=len(stored),
        mentions_lost=len(expected - stored_set),
        mentions_doubled=len(stored) - len(stored_set),
        mentions_unexpected=len(stored_set - expected),
        not_analyzed=sum(
            status != MentionStatus.ANALYZED or mention_id not in per_mention
            for mention_id, status in mention_status.items()
        ),
        analyses_doubled=sum(n - 1 for n in per_mention.values()),
        alerts=len(posting),
        updates=sum(a.action == AlertAction.UPDATE for a in alerts),
        alerts_lost=[a.dedup_key for a in posting if in_slack[a.dedup_key] == 0],
        alerts_doubled={key: n for key, n in in_slack.items() if n > 1},
        slack_unknown=sorted(key for key in in_slack if key not in keys),
        negatives_without_alert=[m for m in negatives if mention_dedup_key(m) not in keys],
        stale_parents=stale,
        unsent=dict(
            Counter(
                str(a.status) for a in alerts if a.status not in (AlertStatus.SENT, AlertStatus.SUPPRESSED)
            )
        ),
    )


def job_ids(database_url: str) -> list[str]:
    """The ids in the daemon's job store, in order, repeats included."""
    engine = storage.make_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(row[0] for row in connection.execute(text(f"SELECT id FROM {JOBSTORE_TABLE}")))
    finally:
        engine.dispose()


@pytest.mark.timing  # asserts how fast the last daemon stops: not beside the parallel run's load
def test_killing_the_daemon_again_and_again_loses_nothing_and_does_nothing_twice(
    tmp_path: Path,
    migrated_sqlite_url: str,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    loop_tag: str,
    long_run: bool,
) -> None:
    began = time.monotonic()
    kills_wanted = 50 if long_run else len(CI_TARGETS)
    rng = random.Random(1010)
    with (
        FaultServer() as site,
        InFlightSlack(
            post_delay_s=LONG_POST_DELAY_S if long_run else POST_DELAY_S, channels=("cx", "ops")
        ) as slack,
    ):
        feeds = [GrowingFeed(site, name) for name in (("forum", "shop", "app") if long_run else ("forum",))]
        for feed in feeds:
            feed.publish(40)
            site.inject(f"/{feed.name}/", Fault(FaultKind.SLOW, stall_s=PAGE_STALL_S))
        config = write_daemon_config(
            tmp_path / "vocwatch.toml",
            database_url=migrated_sqlite_url,
            slack=slack,
            model_dir=minilm_model_dir,
            heads_dir=minilm_heads_dir,
            feeds=feeds,
            batch_size=BATCH_SIZE,
        )
        loop = KillLoop(tmp_path, config, loop_tag, slack, feeds, Probe(migrated_sqlite_url), rng)
        try:
            while len(loop.kills) < kills_wanted:
                if long_run:
                    if loop.probe.counts().new < 3 * BATCH_SIZE and loop.published() < 1000:
                        rng.choice(feeds).publish(rng.randint(10, 40))  # the forum keeps talking
                    target = loop.choose_target()
                else:
                    target = CI_TARGETS[len(loop.kills)]
                kill = loop.kill_round(target, group_kills=long_run)
                if long_run:  # progress of a run that takes minutes (visible with -s)
                    print(f"kill {len(loop.kills)}: {kill} at {time.monotonic() - began:.0f} s", flush=True)

            final = loop.spawn()
            wait_until(
                lambda: final.saw("daemon_started") or not final.alive(),
                timeout_s=START_TIMEOUT_S,
                what="the last daemon to start",
            )
            # The long run waits for the daemon itself to reconcile what kills left in `sending`
            # (after the dispatcher's 120 s grace); a crawl cut by a group kill resumes on its schedule.
            loop.settle(final, sending_too=long_run, timeout_s=900 if long_run else 120)
            status, took_s = final.stop(timeout_s=30)
            assert status == 0, final.log.read_text()[-3000:]
            assert took_s < 15
            left = loop.probe.counts()
            # The default run: what the kills left in `sending`, settled by the daemon's own dispatch job
            # (0 s grace: no dispatcher is alive). Both runs: an alert a health or spike check queued
            # between the last look and the stop.
            if left.unsettled_alerts:
                dispatch_once(config, reconcile_after_s=0.0 if not long_run else 120.0)
            result = outcome(migrated_sqlite_url, feeds, slack)
            stored_jobs = job_ids(migrated_sqlite_url)
        finally:
            loop.probe.close()
            for daemon in loop.daemons:
                daemon.close()

    wall_s = time.monotonic() - began
    landed = Counter(phase for kill in loop.kills for phase in kill.landed)
    started = [d for d in loop.daemons if d.saw("daemon_started")]
    syncs = [next(e for e in d.events() if e["event"] == "daemon_started")["jobs"] for d in started]
    figures = {
        "kills": len(loop.kills),
        "targets": dict(Counter(kill.target for kill in loop.kills)),
        "landed": dict(landed),
        "group_kills": sum(kill.group for kill in loop.kills),
        "crawls_outliving_their_daemon": sum(kill.crawls_left_running for kill in loop.kills),
        "restarts_leading": len(started),
        "mentions": result.mentions,
        "alerts": result.alerts,
        "updates": result.updates,
        "slack_messages": sum(1 for _ in slack.messages()),
        "lost": result.lost,
        "duplicated": result.duplicated,
        "wall_s": round(wall_s, 1),
    }
    print("daemon kill loop:", json.dumps(figures, sort_keys=True))

    assert len(loop.kills) == kills_wanted
    if not long_run:
        for kill in loop.kills:  # each kill landed in the phase it aimed at
            assert kill.target in kill.landed, loop.kills
    else:
        assert all(landed[phase] > 0 for phase in PHASES), landed
    assert result.mentions_lost == 0 and result.mentions_doubled == 0 and result.mentions_unexpected == 0
    assert result.mentions == loop.published()
    assert result.not_analyzed == 0 and result.analyses_doubled == 0
    assert result.unsent == {}
    assert result.alerts_lost == [] and result.alerts_doubled == {} and result.slack_unknown == []
    assert result.alerts > 0
    assert result.negatives_without_alert == []
    assert result.stale_parents == []
    # The job store came through every kill: once a start had added every job (one killed half-way
    # through adding them leaves the rest to the next), every later start found them all; each is stored once.
    wanted_jobs = {spec.id for spec in desired_jobs(load_settings(config))}
    assert stored_jobs == sorted(wanted_jobs)
    assert syncs and all(
        s["kept"] + s["added"] == len(wanted_jobs) and s["changed"] == s["removed"] == 0 for s in syncs
    )
    assert all(s["added"] == 0 for s in syncs[1:]), syncs
    # No daemon stood by: on SQLite the scheduler lock is always granted, so every restart leads.
    assert not any(d.saw("scheduler_standby") for d in loop.daemons)
    for daemon in started:
        errors = [
            r for r in daemon.job_runs() if r["outcome"] == "error" and r["job"] in ("analyze", "dispatch")
        ]
        assert errors == [], errors


# -- PostgreSQL: the advisory lock dies with the killed daemon's connection -----------------------------


def _lock_holders(conninfo: str) -> set[int]:
    """Backend pids holding the scheduler's advisory lock (pg_locks splits the bigint key in two halves)."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            (SCHEDULER_LOCK_KEY >> 32, SCHEDULER_LOCK_KEY & 0xFFFFFFFF),
        ).fetchall()
    return {int(pid) for (pid,) in rows}


def test_a_daemon_restarted_after_sigkill_leads_again_on_postgresql(
    tmp_path: Path, migrated_postgres_url: str, loop_tag: str, long_run: bool
) -> None:
    """A supervisor restarts the daemon at once after each SIGKILL (during start-up, or while it leads);
    every restart must lead by itself: the killed daemon's advisory lock goes with its connection."""
    kills_wanted = 50 if long_run else 2
    rng = random.Random(1011)
    conninfo = (
        make_url(migrated_postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=migrated_postgres_url,
        body=WATCHES_ONLY_DAEMON + "\n[digest]\nenabled = false\n",
    )
    daemons: list[DaemonProcess] = []
    lock_outlived_s: list[float] = []
    startup_kills = 0

    def start() -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / f"daemon-{len(daemons)}.log", tag=loop_tag)
        daemons.append(daemon)
        return daemon

    try:
        daemon = start()
        for kill in range(kills_wanted + 1):
            if kill < kills_wanted and rng.random() < 0.3:  # during start-up: the lock taken or not yet
                _sleep_while_alive(daemon, rng.uniform(0.05, 4.0))
                startup_kills += 1
            else:
                wait_until(
                    lambda d=daemon: d.saw("daemon_started") or not d.alive(),
                    timeout_s=START_TIMEOUT_S,
                    what="the restarted daemon to lead",
                )
                assert daemon.alive(), daemon.log.read_text()[-3000:]
                assert len(_lock_holders(conninfo)) == 1
                if kill == kills_wanted:
                    break
                _sleep_while_alive(daemon, rng.uniform(0.0, 3.0))  # while it runs its jobs
            assert daemon.alive(), daemon.log.read_text()[-3000:]
            held = _lock_holders(conninfo)
            daemon.kill(group=rng.random() < 0.5)
            killed = time.monotonic()
            daemon = start()  # at once, as `restart: unless-stopped` does
            wait_until(
                lambda h=held: not (_lock_holders(conninfo) & h), timeout_s=30, what="the old lock to go"
            )
            lock_outlived_s.append(time.monotonic() - killed)
        wait_until(lambda: any(r["job"] == "health" for r in daemon.job_runs()), timeout_s=30, what="a job")
        status, _ = daemon.stop(timeout_s=30)
        assert status == 0, daemon.log.read_text()[-3000:]
        assert _lock_holders(conninfo) == set()  # a clean stop gives the lock back too
    finally:
        for started in daemons:
            started.close()

    leaders = [d for d in daemons if d.saw("daemon_started")]
    syncs = [next(e for e in d.events() if e["event"] == "daemon_started")["jobs"] for d in leaders]
    print(
        "postgres leader after SIGKILL:",
        json.dumps(
            {
                "kills": len(daemons) - 1,
                "startup_kills": startup_kills,
                "restarts_leading": len(leaders),
                "stood_by_first": sum(d.saw("scheduler_standby") for d in daemons),
                "lock_outlived_kill_max_s": round(max(lock_outlived_s), 3),
            }
        ),
    )
    assert len(daemons) == kills_wanted + 1
    assert len(leaders) >= kills_wanted + 1 - startup_kills  # every daemon not killed in start-up led
    assert all(s["added"] == 0 and s["removed"] == 0 for s in syncs[1:])  # the job store kept every job


# -- a kill during an incident's parent update, step by step ---------------------------------------------

UPDATE_RULES = stages.AlertRules(0.7, "#cx")
COMPLAINT = "parcel {n} never arrived, the courier says delivered"


def test_an_update_left_in_sending_never_puts_an_older_state_over_a_newer_one(
    migrated_sqlite_url: str, fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    """The loop's kill during `chat.update`, made deterministic: the daemon dies after Slack applied an
    incident's update (state: 3 mentions) but before it was recorded; a 4th mention queues a newer update,
    which is sent; then the stuck one is reconciled. Slack must end showing 4, not the stuck 3."""
    engine = storage.make_engine(migrated_sqlite_url)
    sessions = storage.make_session_factory(engine)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    dispatcher = Dispatcher(slack_client, sessions, clock=clock)
    with sessions.begin() as session:
        session.add(models.Source(name="forum", kind="rss"))
    try:
        for n in range(3):  # a parent, then a reply and a parent update per mention
            clock.advance(minutes=1)
            alert(sessions, clock, UPDATE_RULES, text=COMPLAINT.format(n=n), topics=("delivery",))
            stages.dispatch_alerts(dispatcher)
        with sessions.begin() as session:  # ... whose send the kill cut after Slack had applied it
            stuck = session.scalars(
                select(models.Alert)
                .where(models.Alert.action == AlertAction.UPDATE)
                .order_by(models.Alert.id.desc())
                .limit(1)
            ).one()
            stuck.status, stuck.slack_ts, stuck.claimed_at = AlertStatus.SENDING, None, clock()
        clock.advance(minutes=1)
        alert(sessions, clock, UPDATE_RULES, text=COMPLAINT.format(n=3), topics=("delivery",))
        stages.dispatch_alerts(dispatcher)  # the newer update (4 mentions) goes out at once
        newest = fake_slack.messages()[0].text
        clock.advance(minutes=10)  # past the reconcile grace: the restarted daemon settles the stuck one
        stages.dispatch_alerts(dispatcher)

        with sessions() as session:
            statuses = set(session.scalars(select(models.Alert.status)))
            [incident] = session.scalars(select(models.Incident))
            mentions = incident.mention_count
    finally:
        engine.dispose()
    assert mentions == 4
    assert statuses == {AlertStatus.SENT}
    assert fake_slack.messages()[0].text == newest  # the parent still shows the newest state
