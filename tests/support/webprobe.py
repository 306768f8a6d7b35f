"""Helpers for the review UI's security tests: the app's routes as data, DB snapshots, a test harness.

`endpoints(app)` lists every (method, path) the app answers, read from `app.routes`, so a route added
later is in every check without anyone remembering to add it. `fill(path, values)` puts seeded ids into a
path template. `snapshot(sessions)` reads every table, to show that a refused request changed nothing.
`seed_template` seeds a database once (with a real login per role), `UI` is the app over a copy of it
with the clients the tests drive it with.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.convertors import IntegerConvertor
from starlette.routing import BaseRoute, Mount, Route

import storage
from storage import users
from storage.base import Base
from storage.enums import UserRole
from tests.support.web_client import Clock, log_in
from tests.support.web_seed import NOW, PASSWORD, Seeded, seed_queue
from vocwatch.web import LockoutPolicy, WebConfig, create_app
from vocwatch.web.app import SESSION_COOKIE

__all__ = [
    "SECRET_KEY",
    "UI",
    "Endpoint",
    "SeededTemplate",
    "build_ui",
    "clone_sqlite",
    "endpoints",
    "fill",
    "postgres_clone",
    "postgres_drop",
    "seed_template",
    "session_cookie",
    "snapshot",
]

SECRET_KEY = "SECRET-web-key-" + "k7Qx" * 8
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True)
class Endpoint:
    """One method of one route; `mount` for a mounted sub-app (static files), whose method is `*`."""

    method: str
    path: str
    route: BaseRoute

    @property
    def mount(self) -> bool:
        return isinstance(self.route, Mount)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every method of every route, in declaration order; an unknown kind of route fails loudly.

    `app.routes` holds one lazy wrapper per included router (FastAPI ≥ 0.137), so it is walked with
    `fastapi.routing.iter_route_contexts`, which yields one context per endpoint with its full path.
    """
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        assert path is not None, f"a route without a path: {route!r}"
        if isinstance(route, Mount):
            found.append(Endpoint("*", path, route))
        elif isinstance(route, Route):
            found.extend(Endpoint(method, path, route) for method in sorted(context.methods or ()))
        else:
            raise AssertionError(f"route of an unknown kind, teach the security tests about it: {route!r}")
    assert found, "no routes found: the enumeration is broken, and every check built on it would be empty"
    return found


def fill(endpoint: Endpoint, values: dict[str, object]) -> str:
    """The path with its parameters from `values` (seeded rows); others get a plausible value by type."""
    convertors = getattr(endpoint.route, "param_convertors", {})

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        return "1" if isinstance(convertors.get(name), IntegerConvertor) else "x"

    return _PARAM.sub(value, endpoint.path)


def snapshot(sessions: sessionmaker[Session]) -> dict[str, list[str]]:
    """Every row of every table, as sorted reprs: equal snapshots mean nothing was written."""
    with sessions() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def session_cookie(client: TestClient) -> str:
    """The session cookie the client's jar holds now."""
    values = [cookie.value for cookie in client.cookies.jar if cookie.name == SESSION_COOKIE]
    assert len(values) == 1, f"expected one session cookie, got {values}"
    assert values[0] is not None
    return values[0]


@dataclass(frozen=True)
class SeededTemplate:
    """A database seeded once per module (argon2 makes seeding and logging in the slow part), which
    each test gets a copy of, with one real login per role whose cookie is valid on every copy (same
    key, same ids, epoch 0, login time NOW on the test clock)."""

    url: str
    seeded: Seeded
    target_id: int
    """A fourth account (viewer, cannot log in) that role changes are tried on."""
    cookies: dict[UserRole, str]


def _config(clock: Clock) -> WebConfig:
    return WebConfig(
        secret_key=SECRET_KEY,
        lockout=LockoutPolicy(
            free_attempts=1, base_lock=timedelta(seconds=30), max_lock=timedelta(minutes=10)
        ),
        page_size=50,  # every seeded case on one page
        review_base_url="https://review.example.com",
        clock=clock,
    )


def seed_template(url: str) -> SeededTemplate:
    """Seed `url` (migrated, empty) through tests.integration.web.seed and log each role in once."""
    engine = storage.make_engine(url)
    try:
        sessions = storage.make_session_factory(engine)
        seeded = seed_queue(sessions)
        with sessions.begin() as session:
            target_id = users.create_user(
                session, username="target", password_hash="not-a-hash", role=UserRole.VIEWER, now=NOW
            ).id
        app = create_app(_config(Clock(NOW)), sessions)
        cookies = {}
        for role in UserRole:
            with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
                cookies[role] = session_cookie(log_in(client, role.value))
        return SeededTemplate(url, seeded, target_id, cookies)
    finally:
        engine.dispose()  # SQLite: checkpoints the WAL, so a file copy is whole; PostgreSQL: frees it


def clone_sqlite(template: SeededTemplate, directory: Path) -> str:
    source = make_url(template.url).database
    assert source is not None
    target = directory / "security.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def postgres_execute(admin_url: str, statement: sql.Composed) -> None:
    """CREATE/DROP DATABASE (outside a transaction) on the maintenance database."""
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)


def postgres_clone(admin_url: str, template: str, name: str) -> str:
    """A new database `name` copied from the database `template`; returns its SQLAlchemy URL."""
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
    postgres_execute(admin_url, create.format(sql.Identifier(name), sql.Identifier(template)))
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def postgres_drop(admin_url: str, name: str) -> None:
    postgres_execute(
        admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )


@dataclass
class UI:
    """The review UI over a copy of the seeded database, a clock the test moves, browsers on demand."""

    url: str
    app: FastAPI
    config: WebConfig
    sessions: sessionmaker[Session]
    template: SeededTemplate
    clock: Clock
    _clients: list[TestClient] = field(default_factory=list)

    @property
    def seeded(self) -> Seeded:
        return self.template.seeded

    @property
    def target_id(self) -> int:
        return self.template.target_id

    def client(
        self, *, cookie: str | None = None, raise_errors: bool = True, app: FastAPI | None = None
    ) -> TestClient:
        """A new browser (own cookie jar) on this app (or `app`). `cookie`: a copied session cookie it
        sends on every request, whatever the server sets (an attacker replaying a stolen or planted one)."""
        client = TestClient(
            app or self.app,
            base_url="https://testserver",  # the cookie is Secure
            follow_redirects=False,
            raise_server_exceptions=raise_errors,
            headers={"cookie": f"{SESSION_COOKIE}={cookie}"} if cookie is not None else None,
        )
        self._clients.append(client)
        return client

    def as_role(self, role: UserRole, *, app: FastAPI | None = None) -> TestClient:
        """A browser holding the session of the template's login as `role` (no argon2 per test)."""
        return self.client(cookie=self.template.cookies[role], app=app)

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        """A real login (one argon2 verification) in a new browser."""
        return log_in(self.client(), username, password)

    def path_values(self) -> dict[str, object]:
        """Seeded rows for path parameters: an existing case, an existing account."""
        return {"case_id": self.seeded.delivery_case, "user_id": self.target_id}

    def close(self) -> None:
        for client in self._clients:
            client.close()


def build_ui(url: str, template: SeededTemplate) -> Iterator[UI]:
    """The app over `url` (a copy of `template`); yields once, then closes everything."""
    engine = storage.make_engine(url)
    sessions = storage.make_session_factory(engine)
    clock = Clock(NOW)
    ui = UI(url, create_app(_config(clock), sessions), _config(clock), sessions, template, clock)
    try:
        yield ui
    finally:
        ui.close()
        engine.dispose()
