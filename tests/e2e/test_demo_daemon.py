"""`vocwatch demo --daemon`: the real scheduler on the demo data delivers an incident, ONE spike alert for
the live burst and a source-health alert for the blocked source, then stops cleanly (issue 6, "done when")."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.support.cli import vocwatch


def test_demo_daemon_alerts_an_incident_one_spike_and_a_dark_source(
    tmp_path: Path, default_model_dir: Path
) -> None:
    env = {
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_MODEL__DIR": str(default_model_dir),
        "COLUMNS": "200",
    }

    result = vocwatch("demo", "--daemon", "--seconds", "75", cwd=tmp_path, env=env, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    database = tmp_path / "data" / "demo" / "vocwatch-demo.db"
    assert f"database: {database}" in result.stdout
    with sqlite3.connect(database) as db:

        def sent(where: str) -> list[tuple[str, str]]:
            rows = db.execute(
                "SELECT dedup_key, text FROM alerts WHERE status = 'sent' AND slack_ts IS NOT NULL AND "
                + where
            ).fetchall()
            return [(str(key), str(text)) for key, text in rows]

        incidents = sent("kind = 'mention' AND action = 'post' AND incident_id IS NOT NULL")
        spikes = sent("kind = 'spike'")
        health = sent("kind = 'source_health'")
        burst = db.execute(
            "SELECT count(*) FROM mentions m JOIN analyses a ON a.mention_id = m.id "
            "JOIN sources s ON s.id = m.source_id WHERE s.name = 'delivery_live' AND a.label = 'negative'"
        ).fetchone()[0]

    assert incidents, "no incident parent message was sent"
    assert any("delivery" in text for _, text in incidents)
    # The burst spikes the delivery topic and, where the topic rules put its mentions, the delivery
    # touchpoint: ONE alert naming every spiking scope, and no other scope.
    assert len(spikes) == 1, spikes
    scopes = re.findall(r"Spike of negative mentions · (\w+) (\w+)", spikes[0][1])
    assert scopes and set(scopes) <= {("touchpoint", "delivery"), ("topic", "delivery")}, spikes
    assert burst >= 5
    assert health and all("partner_forum" in text for _, text in health)
    assert any("degraded" in text or "dark" in text for _, text in health)

    summary = re.search(
        r"summary: (\d+) incident\(s\), (\d+) spike alert\(s\), (\d+) health alert\(s\), (\d+) mention alert",
        result.stdout,
    )
    assert summary is not None, result.stdout
    assert int(summary[1]) == len(incidents)
    assert (int(summary[2]), int(summary[3])) == (len(spikes), len(health))
    assert re.search(r"latency mention stored → Slack post: median [\d.]+ s, max [\d.]+ s", result.stdout)
    assert '"event": "job_run"' in result.stderr  # the real scheduler ran the jobs
