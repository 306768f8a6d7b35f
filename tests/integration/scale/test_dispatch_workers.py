"""Two `vocwatch worker dispatch` processes on one PostgreSQL outbox: each alert reaches Slack once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

import storage
from storage import models
from tests.support.processes import Process
from tests.support.scaleout import write_config
from vocwatch.testing.fakeslack import FakeSlackServer

ALERTS = 300


def _queue_alerts(database_url: str, count: int) -> None:
    engine = storage.make_engine(database_url)
    now = datetime.now(UTC)
    try:
        with storage.make_session_factory(engine).begin() as session:
            for i in range(count):
                storage.alerts.enqueue_alert(
                    session,
                    kind=storage.AlertKind.MENTION,
                    dedup_key=f"test:{i}",
                    channel=("#cx", "#ops", "#pr")[i % 3],
                    text=f"alert {i}",
                    blocks=[],
                    now=now,
                )
    finally:
        engine.dispose()


def test_two_dispatchers_post_each_of_300_alerts_exactly_once(
    tmp_path: Path, migrated_postgres_url: str, fake_slack: FakeSlackServer, processes: list[Process]
) -> None:
    _queue_alerts(migrated_postgres_url, ALERTS)
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=migrated_postgres_url,
        body=f'\n[slack]\ntoken = "xoxb-test"\nbase_url = "{fake_slack.base_url}"\n',
    )
    dispatchers = [
        Process(config, "worker", "dispatch", "--exit-when-idle", log=tmp_path / f"dispatch-{i}.log")
        for i in (1, 2)
    ]
    processes.extend(dispatchers)
    for dispatcher in dispatchers:
        assert dispatcher.wait(timeout_s=120) == 0, dispatcher.text()

    posted = Counter(
        call.args["metadata"]["event_payload"]["dedup_key"] for call in fake_slack.calls("chat.postMessage")
    )
    assert len(posted) == ALERTS
    assert max(posted.values()) == 1, [key for key, n in posted.items() if n > 1]
    sent = [int(d.text().rsplit("sent ", 1)[1].split()[0]) for d in dispatchers]
    assert sum(sent) == ALERTS
    engine = storage.make_engine(migrated_postgres_url)
    try:
        with storage.make_session_factory(engine)() as session:
            statuses = set(session.scalars(select(models.Alert.status)))
    finally:
        engine.dispose()
    assert statuses == {storage.AlertStatus.SENT}
