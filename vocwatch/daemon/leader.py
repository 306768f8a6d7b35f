"""One scheduler per database: a PostgreSQL advisory lock elects the `vocwatch run` that schedules jobs.

Every `vocwatch run` asks for the lock; the one that gets it runs the scheduler, the others stand by as
hot spares and retry every `poll_s`. The lock belongs to a database session, so it is released the
moment the leader's connection ends, whether it stopped cleanly, crashed or was SIGKILLed, and a spare
takes over within one poll. A leader that loses its connection (PostgreSQL restarted, network cut) may
no longer hold the lock, so it stops itself (`lost`) rather than risk two schedulers.

SQLite needs none of this (the embedded default is one daemon on one machine): the lock is then always
granted and the daemon behaves exactly as without it.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

__all__ = ["SCHEDULER_LOCK_KEY", "SchedulerLock"]

logger = logging.getLogger(__name__)

# pg_advisory_lock takes a bigint; any fixed value that no other application on the database uses.
SCHEDULER_LOCK_KEY = 0x766F63_7363686564  # "voc" "sched"


class SchedulerLock:
    """The cluster's scheduler lock on `engine`'s database (a no-op on SQLite)."""

    def __init__(self, engine: Engine, *, key: int = SCHEDULER_LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._connection: Connection | None = None
        self._watchdog: threading.Thread | None = None
        self._released = threading.Event()
        self.lost = False
        """True once a held lock's connection failed: the daemon stopped itself and should exit non-zero."""

    @property
    def distributed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def wait_until_leading(self, stop: threading.Event, *, poll_s: float) -> bool:
        """Block until this process holds the lock (True) or `stop` is set first (False).

        While leading, a watchdog pings the lock's connection every `poll_s`; if it fails, `lost` is set
        and so is `stop`, which ends the daemon.
        """
        if not self.distributed:
            return True
        standing_by = False
        while not stop.is_set():
            if self._try_acquire():
                _log("scheduler_leading", key=self._key)
                self._watchdog = threading.Thread(
                    target=self._watch, args=(stop, poll_s), name="scheduler-lock-watchdog", daemon=True
                )
                self._watchdog.start()
                return True
            if not standing_by:
                _log("scheduler_standby", key=self._key, poll_s=poll_s)
                standing_by = True
            stop.wait(poll_s)
        return False

    def release(self) -> None:
        """Give the lock back (closing its connection); safe to call when it was never held."""
        self._released.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if not self.lost:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except DBAPIError:
            pass  # the session is gone, and with it the lock
        finally:
            connection.close()

    def _try_acquire(self) -> bool:
        """One non-blocking attempt on a connection kept open for as long as the lock is held."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar_one()
        except DBAPIError as exc:
            logger.warning("scheduler lock: database unavailable (%s); retrying", type(exc).__name__)
            self._drop_connection()
            return False
        return bool(got)

    def _watch(self, stop: threading.Event, poll_s: float) -> None:
        connection = self._connection
        assert connection is not None
        while not self._released.wait(poll_s):
            try:
                connection.execute(text("SELECT 1"))
            except DBAPIError as exc:
                self.lost = True
                _log("scheduler_lock_lost", error=type(exc).__name__)
                stop.set()
                return

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()
            connection.close()


def _log(event: str, **fields: object) -> None:
    record = {"event": event, **fields, "at": datetime.now(UTC).isoformat(timespec="milliseconds")}
    logger.info(json.dumps(record, sort_keys=True))
