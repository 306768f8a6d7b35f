"""Exactly once, or say why not: the dispatcher and the Slack token's scopes, against the fake Slack.

Reconciling an alert whose delivery a crash interrupted means reading Slack back (history, threads), which
needs scopes a post does not. The dispatcher checks them (`auth.test`, `x-oauth-scopes`) before it claims
anything; a lookup Slack refuses (`missing_scope`) never counts as "not posted"; and with reconciliation
off, an unknown outcome becomes `ambiguous` with a review case instead of a second post.
"""

from __future__ import annotations

from collections import Counter

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.dispatcher import Dispatcher
from notifier.errors import MissingScopesError
from storage.enums import AlertAction, AlertStatus, CaseEventKind, CaseStatus
from storage.models import Alert, Case, CaseEvent
from tests.support.alerting import Clock, Crash, alert, crash_after
from vocwatch.stages import dispatch_alerts
from vocwatch.stages.alerting import AlertRules
from vocwatch.testing.fakeslack import DEFAULT_SCOPES, FakeSlackServer

RULES = AlertRules(0.7, "#cx-alerts", review_base_url="https://vocwatch.example")
READ_SCOPES = {"channels:history", "groups:history", "channels:read", "groups:read"}


def alerts(sessions: sessionmaker[Session]) -> list[Alert]:
    with sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def case_of(sessions: sessionmaker[Session], mention_id: int) -> tuple[Case, list[CaseEvent]]:
    with sessions() as session:
        case = session.scalars(select(Case).where(Case.mention_id == mention_id)).one()
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
        return case, events


def posts_per_alert(fake_slack: FakeSlackServer) -> Counter[str]:
    """How many messages Slack holds per alert dedup key (top level and thread replies alike)."""
    return Counter(
        str((m.metadata or {}).get("event_payload", {}).get("dedup_key")) for m in fake_slack.messages()
    )


# -- the fake speaks Slack's scope protocol ---------------------------------------------------------------


def test_the_fake_names_granted_scopes_and_refuses_a_call_without_its_scope(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    assert set(slack_client.auth_test().headers["x-oauth-scopes"].split(",")) == DEFAULT_SCOPES

    fake_slack.scopes = {"chat:write", "files:write"}
    with pytest.raises(SlackApiError) as refused:
        slack_client.conversations_history(channel=channel_id)

    assert refused.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:history",
        "provided": "chat:write,files:write",
    }
    assert refused.value.response.headers["x-accepted-oauth-scopes"] == "channels:history"
    assert slack_client.chat_postMessage(channel=channel_id, text="still allowed")["ok"] is True


# -- the scope check before dispatching -----------------------------------------------------------------


def test_without_the_history_scopes_nothing_is_claimed_or_posted(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    fake_slack.scopes = {"chat:write", "files:write"}
    alert(alert_sessions, alert_clock, RULES, text="my parcel never came")
    dispatcher = Dispatcher(slack_client, alert_sessions, clock=alert_clock)

    with pytest.raises(MissingScopesError) as refused:
        dispatch_alerts(dispatcher)

    assert refused.value.missing == ("channels:history", "groups:history", "channels:read", "groups:read")
    assert str(refused.value).splitlines() == [str(refused.value)]  # one line
    assert "channels:history, groups:history" in str(refused.value)
    assert fake_slack.calls("chat.postMessage") == []
    assert [a.status for a in alerts(alert_sessions)] == [AlertStatus.PENDING]
    with pytest.raises(MissingScopesError):
        dispatcher.dispatch_due()  # asked again each time, still refused
    assert len(fake_slack.calls("auth.test")) == 2

    fake_slack.scopes = DEFAULT_SCOPES  # granted (app reinstalled): the next run goes ahead
    assert dispatch_alerts(dispatcher).sent == 1
    assert [a.status for a in alerts(alert_sessions)] == [AlertStatus.SENT]


def test_channels_given_by_id_need_no_read_scopes(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    fake_slack.scopes = {"chat:write", "channels:history", "groups:history"}
    alert(alert_sessions, alert_clock, AlertRules(0.7, channel_id), text="my parcel never came")
    required = ("chat:write", "channels:history", "groups:history")  # what wiring computes for an ID

    dispatcher = Dispatcher(slack_client, alert_sessions, clock=alert_clock, required_scopes=required)

    assert dispatch_alerts(dispatcher).sent == 1


# -- reconciliation switched off: ambiguous, a review case, never a second post -------------------------


def test_reconcile_off_an_alert_left_sending_by_a_crash_becomes_ambiguous_with_a_case(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    fake_slack.scopes = {"chat:write"}  # no history scope: reconciliation is off
    mention_id = alert(alert_sessions, alert_clock, RULES, text="my parcel never came")
    dying = Dispatcher(slack_client, alert_sessions, clock=crash_after(2, alert_clock), reconcile=False)
    with pytest.raises(Crash):
        dying.dispatch_due()  # claimed and posted, then died before recording the ts
    [left] = alerts(alert_sessions)
    assert left.status == AlertStatus.SENDING
    assert len(fake_slack.messages()) == 1

    alert_clock.advance(minutes=5)
    restarted = Dispatcher(slack_client, alert_sessions, clock=alert_clock, reconcile=False)
    totals = dispatch_alerts(restarted)

    assert (totals.ambiguous, totals.sent) == (1, 0)
    [settled] = alerts(alert_sessions)
    assert settled.status == AlertStatus.AMBIGUOUS
    assert settled.last_error is not None and "reconciliation is off" in settled.last_error
    assert fake_slack.calls("conversations.history") == [] and fake_slack.calls("conversations.list") == []
    case, events = case_of(alert_sessions, mention_id)
    assert case.status == CaseStatus.OPEN
    note = events[-1]
    assert (note.kind, note.user_id) == (CaseEventKind.NOTE, None)
    assert "#cx-alerts" in note.detail["note"] and "not sent again" in note.detail["note"]

    alert_clock.advance(minutes=5)
    assert dispatch_alerts(restarted) == type(totals)()  # nothing left to do: it is never re-sent
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert posts_per_alert(fake_slack) == Counter({settled.dedup_key: 1})


def test_reconcile_off_a_connection_lost_after_sending_is_ambiguous_at_once(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    fake_slack.scopes = {"chat:write"}
    mention_id = alert(alert_sessions, alert_clock, RULES, text="my parcel never came")
    fake_slack.disconnect_next("chat.postMessage")
    dispatcher = Dispatcher(slack_client, alert_sessions, clock=alert_clock, reconcile=False)

    assert dispatcher.dispatch_due().ambiguous == 1

    [settled] = alerts(alert_sessions)
    assert settled.status == AlertStatus.AMBIGUOUS
    _, events = case_of(alert_sessions, mention_id)
    assert events[-1].kind == CaseEventKind.NOTE
    alert_clock.advance(minutes=10)
    dispatch_alerts(dispatcher)
    assert [r.status for r in fake_slack.calls("chat.postMessage")] == [0]  # the one lost attempt only


def test_reconcile_off_reopens_a_closed_case(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    mention_id = alert(alert_sessions, alert_clock, RULES, text="my parcel never came")
    with alert_sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.mention_id == mention_id)).one()
        case.status, case.resolution = CaseStatus.RESOLVED, "answered"
    fake_slack.disconnect_next("chat.postMessage")

    Dispatcher(slack_client, alert_sessions, clock=alert_clock, reconcile=False).dispatch_due()

    case, events = case_of(alert_sessions, mention_id)
    assert (case.status, case.resolution) == (CaseStatus.OPEN, None)
    assert [e.kind for e in events][-2:] == [CaseEventKind.REOPEN, CaseEventKind.NOTE]


# -- history refused mid-run: never a duplicate ---------------------------------------------------------


def test_history_unreadable_for_a_missing_scope_is_ambiguous_not_reposted(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
) -> None:
    alert(alert_sessions, alert_clock, RULES, text="my parcel never came")
    dying = Dispatcher(slack_client, alert_sessions, clock=crash_after(2, alert_clock))
    with pytest.raises(Crash):
        dying.dispatch_due()
    alert_clock.advance(minutes=5)
    fake_slack.fail_next(
        "conversations.history", "missing_scope", needed="channels:history", provided="chat:write"
    )

    totals = dispatch_alerts(Dispatcher(slack_client, alert_sessions, clock=alert_clock))

    assert (totals.ambiguous, totals.sent) == (1, 0)
    assert [a.status for a in alerts(alert_sessions)] == [AlertStatus.AMBIGUOUS]
    assert len(fake_slack.calls("chat.postMessage")) == 1


def _reply_left_sending(
    sessions: sessionmaker[Session], clock: Clock, dispatcher: Dispatcher, fake_slack: FakeSlackServer
) -> Alert:
    """An incident whose thread reply Slack stored, but the process died before recording it (the issue's
    SIGKILL): the reply alert is left `sending` with no ts, while its message is in the thread."""
    for n in range(2):
        clock.advance(minutes=1)
        alert(
            sessions,
            clock,
            RULES,
            text=f"parcel {n} never arrived, courier says delivered",
            topics=("delivery",),
        )
        dispatch_alerts(dispatcher)
    with sessions.begin() as session:
        [reply] = session.scalars(select(Alert).where(Alert.action == AlertAction.REPLY))
        reply.status, reply.slack_ts, reply.claimed_at = AlertStatus.SENDING, None, clock()
    assert [m.is_reply for m in fake_slack.messages()].count(True) == 1
    clock.advance(minutes=10)
    return reply


def test_thread_unreadable_for_a_missing_scope_is_ambiguous_not_reposted(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    """The issue: after a SIGKILL right after Slack stored a thread reply, `conversations.replies` said
    `missing_scope` and the reply was posted again. Now the refusal proves nothing, so nothing is re-sent."""
    reply = _reply_left_sending(alert_sessions, alert_clock, alert_dispatcher, fake_slack)
    posts = len(fake_slack.calls("chat.postMessage"))
    fake_slack.fail_next(
        "conversations.replies", "missing_scope", needed="channels:history", provided="chat:write"
    )

    result = alert_dispatcher.reconcile_sending()

    assert (result.ambiguous, result.requeued, result.confirmed) == (1, 0, 0)
    with alert_sessions() as session:
        settled = session.get(Alert, reply.id)
        assert settled is not None and settled.status == AlertStatus.AMBIGUOUS
        assert (
            settled.last_error is not None and "missing_scope (needs channels:history)" in settled.last_error
        )
        mention_id = settled.mention_id
    assert mention_id is not None
    _, events = case_of(alert_sessions, mention_id)
    assert events[-1].kind == CaseEventKind.NOTE
    # auth.test still lists the scope (a one-off refusal): dispatching goes on, and the reply stays single.
    alert_clock.advance(minutes=1)
    dispatch_alerts(alert_dispatcher)
    assert len(fake_slack.calls("chat.postMessage")) == posts
    assert max(posts_per_alert(fake_slack).values()) == 1


def test_a_scope_revoked_mid_run_stops_dispatch_and_never_duplicates(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    reply = _reply_left_sending(alert_sessions, alert_clock, alert_dispatcher, fake_slack)
    fake_slack.scopes = DEFAULT_SCOPES - {"channels:history"}  # revoked while the daemon runs
    alert(alert_sessions, alert_clock, RULES, text="the app crashes at checkout")  # a new alert queued
    posts = len(fake_slack.calls("chat.postMessage"))

    assert alert_dispatcher.reconcile_sending().ambiguous == 1  # the fake's own check refused the read
    with pytest.raises(MissingScopesError, match="channels:history"):
        alert_dispatcher.dispatch_due()  # the refusal made it ask auth.test again: dispatch stops

    assert len(fake_slack.calls("chat.postMessage")) == posts
    statuses = {a.id: a.status for a in alerts(alert_sessions)}
    assert statuses[reply.id] == AlertStatus.AMBIGUOUS
    assert sorted(statuses.values()).count(AlertStatus.PENDING) == 1  # the new alert waits in the outbox

    fake_slack.scopes = DEFAULT_SCOPES
    dispatch_alerts(alert_dispatcher)
    assert len(fake_slack.calls("chat.postMessage")) == posts + 1  # only the new alert
    assert max(posts_per_alert(fake_slack).values()) == 1
    assert {a.id: a.status for a in alerts(alert_sessions)}[reply.id] == AlertStatus.AMBIGUOUS
