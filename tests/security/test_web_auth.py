"""Security of the review UI (issue 10, point 4), through the real app: ASGI test client, real databases.

tests/integration/web/test_web_app.py shows the features work for the people meant to use them; this
module attacks them. The route checks read `app.routes`, so a route added later is attacked too without
anyone listing it here:

1. no page or action without a login (only /login, /healthz and /static are public);
2. every state-changing route × every role: a forbidden one answers 403 and writes nothing;
3. session fixation and revocation: login issues a new cookie, a copied cookie dies with logout, a new
   password, a new role, and the session's age;
4. CSRF: a missing, wrong or another session's token is refused on every state-changing route;
5. brute force: lockout with growing waits, and a locked account answers exactly like an unknown name;
6. hostile strings in every query parameter of the GET pages (and in the forms): never a 500, the
   queue never shows a case the filters exclude (SQLite and PostgreSQL), no page repeats a link's text;
7. a 500 (dropped table, unreachable database, a refused INSERT) shows no traceback, key, URL, password
   or token, and the log line, which the operator finds by the page's error id, holds none either.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
from base64 import b64encode
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage import users
from storage.cases import CASE_ACTIONS, DISMISS_REASONS, RESOLVE_REASONS
from storage.enums import CaseStatus, UserRole
from storage.models import Case, CaseEvent, Mention, MentionTopic, Source, Topic, Touchpoint, User
from tests.support.db import DB_BACKENDS
from tests.support.hostile import HOSTILE_STRINGS, hostile_text
from tests.support.web_client import csrf_of
from tests.support.web_seed import NOW, PASSWORD
from tests.support.webprobe import (
    SECRET_KEY,
    UI,
    Endpoint,
    SeededTemplate,
    build_ui,
    clone_sqlite,
    endpoints,
    fill,
    postgres_clone,
    postgres_drop,
    seed_template,
    session_cookie,
    snapshot,
)
from vocwatch.cli.review import web_config
from vocwatch.settings import Settings, SlackSettings, WebSettings
from vocwatch.web import WebConfig, create_app
from vocwatch.web.app import SESSION_COOKIE
from vocwatch.web.headers import CONTENT_SECURITY_POLICY
from vocwatch.web.login import login_failed_message
from vocwatch.web.passwords import hash_password
from vocwatch.wiring import App, build_app

if TYPE_CHECKING:
    from httpx2 import Response  # what Starlette's TestClient returns

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
PUBLIC = frozenset({"GET /login", "POST /login", "GET /healthz", "* /static"})
"""The whole allow-list: what an anonymous browser may reach. Everything else needs a session."""
ROLES = (UserRole.VIEWER, UserRole.AGENT, UserRole.ADMIN)
"""Least to most powerful; each role may do what the ones before it may."""

# The routes as the app declares them; no database is needed to list them.
ROUTES = endpoints(create_app(WebConfig(secret_key="routes-only"), sessionmaker()))
STATE_CHANGING = [e for e in ROUTES if not e.mount and e.method not in SAFE_METHODS]

SLACK_TOKEN = "xoxb-SECRET-slack-3e9d51"
DB_PASSWORD = "SECRET-db-pw-7c20"


@pytest.fixture(scope="module")
def sqlite_seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> SeededTemplate:
    """The seeded world of tests.integration.web.seed on SQLite, once per module."""
    path = tmp_path_factory.mktemp("security-seeded") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    return seed_template(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def postgres_seeded(postgres_admin_url: str, postgres_template: str) -> Iterator[SeededTemplate]:
    """The same on PostgreSQL: a database that each test's database is created from (TEMPLATE)."""
    name = f"vocwatch_test_{os.getpid()}_security_{secrets.token_hex(4)}"
    url = postgres_clone(postgres_admin_url, postgres_template, name)
    try:
        yield seed_template(url)
    finally:
        postgres_drop(postgres_admin_url, name)


@pytest.fixture
def ui(sqlite_seeded: SeededTemplate, tmp_path: Path) -> Iterator[UI]:
    """The app over a fresh copy of the seeded SQLite database, all cases on one page."""
    yield from build_ui(clone_sqlite(sqlite_seeded, tmp_path), sqlite_seeded)


@pytest.fixture(params=DB_BACKENDS)
def ui_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UI]:
    """The same on each backend: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        template: SeededTemplate = request.getfixturevalue("sqlite_seeded")
        yield from build_ui(clone_sqlite(template, tmp_path), template)
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    template = request.getfixturevalue("postgres_seeded")
    source = make_url(template.url).database
    assert source is not None
    name = f"vocwatch_test_{os.getpid()}_security_{secrets.token_hex(4)}"
    try:
        yield from build_ui(postgres_clone(admin_url, source, name), template)
    finally:
        postgres_drop(admin_url, name)


def is_login_redirect(response: Response) -> bool:
    return response.status_code == 303 and response.headers.get("location", "").startswith("/login")


def user_id(ui: UI, role: UserRole) -> int:
    seeded = ui.seeded
    return {
        UserRole.VIEWER: seeded.viewer_id,
        UserRole.AGENT: seeded.agent_id,
        UserRole.ADMIN: seeded.admin_id,
    }[role]


# -- 1. no page or action without a login --------------------------------------------------------------


def unauthenticated_violations(ui: UI, app: FastAPI) -> list[str]:
    """What an anonymous browser gets that it should not, for every method of every non-public route.

    Pages must redirect to /login (or refuse); an unsafe method must be refused without a CSRF token and,
    with a valid token of an anonymous session, still be sent to /login: that second request is the one
    that shows the route itself checks the login, not just the CSRF layer. Methods a path does not declare
    must be refused too (405).
    """
    problems: list[str] = []
    declared: dict[str, set[str]] = defaultdict(set)
    for endpoint in endpoints(app):
        if str(endpoint) in PUBLIC:
            continue
        path = fill(endpoint, ui.path_values())
        declared[path].add(endpoint.method)
        if endpoint.method in SAFE_METHODS:
            response = ui.client(app=app).request(endpoint.method, path)
            if not (is_login_redirect(response) or response.status_code in (401, 403, 405)):
                problems.append(f"{endpoint}: {response.status_code} {response.text[:80]!r}")
            continue
        bare = ui.client(app=app).request(endpoint.method, path, data={"action": "note", "note": "x"})
        if not (is_login_redirect(bare) or bare.status_code in (401, 403)):
            problems.append(f"{endpoint} without a CSRF token: {bare.status_code}")
        anonymous = ui.client(app=app)
        token = csrf_of(anonymous, "/login")
        with_token = anonymous.request(endpoint.method, path, data={"csrf_token": token})
        if not is_login_redirect(with_token):
            problems.append(f"{endpoint} with an anonymous session's token: {with_token.status_code}")
    for path, methods in declared.items():
        for method in sorted(set(ALL_METHODS) - methods):
            response = ui.client(app=app).request(method, path)
            if not (is_login_redirect(response) or response.status_code in (401, 403, 405)):
                problems.append(f"{method} {path} (undeclared): {response.status_code}")
    return problems


def test_no_page_or_action_without_a_login(ui: UI) -> None:
    """Every route the app declares, every method, with real ids in the path: only the allow-list is open,
    and the anonymous sweep writes nothing."""
    assert {str(e) for e in ROUTES} >= PUBLIC  # the allow-list names real routes
    assert len(ROUTES) - len(PUBLIC) >= 8  # the sweep has something to sweep
    before = snapshot(ui.sessions)
    assert unauthenticated_violations(ui, ui.app) == []
    assert snapshot(ui.sessions) == before
    anonymous = ui.client()
    assert anonymous.get("/healthz").text == "ok"
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200
    # A GET keeps where it was going, for after the login.
    assert anonymous.get("/cases/7?x=1").headers["location"] == "/login?next=/cases/7%3Fx%3D1"


def test_the_login_sweep_catches_a_route_added_without_a_login(ui: UI) -> None:
    """The sweep is not vacuous: routes added to the app without the login dependency are reported (a
    page, and an action that passes the CSRF check but never asks who is calling)."""
    app = create_app(ui.config, ui.sessions)

    @app.get("/leak/{thing_id}")
    def leak(thing_id: int) -> PlainTextResponse:
        return PlainTextResponse(f"secret {thing_id}")

    @app.post("/leak")
    def leak_action() -> PlainTextResponse:
        return PlainTextResponse("done")

    reported = {problem.split(":")[0] for problem in unauthenticated_violations(ui, app)}
    assert reported == {"GET /leak/{thing_id}", "POST /leak with an anonymous session's token"}


# -- 2. roles × state-changing routes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """How to use one state-changing route for real, and how to see that it took effect.

    `form(ui, tag)` is a valid request body; `tag` (the role's name) makes each role's attempt
    recognisable. `more_forms` are the route's other uses, which a forbidden role must not get through
    either. `took_effect` looks in the database; None: the route writes nothing (login).
    """

    min_role: UserRole | None
    form: Callable[[UI, str], dict[str, str]]
    took_effect: Callable[[Session, UI, str, int], bool] | None
    more_forms: Callable[[UI], list[dict[str, str]]] = field(default=lambda ui: [])


def _case_actions(ui: UI) -> list[dict[str, str]]:
    """Every action the case form offers, each with valid fields."""
    forms = {
        "acknowledge": {},
        "reopen": {},
        "assign": {"assignee": str(ui.seeded.agent_id)},
        "note": {"note": "viewer was here"},
        "resolve": {"reason": RESOLVE_REASONS[0]},
        "dismiss": {"reason": DISMISS_REASONS[0]},
        "correct": {"label": "positive", "topics_shown": "1", "topics": "billing", "touchpoint": "support"},
    }
    assert set(forms) == set(CASE_ACTIONS), "a new case action: add a valid form for it here"
    return [{"action": kind, **fields} for kind, fields in forms.items()]


def _noted(session: Session, ui: UI, tag: str, actor_id: int) -> bool:
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == ui.seeded.delivery_case, CaseEvent.user_id == actor_id)
    )
    return any(event.kind == "note" and event.detail.get("note") == f"probe {tag}" for event in events)


def _logged_out(session: Session, ui: UI, tag: str, actor_id: int) -> bool:
    user = users.get_user(session, actor_id)
    return user is not None and user.session_epoch > 0


def _user_added(session: Session, ui: UI, tag: str, actor_id: int) -> bool:
    return users.find_user(session, f"probe-{tag}") is not None


def _role_changed(session: Session, ui: UI, tag: str, actor_id: int) -> bool:
    target = users.get_user(session, ui.target_id)
    return target is not None and target.role == UserRole.AGENT


PROBES: dict[str, Probe] = {
    "POST /login": Probe(None, lambda ui, tag: {"username": "agent", "password": PASSWORD}, None),
    "POST /logout": Probe(UserRole.VIEWER, lambda ui, tag: {}, _logged_out),
    "POST /cases/{case_id}/actions": Probe(
        UserRole.AGENT, lambda ui, tag: {"action": "note", "note": f"probe {tag}"}, _noted, _case_actions
    ),
    "POST /admin/users": Probe(
        UserRole.ADMIN,
        lambda ui, tag: {"username": f"probe-{tag}", "password": "long enough pw", "role": "admin"},
        _user_added,
    ),
    "POST /admin/users/{user_id}/role": Probe(
        UserRole.ADMIN, lambda ui, tag: {"role": "agent"}, _role_changed
    ),
}


def probe_for(endpoint: Endpoint) -> Probe:
    probe = PROBES.get(str(endpoint))
    assert probe is not None, f"{endpoint} is a new state-changing route: add a Probe for it to PROBES"
    return probe


def test_every_state_changing_route_has_a_probe() -> None:
    """The role and CSRF matrices below are parametrised from the app's routes; this names a new route
    that nobody has described yet, rather than letting it pass unexercised."""
    assert {str(e) for e in STATE_CHANGING} == set(PROBES)
    assert set(ROLES) == set(UserRole)


@pytest.mark.parametrize("endpoint", [e for e in STATE_CHANGING if str(e) not in PUBLIC], ids=str)
def test_role_matrix(ui: UI, endpoint: Endpoint) -> None:
    """Each role, logged in with a valid CSRF token: below the route's role every use of it is a 403 and no
    row of any table changes; from that role up it works (the server checks, not just the templates)."""
    probe = probe_for(endpoint)
    assert probe.min_role is not None and probe.took_effect is not None
    path = fill(endpoint, ui.path_values())
    for role in ROLES:
        client = ui.as_role(role)
        token = csrf_of(client, "/queue")
        actor = user_id(ui, role)
        if ROLES.index(role) < ROLES.index(probe.min_role):
            for form in [probe.form(ui, role.value), *probe.more_forms(ui)]:
                before = snapshot(ui.sessions)
                response = client.request(endpoint.method, path, data={**form, "csrf_token": token})
                assert response.status_code == 403, (role, form, response.text[:200])
                assert snapshot(ui.sessions) == before, (role, form)
        else:
            response = client.request(
                endpoint.method, path, data={**probe.form(ui, role.value), "csrf_token": token}
            )
            assert response.status_code == 303, (role, response.text[:200])
            with ui.sessions() as session:
                assert probe.took_effect(session, ui, role.value, actor), role


# -- 3. session fixation and revocation ------------------------------------------------------------------


def test_login_issues_a_new_cookie_and_a_planted_one_stays_anonymous(ui: UI) -> None:
    """Session fixation: an attacker gets an anonymous session from the site and plants its cookie in the
    victim's browser. The victim's login must not upgrade that session: the login answers with a new
    cookie, the attacker's copy still opens nothing, and the CSRF token the attacker knows is void."""
    attacker = ui.client()
    attacker_token = csrf_of(attacker, "/login")
    planted = session_cookie(attacker)
    victim = ui.client(cookie=planted)
    assert csrf_of(victim, "/login") == attacker_token  # the plant took: the victim is in that session
    response = victim.post(
        "/login", data={"username": "agent", "password": PASSWORD, "csrf_token": attacker_token}
    )
    assert response.status_code == 303
    issued = response.cookies.get(SESSION_COOKIE)
    assert issued is not None and issued != planted
    assert is_login_redirect(ui.client(cookie=planted).get("/queue"))
    logged_in = ui.client(cookie=issued)
    assert logged_in.get("/queue").status_code == 200
    case_id = ui.seeded.delivery_case
    refused = logged_in.post(
        f"/cases/{case_id}/actions",
        data={"action": "resolve", "reason": "fixed", "csrf_token": attacker_token},
    )
    assert refused.status_code == 403
    with ui.sessions() as session:
        assert session.get(Case, case_id).status == CaseStatus.OPEN  # type: ignore[union-attr]


def test_a_copied_cookie_stops_working_at_logout(ui_any: UI) -> None:
    """A stolen session cookie must die when its owner logs out (both backends: the epoch is a column).
    Before the fix it kept working for the whole session lifetime: the cookie is signed, not stored, and
    logout only told the owner's browser to forget it. Now logout moves the account's session epoch on
    and every older cookie is refused."""
    ui = ui_any
    agent = ui.login("agent")
    stolen = session_cookie(agent)
    thief = ui.client(cookie=stolen)
    assert thief.get("/queue").status_code == 200  # the copy works while the login lasts
    stolen_token = csrf_of(thief, "/queue")
    second_device = ui.as_role(UserRole.AGENT)
    response = agent.post("/logout", data={"csrf_token": csrf_of(agent, "/queue")})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert is_login_redirect(agent.get("/queue"))
    assert is_login_redirect(thief.get("/queue"))
    before = snapshot(ui.sessions)
    action = thief.post(
        f"/cases/{ui.seeded.delivery_case}/actions",
        data={"action": "note", "note": "after logout", "csrf_token": stolen_token},
    )
    assert is_login_redirect(action)
    assert snapshot(ui.sessions) == before
    # Sessions are not tracked one by one: logging out ends the account's other logins too.
    assert is_login_redirect(second_device.get("/queue"))


def test_new_password_new_role_and_age_end_sessions(ui: UI) -> None:
    """The other ends of a login: a password change and a role change (a demoted account must log in
    again), and the session's age, however active it is (SessionMiddleware re-signs the cookie on every
    response, so its own expiry would slide forever). Upgrading a hash at login ends nothing."""
    viewer = ui.as_role(UserRole.VIEWER)
    new_hash = hash_password("a new password")
    with ui.sessions.begin() as session:  # what a parameter upgrade at login does
        users.set_password_hash(session, ui.seeded.viewer_id, new_hash, end_sessions=False)
    assert viewer.get("/queue").status_code == 200
    with ui.sessions.begin() as session:  # a new password
        users.set_password_hash(session, ui.seeded.viewer_id, new_hash, end_sessions=True)
    assert is_login_redirect(viewer.get("/queue"))

    agent, admin = ui.as_role(UserRole.AGENT), ui.as_role(UserRole.ADMIN)
    token = csrf_of(admin, "/admin/users")
    role_url = f"/admin/users/{ui.seeded.agent_id}/role"
    # Setting the role an account already has is no change: its sessions go on.
    assert admin.post(role_url, data={"role": "agent", "csrf_token": token}).status_code == 303
    assert agent.get("/queue").status_code == 200
    assert admin.post(role_url, data={"role": "viewer", "csrf_token": token}).status_code == 303
    assert is_login_redirect(agent.get("/queue"))

    ui.clock.advance(ui.config.session_max_age_s - 60)
    assert admin.get("/queue").status_code == 200  # used all along ...
    ui.clock.advance(61)
    assert is_login_redirect(admin.get("/queue"))  # ... and still over after session_max_age_s


def test_a_cookie_signed_with_the_key_but_without_an_epoch_is_refused(ui: UI) -> None:
    """Cookies issued before the epoch existed (`{"uid": n}` only) must not pass as valid, even though
    they carry a good signature: after the upgrade everyone logs in once more."""

    def signed(session: dict[str, object]) -> str:
        """A cookie exactly as Starlette's SessionMiddleware writes one (we know the test's key)."""
        return TimestampSigner(SECRET_KEY).sign(b64encode(json.dumps(session).encode())).decode()

    old_style = {"uid": ui.seeded.admin_id, "csrf_token": "t"}
    assert is_login_redirect(ui.client(cookie=signed(old_style)).get("/queue"))
    # The forgery itself is sound: with the fields a login writes now, the same signing is accepted.
    current = {**old_style, "epoch": 0, "login_at": int(NOW.timestamp())}
    assert ui.client(cookie=signed(current)).get("/queue").status_code == 200


# -- 4. CSRF ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", STATE_CHANGING, ids=str)
def test_csrf_matrix(ui: UI, endpoint: Endpoint) -> None:
    """Every state-changing route, used by someone allowed to (admin; anyone for /login): a missing, empty,
    wrong (one character off) or another session's token is a 403 that writes nothing and leaves the
    session as it was; the session's own token then works, so the refusals were about the token."""
    probe = probe_for(endpoint)
    path = fill(endpoint, ui.path_values())
    if probe.min_role is None:
        actor = ui.client()
        own = csrf_of(actor, "/login")
        other = csrf_of(ui.client(), "/login")
    else:
        actor = ui.as_role(UserRole.ADMIN)
        own = csrf_of(actor, "/queue")
        other = csrf_of(ui.as_role(UserRole.AGENT), "/queue")
    assert own != other
    form = probe.form(ui, "admin")
    flipped = own[:-1] + ("A" if own[-1] != "A" else "B")
    for label, token in (("missing", None), ("empty", ""), ("wrong", flipped), ("another session's", other)):
        before = snapshot(ui.sessions)
        data = form if token is None else {**form, "csrf_token": token}
        response = actor.request(endpoint.method, path, data=data)
        assert response.status_code == 403, label
        assert snapshot(ui.sessions) == before, label
        after = actor.get("/queue")
        assert is_login_redirect(after) if probe.min_role is None else after.status_code == 200, label
    response = actor.request(endpoint.method, path, data={**form, "csrf_token": own})
    assert response.status_code == 303
    if probe.took_effect is None:
        assert actor.get("/queue").status_code == 200
    else:
        with ui.sessions() as session:
            assert probe.took_effect(session, ui, "admin", ui.seeded.admin_id)


# -- 5. brute force -----------------------------------------------------------------------------------


_TOKEN_FIELD = re.compile(r'name="csrf_token" value="[^"]+"')


def _answer(client: TestClient, username: str, password: str) -> tuple[int, str, list[str]]:
    """What a login attempt shows: status, page (the per-session CSRF token blanked), header names."""
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return response.status_code, _TOKEN_FIELD.sub("", response.text), sorted(response.headers)


def test_lockout_backs_off_and_looks_like_an_unknown_name(ui: UI) -> None:
    """Wrong passwords lock the account with a doubling wait, during which even the right password is
    refused. Every failed attempt answers byte for byte what an unknown username gets with the same
    password (before the fix a locked account said "Try again in 30 s" and an unknown name did not: that
    told which names exist). An unknown name has no state, so its two answers are taken once."""
    policy = ui.config.lockout
    known = ui.client()
    unknown = {password: _answer(ui.client(), "nobody", password) for password in ("wrong", PASSWORD)}
    assert unknown["wrong"][0] == 401 and login_failed_message(policy) in unescape(unknown["wrong"][1])
    assert unknown["wrong"] == unknown[PASSWORD]

    def attempt(password: str) -> int:
        """A login as agent; a failure must be indistinguishable from the same try with a wrong name."""
        answer = _answer(known, "agent", password)
        if answer[0] != 303:
            assert answer == unknown[password]
        return answer[0]

    def locked_for() -> float:
        with ui.sessions() as session:
            user = session.get(User, ui.seeded.agent_id)
            assert user is not None
            return (user.locked_until - ui.clock()).total_seconds() if user.locked_until else 0.0

    assert [attempt("wrong") for _ in range(policy.free_attempts)] == [401] * policy.free_attempts
    assert locked_for() == 0
    waits = []
    for _ in range(2):
        assert attempt("wrong") == 401
        waits.append(locked_for())
        ui.clock.advance(waits[-1] - 1)
        assert attempt(PASSWORD) == 401  # the right password, refused a second before the lock ends
        assert is_login_redirect(known.get("/queue"))
        ui.clock.advance(1)
    base = policy.base_lock.total_seconds()
    assert waits == [base, 2 * base]
    assert attempt(PASSWORD) == 303
    assert known.get("/queue").status_code == 200
    with ui.sessions() as session:
        user = session.get(User, ui.seeded.agent_id)
        assert user is not None and user.failed_logins == 0 and user.locked_until is None


# -- 6. hostile strings in query parameters and forms -------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """One case as the queue filters see it, read straight from the tables (not via storage.queue)."""

    id: int
    status: CaseStatus
    severity: str
    source: str
    touchpoint: str | None
    topics: frozenset[str]
    lang: str | None
    assignee_id: int | None
    created_at: datetime


def case_facts(sessions: sessionmaker[Session]) -> list[CaseFacts]:
    with sessions() as session:
        topics: dict[int, set[str]] = defaultdict(set)
        for mention_id, name in session.execute(
            select(MentionTopic.mention_id, Topic.name).join(Topic, MentionTopic.topic_id == Topic.id)
        ):
            topics[mention_id].add(name)
        rows = session.execute(
            select(Case, Mention, Source.name, Touchpoint.name)
            .join(Mention, Case.mention_id == Mention.id)
            .join(Source, Mention.source_id == Source.id)
            .outerjoin(Touchpoint, Mention.touchpoint_id == Touchpoint.id)
        ).all()
        return [
            CaseFacts(
                case.id,
                case.status,
                case.severity,
                source,
                touchpoint,
                frozenset(topics[mention.id]),
                mention.lang,
                case.assignee_id,
                case.created_at,
            )
            for case, mention, source, touchpoint in rows
        ]


_FILTERS = ("status", "touchpoint", "topic", "source", "severity", "lang", "assignee", "since", "until")


def expected_cases(facts: list[CaseFacts], params: dict[str, str], me: int) -> set[int] | None:
    """The cases the queue must show for these query values, by its documented rules (queue.py): names
    match exactly, known words (status, severity, me, unassigned) and ISO dates filter, anything else does
    not filter; a NUL in any filter is a 400 (None)."""
    value = {name: params.get(name, "").strip() for name in _FILTERS}
    if any("\x00" in v for v in value.values()):
        return None
    statuses = {CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED}
    if value["status"] == "all":
        statuses = set(CaseStatus)
    elif value["status"] in {s.value for s in CaseStatus}:
        statuses = {CaseStatus(value["status"])}
    assignee: tuple[bool, int | None] = (False, None)  # (filters?, id)
    if value["assignee"] == "me":
        assignee = (True, me)
    elif value["assignee"] == "unassigned":
        assignee = (True, None)
    elif value["assignee"].isascii() and value["assignee"].isdigit():
        digits = value["assignee"].lstrip("0") or "0"
        assignee = (True, int(digits) if len(digits) <= 18 else -1)

    def day(text: str) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            return None

    since, until = day(value["since"]), day(value["until"])
    shown = set()
    for case in facts:
        created = case.created_at.astimezone(UTC)
        if (
            case.status in statuses
            and (
                value["severity"] not in ("critical", "warning", "info") or case.severity == value["severity"]
            )
            and (not value["touchpoint"] or case.touchpoint == value["touchpoint"])
            and (not value["topic"] or value["topic"] in case.topics)
            and (not value["source"] or case.source == value["source"])
            and (not value["lang"] or case.lang == value["lang"])
            and (not assignee[0] or case.assignee_id == assignee[1])
            and (since is None or created.date() >= since)
            and (until is None or created.date() <= until)
        ):
            shown.add(case.id)
    return shown


def query_params(client: TestClient, endpoint: Endpoint) -> set[str]:
    """The query parameters a GET page reads, found without a list: the route's declared ones, the fields
    of the page's own GET forms, and the keys of its links back to itself."""
    names: set[str] = set()
    if isinstance(endpoint.route, APIRoute):
        names |= {param.name for param in endpoint.route.dependant.query_params}
    response = client.get(endpoint.path)
    if "text/html" not in response.headers.get("content-type", ""):
        return names
    html = response.text
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", html, re.S):
        attributes = form.group(1)
        if 'method="get"' in attributes and f'action="{endpoint.path}"' in attributes:
            names |= set(re.findall(r'\bname="([^"]+)"', form.group(2)))
    for query in re.findall(r'href="' + re.escape(endpoint.path) + r'\?([^"]*)"', html):
        names |= {key for key, _ in parse_qsl(unescape(query))}
    return names


def encode_query(params: dict[str, str]) -> str:
    """Percent-encoded UTF-8, lone surrogates included (a browser cannot send them; bytes can)."""
    return "&".join(
        f"{quote(key, safe='')}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for key, value in params.items()
    )


_CASE_LINK = re.compile(r'href="/cases/(\d+)"')
_COUNT = re.compile(r'class="count">([\d,]+)\+? cases?<')
REAL_VALUES = (
    *("forum", "shop_zh", " forum ", "delivery", "support", "billing", "app_bugs", "en", "zh", "EN"),
    *("critical", "warning", "info", "all", "open", "resolved", "acknowledged", "me", "unassigned", "1"),
    *(NOW.date().isoformat(), (NOW - timedelta(days=9)).date().isoformat(), "9999-12-31", "0001-01-01"),
    *("' OR 1=1 --", "forum' OR '1'='1", "%", "_", "*", "forum%", "2", "00000000000000000000003", "²³", "١"),
)


def test_hostile_query_parameters(ui_any: UI, caplog: pytest.LogCaptureFixture) -> None:
    """Every query parameter of every non-public GET page without path parameters (queue, dashboard,
    export, ...), filled by hypothesis with hostile strings and real values mixed: the answer is 200, 400
    or 422, never a 500 and never a logged error, and the queue shows exactly the cases its filters select
    (no injected condition widens it: `' OR 1=1 --` as a source is zero cases)."""
    ui = ui_any
    admin = ui.as_role(UserRole.ADMIN)
    pages = [
        e for e in ROUTES if e.method == "GET" and not e.mount and str(e) not in PUBLIC and "{" not in e.path
    ]
    discovered = {endpoint.path: sorted(query_params(admin, endpoint)) for endpoint in pages}
    assert set(_FILTERS) | {"page"} <= set(discovered["/queue"])
    assert "days" in discovered["/dashboard"]
    facts = case_facts(ui.sessions)
    me = ui.seeded.admin_id

    def check(path: str, params: dict[str, str]) -> None:
        caplog.clear()
        query = encode_query(params)
        response = admin.get(f"{path}?{query}")
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, (path, params, caplog.text[-2000:])
        assert response.status_code in (200, 303, 400, 422), (path, params, response.text[:300])
        if response.status_code == 303:
            assert path == "/" and response.headers["location"] == "/queue"
        if path != "/queue":
            return
        received = dict(parse_qsl(query, keep_blank_values=True))  # what the server decodes
        expected = expected_cases(facts, received, me)
        if response.status_code == 422:
            assert "page" in received, (params, response.text[:300])
            return
        if expected is None:
            assert response.status_code == 400, params
            return
        assert response.status_code == 200, (params, response.text[:300])
        shown = {int(found) for found in _CASE_LINK.findall(response.text)}
        assert shown <= expected, (params, shown, expected)  # never a case the filters exclude
        count = _COUNT.search(response.text)
        assert count is not None and int(count.group(1).replace(",", "")) == len(expected), params
        if received.get("page", "1").strip() in ("", "1"):
            assert shown == expected, params

    for params in (
        {"source": "' OR 1=1 --"},
        {"topic": "billing' OR '1'='1"},
        {"lang": "en\x00"},
        {"touchpoint": "%"},
        {"assignee": "²³"},
        {"assignee": "9" * 400},
        {"page": "9" * 400},
        {"page": "0"},
        {"until": "9999-12-31", "status": "all"},
        {"since": "0001-01-01", "status": "all"},
        {"status": "resolved'; DROP TABLE cases; --"},
    ):
        check("/queue", params)
    for value in HOSTILE_STRINGS:
        check("/dashboard", {"days": value})

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def hostile(data: st.DataObject) -> None:
        # The queue, whose rows can be checked, half of the time; any page the other half.
        path = data.draw(st.one_of(st.just("/queue"), st.sampled_from(sorted(discovered))))
        names = discovered[path] or ["q"]
        values = st.one_of(hostile_text(max_size=40), st.sampled_from(REAL_VALUES))
        check(path, data.draw(st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=4)))

    hostile()
    assert expected_cases(facts, {"source": "' OR 1=1 --"}, me) == set()
    assert expected_cases(facts, {"source": "shop_zh"}, me) == {ui.seeded.delivery_case, ui.seeded.info_case}


def test_pages_do_not_repeat_text_from_a_crafted_link(ui: UI) -> None:
    """The notices after an action ("Done: resolve.", "User added.") come from a `done` query parameter.
    Before the fix any text in it was shown (escaped, but a crafted link could put "your account is
    locked, call ..." on a real page of ours); now only our own codes produce a notice."""
    admin = ui.as_role(UserRole.ADMIN)
    lure = "Your session expired - call +1 555 0100 to unlock"
    for path in (f"/cases/{ui.seeded.delivery_case}", "/admin/users"):
        page = admin.get(f"{path}?{encode_query({'done': lure})}")
        assert page.status_code == 200 and "555" not in page.text and 'class="notice"' not in page.text
    assert "Done: resolve." in admin.get(f"/cases/{ui.seeded.delivery_case}?done=resolve").text
    assert "User added." in admin.get("/admin/users?done=added").text


def _form_body(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """An urlencoded body with any string, lone surrogates too (httpx would refuse to encode those)."""
    body = "&".join(
        f"{quote(k, safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in fields.items()
    )
    return body.encode("ascii"), {"content-type": "application/x-www-form-urlencoded"}


def test_hostile_form_values_are_answered_not_crashed(ui_any: UI, caplog: pytest.LogCaptureFixture) -> None:
    """Hostile strings in every field of the case-action form (all the named ones) and of the login and
    add-user forms (those that matter there): a 303, 400, 401 or 422, never a 500. Before the fix a NUL
    was a 500 on PostgreSQL in each form, and "²" as an assignee or an oversized case id one on both
    backends. A hostile username also gets exactly the unknown-name answer."""
    ui = ui_any
    anonymous = ui.client()
    agent = ui.as_role(UserRole.AGENT)
    admin = ui.as_role(UserRole.ADMIN)
    tokens = {
        id(c): csrf_of(c, "/queue" if c is not anonymous else "/login") for c in (anonymous, agent, admin)
    }
    case_url = f"/cases/{ui.seeded.billing_case}/actions"
    attempts: list[tuple[TestClient, str, dict[str, str]]] = []
    for value in (*HOSTILE_STRINGS, "a\x00b", "²", "9" * 30):
        attempts += [
            (agent, case_url, {"action": "note", "note": value}),
            (agent, case_url, {"action": "assign", "assignee": value}),
            (agent, case_url, {"action": "resolve", "reason": value}),
            (agent, case_url, {"action": "correct", "label": value, "touchpoint": value}),
            (agent, case_url, {"action": "correct", "topics_shown": "1", "topics": value}),
            (agent, case_url, {"action": value}),
        ]
    # Login and account creation cost an argon2 hash each (most of this test's time): the values that
    # reach the database differently (NUL, a lone surrogate, quotes) and those validation must stop.
    for value in ("a\x00b", "\ud800 lone \udfff surrogates", "' OR '1'='1"):
        attempts.append((anonymous, "/login", {"username": value, "password": value}))
    for value in ("a\x00b", "\x1b[31mred", " \n\t ", "x" * 101, "\ud800 lone \udfff surrogates"):
        account = {"username": value, "password": "long enough pw", "role": "viewer"}
        attempts.append((admin, "/admin/users", account))
    attempts += [(agent, f"/cases/{'9' * 30}/actions", {"action": "note", "note": "x"})]
    for client, path, fields in attempts:
        body, headers = _form_body({**fields, "csrf_token": tokens[id(client)]})
        response = client.post(path, content=body, headers=headers)
        assert response.status_code in (303, 400, 401, 422), (path, fields, response.text[:300])
        if path == "/login" and response.status_code == 401:
            assert login_failed_message(ui.config.lockout) in unescape(response.text), fields
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert ui.client().get(f"/cases/{'9' * 30}").status_code in (303, 422)
    assert agent.get(f"/cases/{'9' * 30}").status_code == 422


# -- 7. error pages and logs -----------------------------------------------------------------------------


def _with_password(url: str) -> str:
    """PostgreSQL's trust auth ignores the password; it is there to be looked for in pages and logs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=DB_PASSWORD).render_as_string(hide_password=False)


@contextmanager
def real_app(database_url: str, data_dir: Path) -> Iterator[tuple[FastAPI, App]]:
    """The app as `vocwatch serve` builds it from Settings (composition root), with every secret planted."""
    app_settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        slack=SlackSettings(token=SLACK_TOKEN),
        web=WebSettings(secret_key=SECRET_KEY),
    )
    built = build_app(app_settings)
    try:
        yield create_app(web_config(app_settings), built.sessions), built
    finally:
        built.engine.dispose()


SECRETS = (SECRET_KEY, SLACK_TOKEN, DB_PASSWORD, PASSWORD)


def assert_error_page(response: Response, *, hidden: tuple[str, ...]) -> str:
    """A 500 that says sorry and gives an error id, with the security headers, and none of `hidden`."""
    assert response.status_code == 500
    page = response.text
    assert "Something went wrong" in page
    found = re.search(r"<code>([0-9a-f]{8})</code>", page)
    assert found is not None, page
    for word in (*SECRETS, *hidden, "Traceback", 'File "', "sqlalchemy", "SELECT", "Error:", "postgresql"):
        assert word not in page, f"{word!r} on the error page"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-store"
    return found.group(1)


def assert_logged(caplog: pytest.LogCaptureFixture, error_id: str, *, mentions: str) -> None:
    """The operator's side: one error record with the page's id and the cause, and no secret anywhere."""
    records = [r for r in caplog.records if r.levelno >= logging.ERROR and error_id in r.getMessage()]
    assert len(records) == 1, caplog.text
    assert mentions in caplog.text
    for secret in SECRETS:
        assert secret not in caplog.text, f"{secret!r} in the logs"


def test_a_dropped_table_gives_a_bare_500(
    ui_any: UI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A table gone under a running app (both backends), the app built by the composition root with every
    secret in its Settings: the page shows none of the exception, the SQL, the key, the database URL
    (with its password on PostgreSQL) or the Slack token; the log has the cause, and no secret either."""
    url = _with_password(ui_any.url)
    caplog.set_level(logging.DEBUG, logger="vocwatch")
    cookie = {"cookie": f"{SESSION_COOKIE}={ui_any.template.cookies[UserRole.AGENT]}"}  # same key: valid
    with (
        real_app(url, tmp_path) as (app, built),
        TestClient(app, base_url="https://testserver", follow_redirects=False, headers=cookie) as agent,
    ):
        assert agent.get("/queue").status_code == 200
        with built.sessions.begin() as session:
            session.execute(text("DROP TABLE mention_topics"))
        error_id = assert_error_page(
            agent.get("/queue"), hidden=(url, str(tmp_path), "mention_topics", "sqlite", "psycopg")
        )
        assert agent.get("/healthz").text == "ok"  # the app itself lives on
    assert_logged(caplog, error_id, mentions="mention_topics")


def test_an_unreachable_database_gives_a_bare_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL not answering (a closed port) while someone logs in: the page gives nothing away (host,
    port, user, password, the password typed in the form) and the log says what failed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    url = f"postgresql+psycopg://vocwatch:{DB_PASSWORD}@127.0.0.1:{port}/vocwatch"
    caplog.set_level(logging.DEBUG, logger="vocwatch")
    with (
        real_app(url, tmp_path) as (app, _),
        TestClient(app, base_url="https://testserver", follow_redirects=False) as client,
    ):
        assert client.get("/healthz").text == "ok"
        token = csrf_of(client, "/login")
        response = client.post(
            "/login", data={"username": "agent", "password": PASSWORD, "csrf_token": token}
        )
        error_id = assert_error_page(response, hidden=(url, f"port {port}", "127.0.0.1", "vocwatch:"))
        assert is_login_redirect(client.get("/queue"))  # no session came of it
    assert_logged(caplog, error_id, mentions=str(port))


def test_a_refused_insert_does_not_log_the_password_hash(ui: UI, caplog: pytest.LogCaptureFixture) -> None:
    """When the database refuses a new account, SQLAlchemy's message would carry the bound values: the new
    account's argon2 hash. The log keeps the statement and hides the values; the page shows neither."""
    admin = ui.as_role(UserRole.ADMIN)
    token = csrf_of(admin, "/admin/users")
    with ui.sessions.begin() as session:
        session.execute(
            text("CREATE TRIGGER refuse_users BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'quota'); END")
        )
    caplog.set_level(logging.DEBUG, logger="vocwatch")
    new_password = "SECRET-new-account-pw"
    response = admin.post(
        "/admin/users",
        data={"username": "mallory", "password": new_password, "role": "admin", "csrf_token": token},
    )
    error_id = assert_error_page(response, hidden=(new_password, "$argon2", "INSERT", "quota"))
    assert_logged(caplog, error_id, mentions="INSERT INTO users")
    assert "$argon2" not in caplog.text and new_password not in caplog.text
    assert "hide_parameters" in caplog.text  # SQLAlchemy's note that the values were left out
