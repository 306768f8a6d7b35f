"""Incidents end to end: the real alert path on a migrated database, the dispatcher, fake Slack over HTTP.

A burst of related negative mentions must reach Slack as ONE parent message plus thread replies, with the
parent edited in place (chat.update) as the incident grows, goes quiet and resolves.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from notifier.dispatcher import Dispatcher
from storage.enums import AlertAction, AlertStatus, IncidentStatus
from storage.models import Alert, Incident
from tests.support.alerting import Clock, alert, replies, top_level
from vocwatch.stages import dispatch_alerts
from vocwatch.stages.alerting import AlertRules, refresh_incidents, resolve_incident
from vocwatch.testing.fakeslack import FakeSlackServer

RULES = AlertRules(0.7, "#cx-alerts", review_base_url="https://vocwatch.example")
COMPLAINTS = [
    "parcel {n} never arrived, the courier says delivered",
    "waiting {n} days for my order, tracking is stuck",
    "box {n} came crushed and nobody answers",
]


def burst(sessions: sessionmaker[Session], clock: Clock, count: int) -> list[int]:
    ids = []
    for n in range(count):
        clock.advance(minutes=1)
        ids.append(alert(sessions, clock, RULES, text=COMPLAINTS[n % 3].format(n=n), topics=("delivery",)))
    return ids


def test_burst_of_30_related_mentions_is_one_parent_plus_replies_and_parent_updates(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    for _ in range(3):  # three analysis batches of 10, the dispatcher running in between
        burst(sessions, clock, 10)
        dispatch_alerts(dispatcher)

    parents = top_level(fake_slack)
    assert len(parents) == 1
    assert len(replies(fake_slack)) == 29
    parent_ts = fake_slack.messages()[0].ts
    assert {r["thread_ts"] for r in replies(fake_slack)} == {parent_ts}
    # The first batch folded its 9 later mentions into the still-pending parent post; each later batch
    # coalesced its 10 parent refreshes into one chat.update.
    updates = fake_slack.calls("chat.update")
    assert len(updates) == 2
    assert all(u.args["ts"] == parent_ts for u in updates)
    assert "10 mentions" in parents[0]["text"]
    assert parents[0]["text"].startswith("Incident (critical): delivery")
    assert "30 mentions" in updates[-1].args["text"]
    assert len(fake_slack.messages()) == 30  # 1 parent + 29 replies, nothing else

    with sessions() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.mention_count, incident.state, incident.slack_ts) == (30, "critical", parent_ts)
        rows = session.scalars(select(Alert)).all()
        assert {r.status for r in rows} == {AlertStatus.SENT}
        assert sorted(r.action for r in rows).count(AlertAction.UPDATE) == 2

    # Quiet, then resolved: each state change edits the parent once more.
    clock.advance(hours=2, minutes=1)
    with sessions.begin() as session:
        assert refresh_incidents(session, RULES, now=clock()) == 1
    dispatch_alerts(dispatcher)
    clock.advance(hours=23)
    with sessions.begin() as session:
        assert refresh_incidents(session, RULES, now=clock()) == 1
        assert refresh_incidents(session, RULES, now=clock()) == 0  # nothing changes twice
    dispatch_alerts(dispatcher)

    updates = fake_slack.calls("chat.update")
    assert [u.args["text"].split(":")[0] for u in updates[2:]] == ["Incident (quiet)", "Incident (resolved)"]
    assert fake_slack.messages()[0].text.startswith("Incident (resolved)")
    assert len(top_level(fake_slack)) == 1
    with sessions() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.status == IncidentStatus.CLOSED
        assert incident.resolved_at is not None

    # A related mention after resolution opens a new incident: a new parent.
    clock.advance(minutes=1)
    alert(sessions, clock, RULES, text="parcel late again", topics=("delivery",))
    dispatch_alerts(dispatcher)
    assert len(top_level(fake_slack)) == 2


def test_a_mention_is_never_alerted_twice(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    first, second = burst(sessions, clock, 2)
    dispatch_alerts(dispatcher)
    for mention_id in (first, second):  # re-analysis (a new model version) of both mentions
        alert(sessions, clock, RULES, text="ignored", topics=("delivery",), mention_id=mention_id)
    dispatch_alerts(dispatcher)

    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert fake_slack.calls("chat.update") == []
    with sessions() as session:
        assert session.scalars(select(Incident)).one().mention_count == 2
        assert len(session.scalars(select(Alert)).all()) == 2


def test_unrelated_mentions_open_separate_incidents(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    alert(sessions, clock, RULES, text="the courier threw my parcel over the fence", topics=("delivery",))
    alert(sessions, clock, RULES, text="charged twice for one subscription month", topics=("billing",))
    alert(
        sessions,
        clock,
        RULES,
        text="charged twice for one subscription month!!",  # a copy without a topic: near-duplicate
    )
    dispatch_alerts(dispatcher)
    assert len(top_level(fake_slack)) == 2
    assert len(replies(fake_slack)) == 1


def test_replies_wait_for_their_parent(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    fake_slack.server_error_next("chat.postMessage")  # the parent's first try fails
    burst(sessions, clock, 3)
    result = dispatcher.dispatch_due(limit=10)
    assert (result.claimed, result.sent, result.retried) == (1, 0, 1)  # the replies were not claimed
    clock.advance(minutes=5)
    dispatch_alerts(dispatcher)
    stored = fake_slack.messages()  # what Slack accepted (the failed request is recorded, not stored)
    assert [m.is_reply for m in stored] == [False, True, True]
    assert {m.thread_ts for m in stored[1:]} == {stored[0].ts}


HOSTILE = "<!channel> refund now & <@U123> <http://evil.example|click>"
SLACK_CONTROL = re.compile(r"<(?!https://)")


def test_hostile_text_in_the_new_fields_arrives_escaped(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    for n in range(2):
        alert(
            sessions,
            clock,
            RULES,
            text=f"{HOSTILE} #{n}",
            topics=(HOSTILE,),
            author=HOSTILE,
            followers=1234,
        )
    dispatch_alerts(dispatcher)

    requests = fake_slack.calls("chat.postMessage")
    assert len(requests) == 2
    for request in requests:
        texts = [request.args["text"], *_texts(request.args["blocks"])]
        for text in texts:
            assert not SLACK_CONTROL.search(text), text
        assert any("&lt;!channel&gt; refund now &amp; &lt;@U123&gt;" in t for t in texts)
    parent, reply = (r.args for r in requests)
    assert _button_urls(parent["blocks"]) == [f"https://vocwatch.example/cases/{_case_id(sessions, 1)}"]
    fields = [f["text"] for b in reply["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Author reach*\n1.2k followers" in fields
    assert any(f.startswith("*Severity*\n") for f in fields)
    assert html.unescape(next(f for f in fields if f.startswith("*Topics*"))) == f"*Topics*\n{HOSTILE}"


def _texts(blocks: list[dict[str, object]]) -> list[str]:
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"mrkdwn", "plain_text"} and isinstance(node.get("text"), str):
                out.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return out


def _button_urls(blocks: list[dict[str, object]]) -> list[str]:
    return [
        str(e["url"])
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]  # type: ignore[attr-defined]
    ]


def _case_id(sessions: sessionmaker[Session], nth: int) -> int:
    from storage.models import Case

    with sessions() as session:
        return session.scalars(select(Case.id).order_by(Case.id)).all()[nth - 1]


def test_a_reply_or_update_left_in_sending_is_reconciled_without_reposting(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    burst(sessions, clock, 2)
    dispatch_alerts(dispatcher)
    burst(sessions, clock, 1)  # a reply and a parent update
    dispatch_alerts(dispatcher)
    assert (len(fake_slack.calls("chat.postMessage")), len(fake_slack.calls("chat.update"))) == (3, 1)

    # The process died after Slack answered but before the outcome was recorded.
    with sessions.begin() as session:
        for row in session.scalars(select(Alert).where(Alert.action != AlertAction.POST)):
            row.status, row.slack_ts, row.claimed_at = AlertStatus.SENDING, None, clock()
    clock.advance(minutes=10)
    result = dispatcher.reconcile_sending()
    assert (result.confirmed, result.requeued, result.unresolved) == (2, 1, 0)  # 2 replies found; 1 update
    dispatch_alerts(dispatcher)

    assert len(fake_slack.calls("chat.postMessage")) == 3  # no reply was posted twice
    assert len(fake_slack.calls("chat.update")) == 2  # the update was simply done again
    with sessions() as session:
        assert {r.status for r in session.scalars(select(Alert))} == {AlertStatus.SENT}
        replies_ts = {
            r.slack_ts for r in session.scalars(select(Alert).where(Alert.action == AlertAction.REPLY))
        }
        assert replies_ts == {m.ts for m in fake_slack.messages() if m.is_reply}


def test_all_matches_routing_opens_one_incident_per_channel(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    from notifier.routing import RouteMode, RouteRule

    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    rules = AlertRules(
        0.7,
        "#cx-alerts",
        routes=(
            RouteRule(channels=("#logistics",), topics=("delivery",)),
            RouteRule(channels=("#cx-alerts",)),
        ),
        route_mode=RouteMode.ALL,
    )
    for n in range(3):
        clock.advance(minutes=1)
        alert(sessions, clock, rules, text=COMPLAINTS[n].format(n=n), topics=("delivery",))
    dispatch_alerts(dispatcher)
    parents = top_level(fake_slack)
    assert sorted(p["channel"] for p in parents) == ["#cx-alerts", "#logistics"]
    assert len(replies(fake_slack)) == 4
    with sessions() as session:
        by_key = {a.dedup_key: a.channel for a in session.scalars(select(Alert))}
        # The first channel keeps the mention's own key; every further channel gets a key of its own.
        assert by_key == {
            **{f"mention:{i}": "#logistics" for i in (1, 2, 3)},
            **{f"mention:{i}@#cx-alerts": "#cx-alerts" for i in (1, 2, 3)},
        }
        assert session.scalar(select(func.count(Incident.id))) == 2


def test_resolving_from_the_review_queue_updates_the_parent_once(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    burst(sessions, clock, 2)
    dispatch_alerts(dispatcher)
    with sessions.begin() as session:
        incident_id = session.scalars(select(Incident.id)).one()
        assert resolve_incident(session, incident_id, RULES, now=clock())
        assert not resolve_incident(session, incident_id, RULES, now=clock())  # a double click
    dispatch_alerts(dispatcher)
    updates = fake_slack.calls("chat.update")
    assert len(updates) == 1
    assert updates[0].args["text"].startswith("Incident (resolved): delivery · 2 mentions")
    with sessions.begin() as session:  # the quiet check leaves a closed incident alone
        clock.advance(days=2)
        assert refresh_incidents(session, RULES, now=clock()) == 0
