"""Review-queue rows for the web tests, written through the storage functions the pipeline uses.

`seed_queue` builds a small, known world: two touchpoints, three topics, two sources, five flagged
mentions (one hostile: script tags, a javascript: URL, entities and an RTL override), one of them already
posted to Slack (so case actions are echoed into its thread), plus three accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import alerts, cases, catalog, sources, users
from storage.enums import AlertKind, JourneyStage, SentimentLabel, UserRole
from storage.mentions import NewMention
from storage.models import Analysis, Mention, MentionTopic, Topic
from vocwatch.web.passwords import hash_password

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "correct horse battery"
HOSTILE_TEXT = (
    '<script>document.title="pwned"</script><img src=x onerror=alert(1)> &lt;b&gt;not bold&lt;/b&gt; '
    "click javascript:alert(2) \u202egnp.exe"
)
HOSTILE_URL = "javascript:alert(3)"
SLACK_CHANNEL = "#cx-alerts"
SLACK_CHANNEL_ID = "C0ALERTS"
SLACK_TS = "1700000000.000100"


@dataclass(frozen=True)
class Seeded:
    """Ids of what `seed_queue` wrote, by role in the tests."""

    delivery_case: int  # critical, delivery, posted to Slack
    billing_case: int  # warning, support touchpoint, zh
    hostile_case: int
    resolved_case: int
    info_case: int
    admin_id: int
    agent_id: int
    viewer_id: int


def _mention(
    session: Session,
    source_id: int,
    external_id: str,
    text: str,
    *,
    touchpoint_id: int,
    lang: str,
    label: SentimentLabel,
    confidence: float,
    topics: list[str],
    age: timedelta,
    url: str | None = None,
) -> int:
    storage.mentions.insert_new_mentions(
        session,
        [
            NewMention(
                source_id=source_id,
                external_id=external_id,
                url=url or f"https://example.com/posts/{external_id}",
                text=text,
                collected_at=NOW - age,
                published_at=NOW - age,
                author="someone",
                author_followers=1200,
                lang=lang,
                touchpoint_id=touchpoint_id,
            )
        ],
    )
    mention = session.query(Mention).filter_by(source_id=source_id, external_id=external_id).one()
    p_neg = confidence if label == SentimentLabel.NEGATIVE else (1 - confidence) / 2
    session.add(
        Analysis(
            mention_id=mention.id,
            model_version="test-model",
            label=label,
            p_negative=p_neg,
            p_neutral=(1 - p_neg) / 2,
            p_positive=(1 - p_neg) / 2,
            confidence=confidence,
            lang=lang,
            churn_risk=0.2,
            created_at=NOW - age,
        )
    )
    for name in topics:
        topic_id = session.query(Topic.id).filter_by(name=name).scalar()
        session.add(
            MentionTopic(mention_id=mention.id, topic_id=topic_id, score=0.8, label=SentimentLabel.NEGATIVE)
        )
    return mention.id


def seed_queue(sessions: sessionmaker[Session]) -> Seeded:
    with sessions.begin() as session:
        catalog.sync_touchpoints(
            session,
            [("delivery", JourneyStage.RECEIVE, "Shipping"), ("support", JourneyStage.GET_HELP, "Help desk")],
        )
        catalog.sync_topics(
            session,
            [
                ("delivery", "late parcels", "delivery"),
                ("billing", "charges", None),
                ("app_bugs", "crashes", None),
            ],
        )
        forum = sources.upsert_source(
            session, name="forum", kind="rss", config={}, default_touchpoint="support"
        ).id
        shop = sources.upsert_source(
            session, name="shop_zh", kind="rss", config={}, default_touchpoint="delivery"
        ).id
        delivery_tp = catalog.get_touchpoint_id(session, "delivery")
        support_tp = catalog.get_touchpoint_id(session, "support")
        assert delivery_tp is not None and support_tp is not None

        def flag(mention_id: int, severity: str, age: timedelta) -> int:
            case_id = cases.open_case(
                session, mention_id=mention_id, reason="negative", severity=severity, now=NOW - age
            )
            assert case_id is not None
            return case_id

        late = _mention(
            session,
            shop,
            "m-late",
            "Parcel arrived two weeks late and broken. See https://example.com/photo.",
            touchpoint_id=delivery_tp,
            lang="en",
            label=SentimentLabel.NEGATIVE,
            confidence=0.93,
            topics=["delivery"],
            age=timedelta(hours=30),
        )
        billing = _mention(
            session,
            forum,
            "m-billing",
            "扣费两次，客服不回复。",
            touchpoint_id=support_tp,
            lang="zh",
            label=SentimentLabel.NEGATIVE,
            confidence=0.81,
            topics=["billing"],
            age=timedelta(hours=5),
        )
        hostile = _mention(
            session,
            forum,
            "m-hostile",
            HOSTILE_TEXT,
            touchpoint_id=support_tp,
            lang="en",
            label=SentimentLabel.NEGATIVE,
            confidence=0.66,
            topics=["app_bugs"],
            age=timedelta(hours=2),
            url=HOSTILE_URL,
        )
        old = _mention(
            session,
            forum,
            "m-old",
            "The app crashed again on login.",
            touchpoint_id=support_tp,
            lang="en",
            label=SentimentLabel.NEGATIVE,
            confidence=0.88,
            topics=["app_bugs"],
            age=timedelta(days=9),
        )
        meh = _mention(
            session,
            shop,
            "m-meh",
            "Delivery was okay I guess, box a bit dented.",
            touchpoint_id=delivery_tp,
            lang="en",
            label=SentimentLabel.NEUTRAL,
            confidence=0.52,
            topics=["delivery"],
            age=timedelta(hours=1),
        )
        delivery_case = flag(late, "critical", timedelta(hours=30))
        billing_case = flag(billing, "warning", timedelta(hours=5))
        hostile_case = flag(hostile, "warning", timedelta(hours=2))
        resolved_case = flag(old, "critical", timedelta(days=9))
        info_case = flag(meh, "info", timedelta(hours=1))
        # The delivery mention was alerted and delivered: case actions become replies in its thread.
        alert_id = alerts.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key="mention:m-late",
            channel=SLACK_CHANNEL,
            text="Negative mention",
            blocks=[],
            mention_id=late,
            now=NOW - timedelta(hours=30),
        )
        assert alert_id is not None
        row = session.get(storage.models.Alert, alert_id)
        assert row is not None
        alerts.mark_sent(row, ts=SLACK_TS, channel_id=SLACK_CHANNEL_ID, now=NOW - timedelta(hours=30))
        accounts = {
            role: users.create_user(
                session, username=role.value, password_hash=hash_password(PASSWORD), role=role, now=NOW
            ).id
            for role in UserRole
        }
        cases.apply_action(
            session,
            resolved_case,
            cases.CaseAction("resolve", reason="fixed"),
            user_id=accounts[UserRole.AGENT],
            now=NOW - timedelta(days=8),
        )
    return Seeded(
        delivery_case=delivery_case,
        billing_case=billing_case,
        hostile_case=hostile_case,
        resolved_case=resolved_case,
        info_case=info_case,
        admin_id=accounts[UserRole.ADMIN],
        agent_id=accounts[UserRole.AGENT],
        viewer_id=accounts[UserRole.VIEWER],
    )
