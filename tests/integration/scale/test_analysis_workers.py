"""`vocwatch worker analyze` processes on one PostgreSQL database: every mention analyzed exactly once,
with two workers sharing the queue and when one of them is SIGKILLed in the middle of a batch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

import storage
from storage import models
from tests.support.processes import Process
from tests.support.scaleout import model_toml, seed_mentions, write_config
from tests.support.waiting import wait_until

MENTIONS = 2000
KILL_TEST_MENTIONS = 600  # three batches of 200: one dies with its worker, the survivors share the rest


def _analysis_counts(database_url: str) -> tuple[int, int, int, set[str]]:
    """(mentions analyzed, analyses, mentions with more than one analysis, workers that analyzed)."""
    engine = storage.make_engine(database_url)
    try:
        with storage.make_session_factory(engine)() as session:
            analyzed = session.scalar(
                select(func.count()).where(models.Mention.status == storage.MentionStatus.ANALYZED)
            )
            analyses = session.scalar(select(func.count()).select_from(models.Analysis))
            repeated = session.scalar(
                select(func.count()).select_from(
                    select(models.Analysis.mention_id)
                    .group_by(models.Analysis.mention_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            workers = set(
                session.scalars(
                    select(models.Mention.claimed_by).where(models.Mention.claimed_by.is_not(None)).distinct()
                )
            )
            return analyzed or 0, analyses or 0, repeated or 0, workers
    finally:
        engine.dispose()


def _claimed_now(database_url: str) -> dict[str, set[int]]:
    """worker -> mentions it holds right now (claimed, not yet stored)."""
    engine = storage.make_engine(database_url)
    try:
        with storage.make_session_factory(engine)() as session:
            rows = session.execute(
                select(models.Mention.claimed_by, models.Mention.id).where(
                    models.Mention.status == storage.MentionStatus.NEW, models.Mention.claimed_by.is_not(None)
                )
            )
            held: dict[str, set[int]] = {}
            for worker, mention_id in rows:
                held.setdefault(worker, set()).add(mention_id)
            return held
    finally:
        engine.dispose()


def test_two_workers_analyze_each_of_2000_mentions_exactly_once(
    tmp_path: Path,
    migrated_postgres_url: str,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    processes: list[Process],
) -> None:
    seed_mentions(migrated_postgres_url, MENTIONS)
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=migrated_postgres_url,
        body=model_toml(minilm_model_dir, minilm_heads_dir, batch_size=32)
        + "\n[worker]\nidle_sleep_s = 0.2\n",
    )
    workers = [
        Process(config, "worker", "analyze", "--exit-when-idle", log=tmp_path / f"worker-{i}.log")
        for i in (1, 2)
    ]
    processes.extend(workers)

    for worker in workers:
        assert worker.wait(timeout_s=1500) == 0, worker.text()

    analyzed, analyses, repeated, claimed_by = _analysis_counts(migrated_postgres_url)
    assert (analyzed, analyses, repeated) == (MENTIONS, MENTIONS, 0)
    assert len(claimed_by) == 2, "both workers should have analyzed batches"
    done = [int(w.text().rsplit("analyzed ", 1)[1].split()[0]) for w in workers]
    assert sum(done) == MENTIONS and min(done) > 0, done


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
    migrated_postgres_url: str,
    minilm_model_dir: Path,
    minilm_heads_dir: Path,
    processes: list[Process],
) -> None:
    seed_mentions(migrated_postgres_url, KILL_TEST_MENTIONS)
    body = model_toml(minilm_model_dir, minilm_heads_dir, batch_size=200)
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=migrated_postgres_url,
        body=body + "\n[worker]\nlease_s = 5\nidle_sleep_s = 0.2\n",
    )
    doomed = Process(config, "worker", "analyze", log=tmp_path / "doomed.log")
    processes.append(doomed)
    held: dict[str, set[int]] = {}

    def holds_a_batch() -> bool:
        nonlocal held
        assert doomed.process.poll() is None, doomed.text()
        held = _claimed_now(migrated_postgres_url)
        return bool(held)

    wait_until(holds_a_batch, timeout_s=120, what="the first worker to claim a batch")
    doomed.kill()
    (doomed_id, orphaned), *_ = held.items()
    assert _claimed_now(migrated_postgres_url).get(doomed_id) == orphaned  # killed before storing them

    survivors = [
        Process(config, "worker", "analyze", "--exit-when-idle", log=tmp_path / f"survivor-{i}.log")
        for i in (1, 2)
    ]
    processes.extend(survivors)
    for survivor in survivors:
        assert survivor.wait(timeout_s=1500) == 0, survivor.text()

    analyzed, analyses, repeated, _ = _analysis_counts(migrated_postgres_url)
    assert (analyzed, analyses, repeated) == (KILL_TEST_MENTIONS, KILL_TEST_MENTIONS, 0)
    engine = storage.make_engine(migrated_postgres_url)
    try:
        with storage.make_session_factory(engine)() as session:
            takers = set(
                session.scalars(select(models.Mention.claimed_by).where(models.Mention.id.in_(orphaned)))
            )
    finally:
        engine.dispose()
    assert doomed_id not in takers  # the orphaned batch was analyzed by a survivor after the lease ran out
