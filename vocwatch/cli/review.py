"""Composition for the review UI's commands: `serve`, `users add`, `export`.

Turns Settings into the web package's plain `WebConfig`, keeps the cookie-signing key, and holds the
logic the CLI commands stay thin around.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from sentiment.corpora import Example
from sentiment.types import SentimentLabel
from storage import corrections, users
from storage.enums import UserRole
from storage.users import UserRow
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings
from vocwatch.web import LockoutPolicy, WebConfig
from vocwatch.web.admin import MIN_PASSWORD_LENGTH
from vocwatch.web.export import correction_lines
from vocwatch.web.passwords import hash_password
from vocwatch.wiring import App

__all__ = ["add_user", "export_corrections", "review_settings", "secret_key", "serve", "web_config"]


def secret_key(settings: Settings) -> str:
    """`web.secret_key`, or a random key generated once into `<data_dir>/web-secret` (mode 600).

    A stable key keeps people logged in across restarts; a key per install means no shared default
    anybody could sign cookies with.
    """
    if settings.web.secret_key is not None and settings.web.secret_key.get_secret_value():
        return settings.web.secret_key.get_secret_value()
    path = settings.data_dir / "web-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def web_config(settings: Settings) -> WebConfig:
    web = settings.web
    return WebConfig(
        secret_key=secret_key(settings),
        secure_cookies=web.secure_cookies,
        session_max_age_s=int(web.session_hours * 3600),
        lockout=LockoutPolicy(
            free_attempts=web.login_free_attempts,
            base_lock=timedelta(seconds=web.lockout_base_s),
            max_lock=timedelta(seconds=web.lockout_max_s),
        ),
        page_size=web.page_size,
        review_base_url=settings.alerts.review_base_url,
    )


def serve(
    built: App, *, host: str | None = None, port: int | None = None, on_ready: Callable[[str], None]
) -> None:
    """Run the review UI with uvicorn until Ctrl-C; `on_ready` gets the URL to open."""
    import uvicorn

    from vocwatch.web import create_app

    host = host or built.settings.web.host
    port = port or built.settings.web.port
    app = create_app(web_config(built.settings), built.sessions)
    on_ready(f"http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)


def add_user(built: App, username: str, password: str, role: UserRole) -> UserRow:
    """Create an account; the password is hashed with argon2id here and never stored or logged.

    A taken name raises `storage.errors.UserExistsError`, which `vocwatch.cli.errors` reports with its fix.
    """
    username = username.strip()
    if not username:
        raise VocwatchError("the username is empty", fix="pass a name: vocwatch users add NAME --role agent")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise VocwatchError(
            f"the password is shorter than {MIN_PASSWORD_LENGTH} characters", fix="choose a longer password"
        )
    with built.sessions.begin() as session:
        return users.create_user(
            session,
            username=username,
            password_hash=hash_password(password),
            role=role,
            now=datetime.now(UTC),
        )


def export_corrections(built: App, out: TextIO) -> int:
    """Write corrected cases as JSONL to `out`; returns the number of lines."""
    with built.sessions.begin() as session:
        rows = corrections.list_corrections(session)
    out.writelines(correction_lines(rows))
    return len(rows)


def review_settings(settings: Settings, *, demo: bool) -> Settings:
    """The operator's settings, or with `demo` the ones pointing at the database `vocwatch demo` wrote."""
    if not demo:
        return settings
    from vocwatch.demo.pipeline import demo_database

    database = demo_database(settings)
    if not database.exists():
        raise VocwatchError(f"no demo database at {database}", fix="run `vocwatch demo` first")
    return settings.model_copy(update={"database_url": f"sqlite:///{database}"})


def corrections_for_training(sessions: sessionmaker[Session]) -> list[Example]:
    """CX staff's sentiment corrections as training rows (`vocwatch train --with-corrections`).

    The text is what the model read (`storage.mentions.analysis_text`); topic-only corrections carry no
    sentiment label and are left out.
    """
    with sessions() as session:
        rows = corrections.list_corrections(session)
    return [
        Example(id=f"case-{row.case_id}", text=row.text, label=SentimentLabel(row.label))
        for row in rows
        if row.label is not None
    ]
