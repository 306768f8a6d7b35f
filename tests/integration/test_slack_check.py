"""The operator's Slack check: `vocwatch check` (token, scopes granted vs needed, channels) and the
daemon's start check that stops dispatch when the reconciliation scopes are missing, against the fake
Slack over HTTP."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import storage
from storage.enums import AlertKind, AlertStatus
from storage.models import Alert
from tests.support.waiting import wait_until
from vocwatch import stages
from vocwatch.cli import app
from vocwatch.daemon.scheduler import run_daemon
from vocwatch.settings import load_settings
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.wiring import build_app


def write_config(
    tmp_path: Path, fake_slack: FakeSlackServer, *, token: str = "xoxb-test", extra: str = ""
) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(
        f"""
data_dir = "{tmp_path}"

[slack]
token = "{token}"
base_url = "{fake_slack.base_url}"
default_channel = "#cx-alerts"
{extra}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def check(config: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["--config", str(config), "check"], catch_exceptions=False)
    return result.exit_code, result.output.splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("problem: ")]


def test_check_passes_with_every_scope_granted(tmp_path: Path, fake_slack: FakeSlackServer) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")

    code, lines = check(write_config(tmp_path, fake_slack))

    assert code == 0, lines
    assert lines[0] == "Slack workspace vocwatch fake workspace (T0FAKE0001), bot user vocwatch (U0FAKE0001)"
    scopes = [line.split()[1] for line in lines if line.startswith("  ✓ ") and ":" in line.split()[1]]
    assert scopes == [
        "chat:write",
        "files:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
    ]
    assert f"  ✓ #cx-alerts → {channel_id}" in lines
    assert problems(lines) == [] and lines[-1] == "Slack setup OK"
    assert len(fake_slack.calls("auth.test")) == 1


def test_check_fails_naming_the_missing_scopes_and_the_fix(
    tmp_path: Path, fake_slack: FakeSlackServer
) -> None:
    fake_slack.add_channel("cx-alerts")
    fake_slack.scopes = {"chat:write", "files:write"}  # what the example config used to ask for

    code, lines = check(write_config(tmp_path, fake_slack))

    assert code == 1
    [problem] = problems(lines)
    what, fix = problem.removeprefix("problem: ").split(" — fix: ")
    assert (
        what == "the Slack token lacks scope(s) channels:history, groups:history, channels:read, groups:read"
    )
    assert "Bot Token Scopes" in fix and "slack.reconcile = false" in fix
    assert "  ✗ channels:history" in "\n".join(lines)
    assert "note: channels not checked: listing them needs channels:read" in lines


def test_check_with_reconcile_off_needs_only_the_posting_scopes(
    tmp_path: Path, fake_slack: FakeSlackServer
) -> None:
    fake_slack.scopes = {"chat:write", "files:write"}

    code, lines = check(write_config(tmp_path, fake_slack, extra="reconcile = false"))

    assert code == 0, lines
    assert [line.split()[1] for line in lines if line.startswith("  ✓ ")] == ["chat:write", "files:write"]


def test_check_names_a_refused_token_and_a_missing_channel(
    tmp_path: Path, fake_slack: FakeSlackServer
) -> None:
    code, lines = check(write_config(tmp_path, fake_slack, token="not-a-token"))
    assert code == 1
    assert problems(lines) == [
        "problem: Slack refused the token (invalid_auth) — fix: set slack.token (or VOCWATCH_SLACK__TOKEN) "
        "to the app's Bot User OAuth Token (xoxb-...)"
    ]

    fake_slack.remove_channel("general")
    code, lines = check(write_config(tmp_path, fake_slack))  # #cx-alerts does not exist
    assert code == 1
    [problem] = problems(lines)
    assert problem.startswith("problem: channel #cx-alerts not found in the workspace — fix: create it")


def test_daemon_start_without_the_history_scopes_stops_dispatch_with_one_line(
    migrated_sqlite_url: str,
    tmp_path: Path,
    fake_slack: FakeSlackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.scopes = {"chat:write", "files:write"}
    settings = load_settings(
        None,
        data_dir=tmp_path,
        database_url=migrated_sqlite_url,
        slack={"token": "xoxb-test", "base_url": fake_slack.base_url, "default_channel": "#cx-alerts"},
        worker={"external_analyzers": True},  # no model in this test
        digest={"enabled": False},
        spikes={"enabled": False},
        schedule={"dispatch_every_s": 1, "incidents_every_s": 1},
    )
    built = build_app(settings)
    stages.sync_catalog(built.sessions, settings)
    with built.sessions.begin() as session:
        storage.alerts.enqueue_alert(
            session,
            kind=AlertKind.SPIKE,
            dedup_key="spike:1",
            channel="#cx-alerts",
            text="negative mentions of delivery are spiking",
            blocks=[],
            now=datetime.now(UTC),
        )
    caplog.set_level(logging.INFO, logger="vocwatch.daemon.scheduler")

    def events() -> list[dict[str, Any]]:
        return [
            json.loads(r.getMessage())
            for r in caplog.records
            if r.name == "vocwatch.daemon.scheduler" and r.getMessage().startswith("{")
        ]

    stop = threading.Event()
    daemon = threading.Thread(
        target=run_daemon, args=(built,), kwargs={"install_signal_handlers": False, "stop": stop}
    )
    daemon.start()
    try:
        # The incidents job runs every second like dispatch would: two runs mean dispatch had its chance.
        wait_until(
            lambda: sum(e.get("job") == "incidents" for e in events()) >= 2, timeout_s=30, what="two job runs"
        )
    finally:
        stop.set()
        daemon.join(timeout=30)
    built.engine.dispose()

    [stopped] = [e for e in events() if e["event"] == "dispatch_stopped"]
    assert "channels:history, groups:history, channels:read, groups:read" in stopped["error"]
    assert "slack.reconcile = false" in stopped["fix"]
    assert [e for e in events() if e.get("job") == "dispatch"] == []
    started = next(e for e in events() if e["event"] == "daemon_started")
    assert started["jobs"]["added"] == 2  # incidents and health; no dispatch job
    assert fake_slack.calls("chat.postMessage") == []
    engine = storage.make_engine(migrated_sqlite_url)
    with storage.make_session_factory(engine)() as session:
        assert [a.status for a in session.scalars(select(Alert))] == [AlertStatus.PENDING]
    engine.dispose()
