"""Helpers of the incident and budget integration tests (fixtures: conftest.py `alert_*`)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage.enums import MentionStatus
from storage.models import Mention, Source, Touchpoint
from vocwatch.stages.alerting import AlertRules, MentionFacts, alert_mention
from vocwatch.testing.fakeslack import FakeSlackServer

_ids = itertools.count(1)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Crash(BaseException):
    """Stands for the process dying: a BaseException, so no `except Exception` in the code catches it."""


def crash_after(calls: int, clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """A clock that kills the 'process' on its `calls`-th reading (after the post, before recording it)."""
    seen = 0

    def read() -> datetime:
        nonlocal seen
        seen += 1
        if seen >= calls:
            raise Crash
        return clock()

    return read


def add_mention(
    session: Session,
    *,
    text: str,
    url: str | None = None,
    touchpoint: bool = False,
    author: str | None = "someone",
    followers: int | None = None,
) -> Mention:
    n = next(_ids)
    source = session.query(Source).filter_by(name="forum").one()
    tp = session.query(Touchpoint).filter_by(name="delivery").one() if touchpoint else None
    mention = Mention(
        source_id=source.id,
        external_id=f"m{n}",
        url=url or f"https://forum.example/t/{n}",
        author=author,
        text=text,
        collected_at=datetime.now(UTC),
        content_hash=hashlib.sha256(f"{n}{text}".encode()).hexdigest(),
        touchpoint_id=tp.id if tp else None,
        author_followers=followers,
        status=MentionStatus.ANALYZED,
    )
    session.add(mention)
    session.flush()
    return mention


def alert(
    sessions: sessionmaker[Session],
    clock: Clock,
    rules: AlertRules,
    *,
    text: str,
    topics: tuple[str, ...] = (),
    p_negative: float = 0.9,
    mention_id: int | None = None,
    **mention_kwargs: Any,
) -> int:
    """Run the alert path for one (new or existing) mention in its own transaction; returns its id."""
    with sessions.begin() as session:
        if mention_id is None:
            mention = add_mention(session, text=text, **mention_kwargs)
        else:
            found = session.get(Mention, mention_id)
            assert found is not None
            mention = found
        facts = MentionFacts(label="negative", p_negative=p_negative, confidence=p_negative, topics=topics)
        alert_mention(session, mention, facts, rules, quote=mention.text, now=clock())
        return mention.id


def top_level(fake_slack: FakeSlackServer) -> list[dict[str, Any]]:
    return [r.args for r in fake_slack.calls("chat.postMessage") if not r.args.get("thread_ts")]


def replies(fake_slack: FakeSlackServer) -> list[dict[str, Any]]:
    return [r.args for r in fake_slack.calls("chat.postMessage") if r.args.get("thread_ts")]
