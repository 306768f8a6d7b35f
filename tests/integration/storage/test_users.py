"""Account roles: there is always an admin, even when two admins demote each other at the same moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import users
from storage.enums import UserRole
from storage.errors import LastAdminError
from tests.support.storage_rows import T0


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    yield storage.make_session_factory(engine)
    engine.dispose()


def add_admins(sessions: sessionmaker[Session], *names: str) -> list[int]:
    with sessions.begin() as session:
        rows = [
            users.create_user(session, username=name, password_hash="x", role=UserRole.ADMIN, now=T0)
            for name in names
        ]
    return [row.id for row in rows]


def test_the_only_admin_is_not_demoted_and_keeps_its_sessions(sessions: sessionmaker[Session]) -> None:
    (only,) = add_admins(sessions, "root")
    with pytest.raises(LastAdminError, match="root is the only admin"), sessions.begin() as session:
        users.set_role(session, only, UserRole.VIEWER)
    with sessions() as session:
        row = users.get_user(session, only)
    assert row is not None and row.role is UserRole.ADMIN


def test_two_admins_demoting_each_other_at_once_leave_one_admin(sessions: sessionmaker[Session]) -> None:
    first, second = add_admins(sessions, "ana", "ben")
    first_demoted, second_tried = threading.Event(), threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def demote_first() -> None:  # holds its transaction open until the second demotion has started
        try:
            with sessions.begin() as session:
                users.set_role(session, first, UserRole.AGENT)
                first_demoted.set()
                second_tried.wait(timeout=10)
                time.sleep(0.3)  # bounded: lets the second transaction reach the lock it must wait for
            outcomes["first"] = None
        except BaseException as error:  # reported by the test's thread
            outcomes["first"] = error

    def demote_second() -> None:
        first_demoted.wait(timeout=10)
        second_tried.set()  # it now waits for the first transaction's lock, then sees one admin left
        try:
            with sessions.begin() as session:
                users.set_role(session, second, UserRole.AGENT)
            outcomes["second"] = None
        except BaseException as error:
            outcomes["second"] = error

    threads = [threading.Thread(target=demote_first), threading.Thread(target=demote_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes["first"] is None
    assert isinstance(outcomes["second"], LastAdminError)
    with sessions() as session:
        roles = {row.username: row.role for row in users.list_users(session)}
    assert roles == {"ana": UserRole.AGENT, "ben": UserRole.ADMIN}
