"""Scale-out workers: `vocwatch worker analyze` and `vocwatch worker dispatch` (issue 9).

Each is a loop over one pipeline stage that any number of processes, on any number of machines, may run
against the same PostgreSQL database:

- analysis workers claim batches of `new` mentions with FOR UPDATE SKIP LOCKED and a lease
  (`stages.analyze_leased`): N workers never analyze a mention twice, and the batch of a killed worker is
  claimed again once its lease has run out;
- dispatchers claim due alerts with FOR UPDATE SKIP LOCKED and commit them as `sending` before Slack is
  called (`notifier.dispatcher`), so two dispatchers never post the same alert.

A worker stops after SIGTERM/SIGINT once its current batch is stored, or when `stop` is set.

A worker outlives a database that goes away for a while (PostgreSQL restarted, a SQLite write lock held
past the busy timeout): the failed batch is logged as one line and retried with backoff (`batch_retrying`),
and an analysis worker gives the claims of a batch whose results could not be stored back at once, so that
they wait for no lease. Any other error stops the worker as before.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

import storage
from vocwatch import stages
from vocwatch.wiring import App

__all__ = [
    "WorkerTotals",
    "batch_retrying",
    "make_worker_id",
    "run_analysis_worker",
    "run_dispatch_worker",
    "stop_on_signals",
]

logger = logging.getLogger(__name__)

# Backoff between attempts while the database is unavailable: first wait, doubled per failure up to max.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


def batch_retrying(stop: threading.Event) -> Retrying:
    """The policy for a worker's batch while the database is unavailable.

    It retries only what `storage.engine.is_transient_error` calls transient (PostgreSQL restarted, a SQLite
    write lock held past the busy timeout), for as long as that lasts: a worker exists to outlive an outage,
    and each batch is one transaction, so trying it again is safe. The first wait is RETRY_FIRST_S and each
    next one twice as long, at most RETRY_MAX_S; each is logged as one line, and `stop` cuts it short (the
    caller then tries no more). Any other error is raised as itself.
    """

    def sleep(seconds: float) -> None:
        stop.wait(seconds)  # wakes at once when `stop` is set

    return Retrying(
        retry=retry_if_exception(storage.engine.is_transient_error),
        wait=wait_exponential(multiplier=RETRY_FIRST_S, max=RETRY_MAX_S),
        sleep=sleep,
        before_sleep=_log_unavailable,
        reraise=True,
    )


@dataclass(frozen=True)
class WorkerTotals:
    """What a worker did before it stopped: batches run and items done (analyzed / sent)."""

    batches: int = 0
    done: int = 0


def make_worker_id() -> str:
    """`host:pid:random`: unique per process, readable in `mentions.claimed_by` when debugging a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGTERM/SIGINT into `stop` for the duration (a batch in progress is finished, not cut)."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("worker stopping on %s", signal.Signals(signum).name)
        stop.set()

    previous: dict[signal.Signals, Any] = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_analysis_worker(
    app: App, *, stop: threading.Event, worker_id: str | None = None, exit_when_idle: bool = False
) -> WorkerTotals:
    """Analyze leased batches until `stop` is set (or, with `exit_when_idle`, until no mention is `new`:
    mentions another worker holds keep this one waiting, in case their lease runs out)."""
    settings = app.settings
    rules = stages.AlertRules.from_settings(settings)
    analyzer = app.analyzer
    worker = worker_id or make_worker_id()
    lease = timedelta(seconds=settings.worker.lease_s)
    give_back = False  # a batch failed on the database: its claims go back before the next claim

    def one_batch() -> int:
        nonlocal give_back
        if give_back:
            with app.sessions.begin() as session:
                released = storage.mentions.release_claims(session, worker=worker)
            give_back = False
            if released:
                logger.warning("gave back %d mention(s) of the batch that could not be stored", released)
        try:
            batch = stages.analyze_leased(
                app.sessions,
                analyzer,
                rules,
                worker=worker,
                lease=lease,
                batch_size=settings.model.batch_size,
            )
        except DBAPIError:
            give_back = True  # nothing of the batch was stored (one transaction), whatever the error
            raise
        if batch.claimed != batch.stored:
            logger.warning(
                "%d mention(s) of this batch were taken over by another worker", batch.claimed - batch.stored
            )
        if batch.claimed:
            return batch.stored
        with app.sessions() as session:
            return -1 if storage.mentions.count_new(session) == 0 else 0

    return _loop(
        one_batch, stop=stop, idle_sleep_s=settings.worker.idle_sleep_s, exit_when_idle=exit_when_idle
    )


def run_dispatch_worker(app: App, *, stop: threading.Event, exit_when_idle: bool = False) -> WorkerTotals:
    """Deliver due alerts until `stop` is set (or, with `exit_when_idle`, until none is due)."""

    def one_batch() -> int:
        totals = stages.dispatch_alerts(app.dispatcher)
        return totals.sent if totals.sent or totals.retrying or totals.failed else -1

    return _loop(
        one_batch, stop=stop, idle_sleep_s=app.settings.worker.idle_sleep_s, exit_when_idle=exit_when_idle
    )


def _loop(
    one_batch: Callable[[], int], *, stop: threading.Event, idle_sleep_s: float, exit_when_idle: bool
) -> WorkerTotals:
    """Run `one_batch` until stopped; it returns items done, 0 when it must wait for work that others hold,
    or -1 when there is no work at all. Sleeps `idle_sleep_s` whenever it did nothing, and waits out an
    unavailable database (`batch_retrying`); other errors propagate."""
    retrying = batch_retrying(stop)
    batches = done = 0
    while not stop.is_set():
        count = _run_batch(one_batch, retrying, stop)
        if count is None:
            break
        if count > 0:
            batches, done = batches + 1, done + count
            continue
        if count < 0 and exit_when_idle:
            break
        stop.wait(idle_sleep_s)
    return WorkerTotals(batches=batches, done=done)


def _run_batch(one_batch: Callable[[], int], retrying: Retrying, stop: threading.Event) -> int | None:
    """`one_batch()` under `retrying`; None when `stop` was set while it waited for the database."""
    count: int | None = None
    for attempt in retrying:  # ends after the first attempt that did not fail transiently
        if stop.is_set():  # set meanwhile, as a rule during a wait: no further try
            return None
        with attempt:
            count = one_batch()
    if failures := attempt.retry_state.attempt_number - 1:
        logger.warning("database available again after %d failed attempt(s)", failures)
    return count


def _log_unavailable(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    logger.warning(
        "database unavailable (attempt %d), retrying in %.1f s: %s",
        state.attempt_number,
        state.upcoming_sleep,
        storage.engine.describe_error(error) if error is not None else "?",
    )
