"""The review UI over HTTP (ASGI test client, real SQLite): login, roles, CSRF, queue, actions, export."""

from __future__ import annotations

import json
import re

from slack_sdk import WebClient
from sqlalchemy import select

from notifier.dispatcher import Dispatcher
from storage import alerts, corrections, users
from storage.enums import AlertKind, AlertStatus, CaseStatus
from storage.models import Alert, Case, CaseEvent, Mention, Touchpoint
from tests.support.web_client import Web, csrf_of
from tests.support.web_seed import HOSTILE_URL, SLACK_CHANNEL
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.web.headers import CONTENT_SECURITY_POLICY


def _case_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'href="/cases/(\d+)"', html)]


def test_only_login_and_healthz_are_public(web: Web) -> None:
    client = web.client()
    assert client.get("/healthz").text == "ok"
    assert client.get("/login").status_code == 200
    for path in ("/queue", "/cases/1", "/dashboard", "/admin/users", "/export/corrections.jsonl"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_security_headers_and_cookie_flags(web: Web) -> None:
    client = web.client()
    response = client.get("/login")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_wrong_password_then_lockout_with_backoff(web: Web) -> None:
    client = web.client()
    token = csrf_of(client, "/login")

    def attempt(password: str) -> int:
        response = client.post(
            "/login", data={"username": "agent", "password": password, "csrf_token": token}
        )
        return response.status_code

    assert [attempt("wrong") for _ in range(4)] == [401, 401, 401, 401]  # the 4th locks for 30 s
    # While locked even the right password is refused: guessing stays throttled.
    assert attempt("correct horse battery") == 401
    web.clock.advance(31)
    assert attempt("wrong") == 401  # the next lock doubles: 60 s
    web.clock.advance(31)
    assert attempt("correct horse battery") == 401
    web.clock.advance(30)
    assert attempt("correct horse battery") == 303
    # Unknown users get the same answer as a wrong password (in a new session: login rotated the token).
    other = web.client()
    unknown = other.post(
        "/login", data={"username": "nobody", "password": "x", "csrf_token": csrf_of(other, "/login")}
    )
    assert unknown.status_code == 401 and "Wrong username or password." in unknown.text


def test_post_without_csrf_token_is_refused(web: Web) -> None:
    agent = web.login("agent")
    case_id = web.seeded.delivery_case
    for data in (
        {"action": "resolve", "reason": "fixed"},
        {"action": "resolve", "reason": "fixed", "csrf_token": "forged"},
    ):
        response = agent.post(f"/cases/{case_id}/actions", data=data)
        assert response.status_code == 403
    anonymous = web.client()
    assert (
        anonymous.post("/login", data={"username": "agent", "password": "correct horse battery"}).status_code
        == 403
    )
    with web.sessions.begin() as session:
        assert session.get(Case, case_id).status == CaseStatus.OPEN  # type: ignore[union-attr]


def test_viewer_reads_but_cannot_act(web: Web) -> None:
    viewer = web.login("viewer")
    case_id = web.seeded.delivery_case
    page = viewer.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "Parcel arrived two weeks late" in page.text
    assert 'value="resolve"' not in page.text  # no controls shown ...
    token = csrf_of(viewer, "/queue")
    response = viewer.post(
        f"/cases/{case_id}/actions", data={"action": "resolve", "reason": "fixed", "csrf_token": token}
    )
    assert response.status_code == 403  # ... and the server refuses anyway
    assert viewer.get("/admin/users").status_code == 403
    assert viewer.get("/export/corrections.jsonl").status_code == 403
    with web.sessions.begin() as session:
        assert session.get(Case, case_id).status == CaseStatus.OPEN  # type: ignore[union-attr]


def test_queue_sorts_filters_and_pages(web: Web) -> None:
    agent = web.login("agent")
    seeded = web.seeded
    first = agent.get("/queue").text
    assert "4 cases" in first  # the resolved one is not active
    # Severity first (critical, then warning oldest first), two per page.
    assert _case_ids(first) == [seeded.delivery_case, seeded.billing_case]
    second = agent.get("/queue?page=2").text
    assert _case_ids(second) == [seeded.hostile_case, seeded.info_case]
    assert _case_ids(agent.get("/queue?lang=zh").text) == [seeded.billing_case]
    assert _case_ids(agent.get("/queue?topic=app_bugs").text) == [seeded.hostile_case]
    assert _case_ids(agent.get("/queue?touchpoint=delivery&severity=info").text) == [seeded.info_case]
    assert _case_ids(agent.get("/queue?source=shop_zh").text) == [seeded.delivery_case, seeded.info_case]
    assert _case_ids(agent.get("/queue?status=resolved").text) == [seeded.resolved_case]
    assert _case_ids(agent.get("/queue?assignee=me").text) == []
    token = csrf_of(agent, "/queue")
    agent.post(
        f"/cases/{seeded.billing_case}/actions",
        data={"action": "assign", "assignee": "me", "csrf_token": token},
    )
    assert _case_ids(agent.get("/queue?assignee=me").text) == [seeded.billing_case]
    assert seeded.billing_case not in _case_ids(agent.get("/queue?assignee=unassigned&page=1").text)
    # Page links keep the filters.
    assert "status=active&amp;page=2" in agent.get("/queue?status=active").text


def test_resolve_records_event_leaves_queue_and_echoes_to_slack(web: Web) -> None:
    agent = web.login("agent")
    case_id = web.seeded.delivery_case
    token = csrf_of(agent, f"/cases/{case_id}")
    response = agent.post(
        f"/cases/{case_id}/actions", data={"action": "resolve", "reason": "fixed", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{case_id}?done=resolve"
    assert case_id not in _case_ids(agent.get("/queue").text + agent.get("/queue?page=2").text)
    page = agent.get(f"/cases/{case_id}").text
    assert "resolved (fixed)" in page
    with web.sessions.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.RESOLVED and case.resolution == "fixed"
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).all()
        assert [(event.kind, event.user_id) for event in events] == [
            ("opened", None),
            ("resolve", web.seeded.agent_id),
        ]
        echo = session.scalars(select(Alert).where(Alert.kind == AlertKind.CASE_UPDATE)).one()
        assert echo.channel == SLACK_CHANNEL and echo.status == AlertStatus.PENDING
        assert echo.dedup_key == f"case-event:{events[-1].id}"
        assert f"Case #{case_id} · agent: resolved (fixed)" in echo.text
    # A case whose mention never reached Slack gets no echo.
    agent.post(
        f"/cases/{web.seeded.billing_case}/actions", data={"action": "acknowledge", "csrf_token": token}
    )
    with web.sessions.begin() as session:
        assert len(session.scalars(select(Alert).where(Alert.kind == AlertKind.CASE_UPDATE)).all()) == 1


def test_echo_is_delivered_as_a_reply_in_the_alert_thread(
    web: Web, fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    """Through the real dispatcher: the mention's alert is posted, then the case note lands in its thread."""
    fake_slack.add_channel(SLACK_CHANNEL)
    dispatcher = Dispatcher(slack_client, web.sessions, clock=web.clock)
    billing_case = web.seeded.billing_case
    with web.sessions.begin() as session:
        mention_id = session.get(Case, billing_case).mention_id  # type: ignore[union-attr]
        alerts.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key="mention:billing",
            channel=SLACK_CHANNEL,
            text="Negative mention",
            blocks=[],
            mention_id=mention_id,
            now=web.clock(),
        )
    assert dispatcher.dispatch_due().sent == 1
    parent = fake_slack.messages(SLACK_CHANNEL)[-1]
    agent = web.login("agent")
    token = csrf_of(agent, f"/cases/{billing_case}")
    agent.post(
        f"/cases/{billing_case}/actions",
        data={"action": "note", "note": "<!channel> refund issued", "csrf_token": token},
    )
    assert dispatcher.dispatch_due().sent == 1
    reply = fake_slack.messages(SLACK_CHANNEL)[-1]
    assert reply.thread_ts == parent.ts
    assert "&lt;!channel&gt; refund issued" in reply.text and "<!channel>" not in reply.text
    assert "added a note" in reply.text


def test_corrections_are_stored_exported_and_move_the_touchpoint(web: Web) -> None:
    agent = web.login("agent")
    case_id = web.seeded.info_case
    token = csrf_of(agent, f"/cases/{case_id}")
    for data in (
        {"action": "correct", "label": "negative"},
        {"action": "correct", "topics_shown": "1", "topics": ["delivery", "billing"]},
        {"action": "correct", "touchpoint": "support"},
    ):
        assert agent.post(f"/cases/{case_id}/actions", data={**data, "csrf_token": token}).status_code == 303
    with web.sessions.begin() as session:
        [row] = corrections.list_corrections(session)
        assert (row.case_id, row.label, row.topics, row.touchpoint) == (
            case_id,
            "negative",
            ["billing", "delivery"],
            "support",
        )
        mention = session.scalars(select(Mention).join(Case).where(Case.id == case_id)).one()
        support = session.scalars(select(Touchpoint.id).where(Touchpoint.name == "support")).one()
        assert mention.touchpoint_id == support
    export = agent.get("/export/corrections.jsonl")
    assert export.status_code == 200
    [line] = [json.loads(text) for text in export.text.splitlines()]
    assert line["label"] == "negative" and line["text"].startswith("Delivery was okay")
    # A bad value is refused with a message, not stored.
    bad = agent.post(
        f"/cases/{case_id}/actions", data={"action": "correct", "touchpoint": "nowhere", "csrf_token": token}
    )
    assert bad.status_code == 400 and "unknown touchpoint" in bad.text


def test_hostile_text_is_rendered_inert(web: Web) -> None:
    agent = web.login("agent")
    html = agent.get(f"/cases/{web.seeded.hostile_case}").text + agent.get("/queue?topic=app_bugs").text
    assert "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title" in html
    assert "&amp;lt;b&amp;gt;not bold" in html  # entities shown as typed, not decoded into markup
    assert f'href="{HOSTILE_URL}"' not in html and 'href="javascript:' not in html
    assert '<bdi dir="auto">' in html  # the RTL override cannot escape its element


def test_login_never_redirects_off_site(web: Web) -> None:
    client = web.client()
    token = csrf_of(client, "/login")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={
                "username": "agent",
                "password": "correct horse battery",
                "next": target,
                "csrf_token": token,
            },
        )
        assert response.headers["location"] == "/queue"
        client.post("/logout", data={"csrf_token": csrf_of(client, "/queue")})
        token = csrf_of(client, "/login")


def test_admin_adds_users_and_changes_roles(web: Web) -> None:
    admin = web.login("admin")
    token = csrf_of(admin, "/admin/users")
    response = admin.post(
        "/admin/users",
        data={"username": "ana", "password": "long enough pw", "role": "agent", "csrf_token": token},
    )
    assert response.status_code == 303
    ana = web.login("ana", "long enough pw")
    assert ana.get("/queue").status_code == 200
    admin.post(f"/admin/users/{web.seeded.agent_id}/role", data={"role": "viewer", "csrf_token": token})
    demoted = web.login("agent")
    page_token = csrf_of(demoted, "/queue")
    refused = demoted.post(
        f"/cases/{web.seeded.delivery_case}/actions", data={"action": "acknowledge", "csrf_token": page_token}
    )
    assert refused.status_code == 403


def test_the_only_admin_cannot_be_demoted_until_there_is_another(web: Web) -> None:
    admin = web.login("admin")
    token = csrf_of(admin, "/admin/users")
    own_role = f"/admin/users/{web.seeded.admin_id}/role"

    refused = admin.post(own_role, data={"role": "viewer", "csrf_token": token})
    assert refused.status_code == 400
    assert "That is the only admin: make another account admin first." in refused.text
    assert admin.get("/admin/users").status_code == 200  # still admin, still logged in

    promoted = admin.post(
        f"/admin/users/{web.seeded.agent_id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert promoted.status_code == 303
    assert admin.post(own_role, data={"role": "agent", "csrf_token": token}).status_code == 303
    with web.sessions() as session:
        roles = {row.username: row.role.value for row in users.list_users(session)}
    assert roles["admin"] == "agent" and roles["agent"] == "admin"


def test_dashboard_renders_charts_inline(web: Web) -> None:
    viewer = web.login("viewer")
    html = viewer.get("/dashboard").text
    assert html.count('<svg class="chart"') >= 3  # two touchpoints + open cases by age
    assert "delivery" in html and "support" in html and "forum" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing loaded from elsewhere


def test_logout_ends_the_session(web: Web) -> None:
    agent = web.login("agent")
    agent.post("/logout", data={"csrf_token": csrf_of(agent, "/queue")})
    assert agent.get("/queue").status_code == 303
