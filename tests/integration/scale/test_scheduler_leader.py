"""One scheduler per PostgreSQL database: a second `vocwatch run` stands by and takes over when the first
dies; the job store lives in PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

import storage
from tests.support.processes import Process
from tests.support.scaleout import WATCHES_ONLY_DAEMON, write_config
from tests.support.waiting import wait_until
from vocwatch.daemon.scheduler import JOBSTORE_TABLE


def _events(process: Process) -> list[dict[str, Any]]:
    found = []
    for line in process.text().splitlines():
        for prefix in ("vocwatch.daemon.scheduler: ", "vocwatch.daemon.leader: "):
            _, sep, payload = line.partition(prefix)
            if sep and payload.startswith("{"):
                found.append(json.loads(payload))
    return found


def _saw(process: Process, event: str) -> bool:
    return any(e["event"] == event for e in _events(process))


def _job_ids(database_url: str) -> set[str]:
    engine = storage.make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text(f"SELECT id FROM {JOBSTORE_TABLE}"))}
    finally:
        engine.dispose()


def test_second_daemon_stands_by_and_takes_over_when_the_leader_is_killed(
    tmp_path: Path, migrated_postgres_url: str, processes: list[Process]
) -> None:
    config = write_config(
        tmp_path / "vocwatch.toml", database_url=migrated_postgres_url, body=WATCHES_ONLY_DAEMON
    )
    leader = Process(config, "run", log=tmp_path / "leader.log")
    processes.append(leader)
    wait_until(lambda: _saw(leader, "daemon_started"), timeout_s=60, what="the first daemon to lead")
    jobs = _job_ids(migrated_postgres_url)  # the job store is in PostgreSQL
    assert {"health", "incidents", "spikes"} <= jobs and not {"analyze", "dispatch"} & jobs

    spare = Process(config, "run", log=tmp_path / "spare.log")
    processes.append(spare)
    wait_until(lambda: _saw(spare, "scheduler_standby"), timeout_s=60, what="the second daemon to stand by")
    wait_until(
        lambda: sum(e.get("job") == "health" for e in _events(leader)) >= 2,
        timeout_s=30,
        what="the leader to run its jobs",
    )
    assert not _saw(spare, "daemon_started") and not _saw(spare, "job_run")

    leader.kill()  # SIGKILL: no clean release; PostgreSQL frees the lock with the dead session
    wait_until(lambda: _saw(spare, "daemon_started"), timeout_s=60, what="the spare to take over")
    wait_until(lambda: _saw(spare, "job_run"), timeout_s=30, what="the spare to run jobs")
    started = next(e for e in _events(spare) if e["event"] == "daemon_started")
    assert started["jobs"]["kept"] == len(jobs)  # the stored schedule was taken over, not re-created
