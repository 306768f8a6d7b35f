"""`vocwatch users add`, `vocwatch export` and `vocwatch serve` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import storage
from storage.cases import CaseAction
from tests.support.cli import vocwatch
from tests.support.web_seed import NOW, seed_queue


def _env(tmp_path: Path) -> dict[str, str]:
    return {"VOCWATCH_DATA_DIR": str(tmp_path / "data")}


def test_users_add_hashes_the_password_and_refuses_bad_input(tmp_path: Path) -> None:
    env = _env(tmp_path)
    added = subprocess.run(
        [sys.executable, "-m", "vocwatch", "users", "add", "ana", "--role", "admin", "--password-stdin"],
        cwd=tmp_path,
        env={**os.environ, **env},
        input="a long passphrase\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "added ana (admin)" in added.stdout
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'data' / 'vocwatch.db'}")
    with storage.make_session_factory(engine).begin() as session:
        user = storage.users.find_user(session, "ana")
        assert user is not None and user.role == storage.UserRole.ADMIN
        assert user.password_hash.startswith("$argon2id$") and "a long passphrase" not in user.password_hash
    engine.dispose()
    for name, password, message in (
        ("ana", "another long one", "exists already"),
        ("bo", "short", "shorter than"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "vocwatch", "users", "add", name, "--password-stdin"],
            cwd=tmp_path,
            env={**os.environ, **env},
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_export_writes_corrections_as_jsonl(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert vocwatch("init", cwd=tmp_path, env=env).returncode == 0
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'data' / 'vocwatch.db'}")
    sessions = storage.make_session_factory(engine)
    seeded = seed_queue(sessions)
    with sessions.begin() as session:
        storage.cases.apply_action(
            session,
            seeded.billing_case,
            CaseAction("correct", label=storage.SentimentLabel.NEUTRAL),
            user_id=seeded.agent_id,
            now=NOW,
        )
    engine.dispose()
    out = tmp_path / "exports" / "corrections.jsonl"
    result = vocwatch("export", "--out", str(out), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "wrote 1 correction(s)" in result.stderr
    [line] = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
    assert (line["text"], line["label"], line["case_id"]) == (
        "扣费两次，客服不回复。",
        "neutral",
        seeded.billing_case,
    )


def test_serve_answers_on_loopback_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "vocwatch", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, **_env(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "vocwatch serve did not answer"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert "default-src 'none'" in response.headers["content-security-policy"]
        assert (tmp_path / "data" / "web-secret").stat().st_mode & 0o077 == 0
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so that the exit status says why it stopped.
    assert process.returncode in (0, -15)
    assert "Traceback" not in stderr
