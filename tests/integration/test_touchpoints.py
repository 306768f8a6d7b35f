"""Where a mention sits in the journey: topic rules over source defaults, corrections over both, retouch.

The real crawl -> analyze path is in test_pipeline.py (real model); these tests pin the precedence rules on
stored rows, on SQLite and PostgreSQL, through `vocwatch analyze --retouch`'s stage.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import cases, catalog, mentions, users
from storage.enums import CaseEventKind, JourneyStage, MentionStatus, Severity, TouchpointOrigin, UserRole
from storage.models import Mention, MentionTopic
from tests.support.storage_rows import T0, make_source, new_mention
from vocwatch import stages


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        catalog.sync_touchpoints(
            session,
            [
                ("forum", JourneyStage.USE, ""),
                ("delivery", JourneyStage.RECEIVE, ""),
                ("renewal", JourneyStage.RENEW, ""),
                ("onboarding", JourneyStage.ONBOARD, ""),
            ],
        )
        catalog.sync_topics(
            session, [("delivery", "", "delivery"), ("billing", "", "renewal"), ("praise", "", None)]
        )
    yield factory
    engine.dispose()


def add_mention(
    session: Session,
    key: str,
    topics: dict[str, float],
    *,
    status: MentionStatus = MentionStatus.ANALYZED,
    origin: TouchpointOrigin = TouchpointOrigin.DEFAULT,
    touchpoint: str = "forum",
) -> int:
    """A stored mention (source default "forum") with stored topic scores, as analysis leaves it."""
    source_id = make_source(session, "brand-forum", touchpoint="forum")
    (mention_id,) = mentions.insert_new_mentions(
        session,
        [
            new_mention(
                source_id,
                key,
                touchpoint_id=catalog.get_touchpoint_id(session, touchpoint),
                touchpoint_origin=origin,
            )
        ],
    ).new_ids
    rules = catalog.topic_rules(session)
    for name, score in topics.items():
        session.add(MentionTopic(mention_id=mention_id, topic_id=rules[name].topic_id, score=score))
    session.get_one(Mention, mention_id).status = status
    return mention_id


def placement(factory: sessionmaker[Session], mention_id: int) -> tuple[str | None, TouchpointOrigin]:
    with factory.begin() as session:
        mention = session.get_one(Mention, mention_id)
        return (mention.touchpoint.name if mention.touchpoint else None), mention.touchpoint_origin


def test_retouch_moves_defaults_to_the_strongest_ruled_topic_and_nothing_else(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        billing = add_mention(session, "a", {"delivery": 0.6, "billing": 0.9, "praise": 0.95})
        unruled = add_mention(session, "b", {"praise": 0.8})
        waiting = add_mention(session, "c", {"delivery": 0.9}, status=MentionStatus.NEW)
        assigned = add_mention(
            session, "d", {"delivery": 0.9}, origin=TouchpointOrigin.ASSIGNED, touchpoint="onboarding"
        )

    # a and b are read (one per batch), c waits for analysis, d named its touchpoint; only a moves
    assert stages.retouch(sessions, batch_size=1) == (2, 1)

    assert placement(sessions, billing) == ("renewal", TouchpointOrigin.TOPIC)  # praise has no rule
    assert placement(sessions, unruled) == ("forum", TouchpointOrigin.DEFAULT)
    assert placement(sessions, waiting) == ("forum", TouchpointOrigin.DEFAULT)  # analysis will place it
    assert placement(sessions, assigned) == ("onboarding", TouchpointOrigin.ASSIGNED)
    assert stages.retouch(sessions)[1] == 0  # a second run changes nothing


def test_a_cx_correction_wins_over_the_topic_rules(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        mention_id = add_mention(session, "a", {"delivery": 0.9})
        case_id = cases.open_case(
            session, mention_id=mention_id, reason="negative", severity=Severity.WARNING, now=T0
        )
        agent = users.create_user(session, username="ana", password_hash="x", role=UserRole.AGENT, now=T0)
        assert case_id is not None
        cases.apply_action(
            session,
            case_id,
            cases.CaseAction(kind=CaseEventKind.CORRECT, touchpoint="renewal"),
            user_id=agent.id,
            now=T0,
        )

    stages.retouch(sessions)

    assert placement(sessions, mention_id) == ("renewal", TouchpointOrigin.CORRECTION)


def test_a_topic_placement_returns_to_the_source_default_when_its_rule_goes(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        mention_id = add_mention(session, "a", {"delivery": 0.9})
    stages.retouch(sessions)
    assert placement(sessions, mention_id) == ("delivery", TouchpointOrigin.TOPIC)

    with sessions.begin() as session:  # the operator drops the delivery -> delivery rule
        catalog.sync_topics(session, [("delivery", "", None)])
    assert stages.retouch(sessions) == (1, 1)

    assert placement(sessions, mention_id) == ("forum", TouchpointOrigin.DEFAULT)
