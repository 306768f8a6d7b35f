"""`vocwatch run`: the daemon that crawls, analyzes, alerts and watches on schedule (APScheduler 3).

Jobs live in an APScheduler `SQLAlchemyJobStore` on the app database (`apscheduler_jobs`; SQLite by
default, the same URL works for PostgreSQL), so their next run times survive a restart: a source crawled
every 6 hours is not re-crawled just because the daemon restarted. What keeps a restart from stampeding:

- `coalesce=True`: all the runs a job missed while the daemon was down collapse into ONE run;
- `misfire_grace_time` of at least the job's own interval: that one catch-up run happens however long the
  daemon was down (a source crawled every 6 hours is crawled on restart, not up to 6 hours later);
- `max_instances=1`: a slow run (a big analysis backlog) is never overlapped by the next one.

Jobs are stored as textual references to the module-level functions below
(`vocwatch.daemon.scheduler:analyze_job`) plus plain arguments (a source name), never as pickled objects
or settings: a stored job holds no database password or token, and it keeps working after the code or
config changes. The functions take
what they need from the daemon's runtime, which `run_daemon` builds from Settings before the first job.

At start, before any job runs, the daemon asks Slack (`auth.test`) which scopes the token has: without
those the dispatcher needs (the history scopes, to find an interrupted alert in Slack before sending it
again) the `dispatch` job is not scheduled at all, and ONE line (`dispatch_stopped`) names the missing
scopes and the fix; everything else runs, and the alerts wait in the outbox until a restart with the
scopes granted (or `slack.reconcile = false`).

Each job run writes ONE structured log line (JSON after the logger prefix): job, outcome, duration_s and
its counts. SIGTERM/SIGINT stop the daemon cleanly: no new job starts, a running analysis finishes its
current batch (each stage is one transaction anyway), a running crawl process gets SIGTERM (SIGKILL 10 s
later), and the process exits 0.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.errors import SlackApiError

import storage
from notifier.errors import MissingScopesError
from notifier.spikes import SpikeRule
from vocwatch import stages
from vocwatch.daemon.crawl import make_runspec, run_crawl, run_crawl_worker, terminate_running_crawls
from vocwatch.daemon.leader import SchedulerLock
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings
from vocwatch.slackcheck import dispatch_stopped
from vocwatch.wiring import App

__all__ = [
    "JOBSTORE_TABLE",
    "JobSpec",
    "analyze_job",
    "crawl_job",
    "desired_jobs",
    "digest_job",
    "dispatch_job",
    "health_job",
    "incidents_job",
    "run_daemon",
    "spike_job",
    "spike_rules",
]

logger = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
_MODULE = __name__


@dataclass
class _Runtime:
    """What the jobs of this process share: the wired app (one model, one Slack client) and the stop flag."""

    app: App
    stopping: threading.Event = field(default_factory=threading.Event)
    scheduler: BackgroundScheduler | None = None
    running: set[str] = field(default_factory=set)  # jobs running now (by id)
    woken: set[str] = field(default_factory=set)  # jobs asked to run again as soon as they finish
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wake(self, job_id: str) -> None:
        """Run `job_id` now instead of at its next interval: new mentions go on to analysis, new alerts
        to Slack, within seconds. A job that is running now runs once more when it finishes (asking
        APScheduler to start a second instance would only log "skipped: maximum number of running
        instances")."""
        with self.lock:
            if job_id in self.running:
                self.woken.add(job_id)
                return
        if self.scheduler is not None and self.scheduler.get_job(job_id) is not None:
            self.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def started(self, job_id: str) -> None:
        with self.lock:
            self.running.add(job_id)

    def finished(self, job_id: str) -> None:
        with self.lock:
            self.running.discard(job_id)
            again = job_id in self.woken
            self.woken.discard(job_id)
        if again and not self.stopping.is_set():
            self.wake(job_id)


_runtime: _Runtime | None = None


def _current() -> _Runtime:
    if _runtime is None:
        raise VocwatchError("no daemon runtime in this process", fix="start jobs through `vocwatch run`")
    return _runtime


def spike_rules(settings: Settings) -> tuple[SpikeRule, ...]:
    """The two comparisons of DESIGN.md: last hour vs the prior 12 h, last day vs the prior 14 days."""
    spikes = settings.spikes
    common: dict[str, Any] = {
        "p_value": spikes.p_value,
        "k_sigma": spikes.k_sigma,
        "min_share_rise": spikes.min_share_rise,
    }
    return (
        SpikeRule(
            name="1h", window=timedelta(hours=1), baseline_bins=12, min_count=spikes.hour_min_count, **common
        ),
        SpikeRule(
            name="1d", window=timedelta(days=1), baseline_bins=14, min_count=spikes.day_min_count, **common
        ),
    )


# -- the jobs (module-level: the job store keeps `vocwatch.daemon.scheduler:<name>` references) -----


def crawl_job(source: str) -> None:
    """Crawl one source in its own process (Scrapy's reactor cannot restart in ours)."""

    def run(app: App) -> dict[str, int]:
        configured = app.settings.sources.get(source)
        if configured is None or not configured.enabled:
            return {"skipped": 1}  # removed or disabled since the job was stored; the next sync drops it
        if app.settings.crawl.redis_url:  # scale-out: the daemon is one more worker of the shared round
            outcome = run_crawl_worker(app.settings, source, configured)
        else:
            outcome = run_crawl(
                make_runspec(app.settings, source, configured), timeout_s=app.settings.crawl.timeout_s
            )
        if not outcome.ok and _current().stopping.is_set():
            return {"returncode": outcome.returncode, "terminated": 1}  # the daemon stopped it
        if not outcome.ok:
            # The crawl process ends its stderr with one summary line; warnings before it are noise here.
            last = (outcome.stderr_tail.strip().splitlines() or ["no output"])[-1]
            raise VocwatchError(f"crawl of {source} exited {outcome.returncode}: {last}")
        if outcome.items_new:
            _current().wake("analyze")  # what it stored is analyzed now, not at the next interval
        return {"returncode": outcome.returncode, "items_new": outcome.items_new}

    _logged(f"crawl:{source}", run)


def analyze_job() -> None:
    """Analyze new mentions batch by batch until the queue is empty or the daemon is stopping."""

    def run(app: App) -> dict[str, int]:
        settings = app.settings
        rules = stages.AlertRules.from_settings(settings)
        analyzed = batches = 0
        stopping = _current().stopping
        while not stopping.is_set():
            count = stages.analyze_pending(
                app.sessions, app.analyzer, rules, batch_size=settings.model.batch_size
            )
            if count == 0:
                break
            analyzed, batches = analyzed + count, batches + 1
            _current().wake("dispatch")  # its alerts go out now, not at the next interval
        return {"analyzed": analyzed, "batches": batches}

    _logged("analyze", run)


def dispatch_job() -> None:
    """Post due alerts (reconciling any a crash left in `sending` first)."""
    _logged("dispatch", lambda app: asdict(stages.dispatch_alerts(app.dispatcher)))


def incidents_job() -> None:
    """Incidents without new mentions turn quiet, then resolved; their Slack parent is updated."""

    def run(app: App) -> dict[str, int]:
        rules = stages.AlertRules.from_settings(app.settings)
        return {"changed": stages.refresh_incident_states(app.sessions, rules)}

    _logged("incidents", run)


def spike_job() -> None:
    """Judge every touchpoint and topic for spikes; one alert per new episode."""

    def run(app: App) -> dict[str, int]:
        settings = app.settings
        channel = settings.spikes.channel or settings.slack.default_channel
        totals = stages.check_spikes(
            app.sessions,
            rules=spike_rules(settings),
            channel=channel,
            min_history=timedelta(days=settings.spikes.min_history_days),
            budget=stages.AlertRules.from_settings(settings).budget,
        )
        return asdict(totals)

    _logged("spikes", run)


def health_job() -> None:
    """Compare each source's ledger status with the last announced one; alert ops on transitions."""

    def run(app: App) -> dict[str, int]:
        settings = app.settings
        channel = settings.slack.ops_channel or settings.slack.default_channel
        configured = {name for name, source in settings.sources.items() if source.enabled}
        return asdict(stages.check_source_health(app.sessions, channel=channel, sources=configured))

    _logged("health", run)


def digest_job() -> None:
    """Post the digest of the week that just ended, once per week and channel, and write its reports."""
    from vocwatch.stages.digest import scheduled_digest  # matplotlib and jinja2 load only when a digest runs

    _logged("digest", lambda app: scheduled_digest(app, now=datetime.now(UTC)))


def _logged(name: str, run: Callable[[App], Mapping[str, int]]) -> None:
    """Run one job and write its ONE structured log line; a failure is logged, never raised into
    APScheduler (it would log a second, unstructured traceback and change nothing: the next run retries)."""
    started = time.monotonic()
    record: dict[str, Any] = {"event": "job_run", "job": name}
    runtime = _current()
    runtime.started(name)
    try:
        counts = run(runtime.app)
    except Exception as exc:
        # One line, without the SQL and customer-text parameters SQLAlchemy puts in an error's text.
        record.update(outcome="error", error=storage.engine.describe_error(exc)[:500])
        level = logging.ERROR
    else:
        record.update(outcome="ok", counts=dict(counts))
        level = logging.INFO
    finally:
        runtime.finished(name)
    record["duration_s"] = round(time.monotonic() - started, 3)
    record["at"] = _now_iso()
    logger.log(level, json.dumps(record, sort_keys=True))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# -- the schedule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """One job the config asks for: a stable id, a function reference, its arguments and its interval."""

    id: str
    func: str
    every_s: int
    args: tuple[str, ...] = ()


def desired_jobs(settings: Settings) -> list[JobSpec]:
    """The jobs of this config: the pipeline stages, the two watches, and one crawl per enabled source."""
    schedule = settings.schedule
    specs = [
        JobSpec("analyze", f"{_MODULE}:analyze_job", schedule.analyze_every_s),
        JobSpec("dispatch", f"{_MODULE}:dispatch_job", schedule.dispatch_every_s),
        JobSpec("incidents", f"{_MODULE}:incidents_job", schedule.incidents_every_s),
        JobSpec("health", f"{_MODULE}:health_job", schedule.health_check_every_s),
    ]
    # Scale-out: `vocwatch worker analyze|dispatch` processes run these stages instead of the daemon.
    external = {
        "analyze": settings.worker.external_analyzers,
        "dispatch": settings.worker.external_dispatchers,
    }
    specs = [spec for spec in specs if not external.get(spec.id, False)]
    if settings.spikes.enabled:
        specs.append(JobSpec("spikes", f"{_MODULE}:spike_job", schedule.spike_check_every_s))
    if settings.digest.enabled:
        specs.append(JobSpec("digest", f"{_MODULE}:digest_job", settings.digest.check_every_s))
    for name, source in sorted(settings.sources.items()):
        if source.enabled and source.kind != "survey":
            specs.append(JobSpec(f"crawl:{name}", f"{_MODULE}:crawl_job", source.every_minutes * 60, (name,)))
    return specs


def may_dispatch(app: App) -> bool:
    """The start check: False, logged as one line with the fix, when the Slack token lacks a scope the
    dispatcher needs. No token, or Slack unreachable: True (the dispatch job reports those as it runs,
    and the dispatcher checks the scopes again before its first batch)."""
    if app.settings.slack.token is None:
        return True
    try:
        app.dispatcher.check_scopes()
    except MissingScopesError as err:
        stopped = dispatch_stopped(app.settings, err)
        record = {"event": "dispatch_stopped", "error": stopped.message, "fix": stopped.fix, "at": _now_iso()}
        logger.error(json.dumps(record, sort_keys=True))
        return False
    except (SlackApiError, OSError) as err:
        reason = f"{type(err).__name__}: {err}"[:300]
        logger.warning(json.dumps({"event": "slack_check_failed", "error": reason, "at": _now_iso()}))
    return True


def _load_model(app: App) -> None:
    """Load the model before any job runs: the first analysis would otherwise hold its job for the
    load (seconds to a minute), and every wake-up meanwhile would find it still running."""
    started = time.monotonic()
    _ = app.analyzer
    record = {"event": "model_loaded", "duration_s": round(time.monotonic() - started, 3), "at": _now_iso()}
    logger.info(json.dumps(record, sort_keys=True))


def make_scheduler(app: App) -> BackgroundScheduler:
    """A scheduler whose job store is the app database and whose defaults forbid stampedes."""
    schedule = app.settings.schedule
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=app.engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=schedule.max_workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": schedule.misfire_grace_s,
        },
        timezone=UTC,
    )


def sync_jobs(
    scheduler: BackgroundScheduler, specs: list[JobSpec], *, now: datetime, misfire_grace_s: int = 60
) -> dict[str, int]:
    """Make the stored jobs match the config, keeping the next run time of every job that did not change.

    New jobs run soon (crawls staggered a few seconds apart, so they do not all start at once); a job
    whose interval or function changed is rescheduled; a stored job the config no longer has is removed.
    Each job may start up to max(`misfire_grace_s`, its interval) late, so its coalesced catch-up run
    after downtime is never dropped.
    """
    stored: dict[str, Job] = {job.id: job for job in scheduler.get_jobs()}
    kept = added = changed = removed = 0
    crawls = 0  # new crawls start 5 s apart: the first at once, not after the other jobs' slots
    for spec in specs:
        trigger = IntervalTrigger(seconds=spec.every_s, timezone=UTC)
        grace = max(misfire_grace_s, spec.every_s)
        job = stored.pop(spec.id, None)
        if job is None:
            first = now
            if spec.id.startswith("crawl:"):
                first, crawls = now + timedelta(seconds=5 * crawls), crawls + 1
            scheduler.add_job(
                spec.func,
                trigger=trigger,
                args=spec.args,
                id=spec.id,
                name=spec.id,
                next_run_time=first,
                misfire_grace_time=grace,
            )
            added += 1
            continue
        same_trigger = isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == trigger.interval
        same_call = job.func_ref == spec.func and tuple(job.args) == spec.args
        if same_trigger and same_call and job.misfire_grace_time == grace:
            kept += 1
            continue
        scheduler.modify_job(spec.id, func=spec.func, args=spec.args, misfire_grace_time=grace)
        if not same_trigger:
            scheduler.reschedule_job(spec.id, trigger=trigger)
        changed += 1
    for job_id in stored:
        scheduler.remove_job(job_id)
        removed += 1
    return {"kept": kept, "added": added, "changed": changed, "removed": removed}


def run_daemon(app: App, *, install_signal_handlers: bool = True, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set); returns the exit status (0 on a clean stop).

    `app` must be migrated and its catalog synced (the CLI does both). Only one daemon schedules per
    database: on PostgreSQL a second one stands by until the first stops (vocwatch.daemon.leader); returns 1
    when the leader lost its lock's connection and stopped itself.
    """
    global _runtime
    stop = stop or threading.Event()
    runtime = _Runtime(app=app)
    _runtime = runtime
    previous: dict[signal.Signals, Any] = {}
    if install_signal_handlers:

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info(
                json.dumps(
                    {"event": "daemon_stopping", "signal": signal.Signals(signum).name, "at": _now_iso()}
                )
            )
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    scheduler = make_scheduler(app)
    lock = SchedulerLock(app.engine)  # PostgreSQL: one leader, the other daemons stand by as hot spares
    try:
        if not lock.wait_until_leading(stop, poll_s=app.settings.worker.standby_poll_s):
            return 0  # stopped while standing by
        specs = desired_jobs(app.settings)
        if any(spec.id == "dispatch" for spec in specs) and not may_dispatch(app):
            specs = [spec for spec in specs if spec.id != "dispatch"]  # the alerts wait in the outbox
        if any(spec.id == "analyze" for spec in specs):
            _load_model(app)
        scheduler.start(paused=True)  # loads the stored jobs without running any of them yet
        runtime.scheduler = scheduler
        synced = sync_jobs(
            scheduler,
            specs,
            now=datetime.now(UTC),
            misfire_grace_s=app.settings.schedule.misfire_grace_s,
        )
        scheduler.resume()
        logger.info(json.dumps({"event": "daemon_started", "jobs": synced, "at": _now_iso()}, sort_keys=True))
        stop.wait()
    finally:
        runtime.stopping.set()  # a running analysis finishes its batch and stops
        stopped = terminate_running_crawls()  # a crawl would otherwise hold shutdown up to crawl.timeout_s
        if stopped:
            logger.info(json.dumps({"event": "crawls_terminated", "count": stopped, "at": _now_iso()}))
        if scheduler.running:
            scheduler.shutdown(wait=True)
        lock.release()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _runtime = None
        logger.info(json.dumps({"event": "daemon_stopped", "at": _now_iso()}))
    return 1 if lock.lost else 0
