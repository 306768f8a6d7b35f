from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage import make_engine, make_session_factory, mentions
from storage.enums import MentionStatus
from storage.models import Mention
from tests.support.storage_rows import make_source, new_mention


def test_rerun_inserts_only_the_new_item(db_session: Session) -> None:
    source_id = make_source(db_session)
    first = mentions.insert_new_mentions(db_session, [new_mention(source_id, i) for i in ("a", "b", "c")])
    rerun = mentions.insert_new_mentions(
        db_session, [new_mention(source_id, i) for i in ("a", "b", "c", "d")]
    )

    assert len(first.new_ids) == 3
    assert first.duplicates == 0
    assert len(rerun.new_ids) == 1
    assert rerun.duplicates == 3
    stored = db_session.scalars(select(Mention.external_id).order_by(Mention.id)).all()
    assert stored == ["a", "b", "c", "d"]
    assert rerun.new_ids == [db_session.scalar(select(Mention.id).where(Mention.external_id == "d"))]


def test_same_external_id_in_other_source_is_a_new_mention(db_session: Session) -> None:
    news, forum = make_source(db_session, "news"), make_source(db_session, "forum")
    result = mentions.insert_new_mentions(db_session, [new_mention(news, "1"), new_mention(forum, "1")])
    assert len(result.new_ids) == 2


def test_repeated_item_within_one_batch_counts_as_duplicate(db_session: Session) -> None:
    source_id = make_source(db_session)
    result = mentions.insert_new_mentions(
        db_session, [new_mention(source_id, "a"), new_mention(source_id, "a")]
    )
    assert (len(result.new_ids), result.duplicates) == (1, 1)


def test_copy_of_stored_text_points_at_the_first_mention(db_session: Session) -> None:
    news, forum = make_source(db_session, "news"), make_source(db_session, "forum")
    (original_id,) = mentions.insert_new_mentions(
        db_session, [new_mention(news, "n1", "Delivery took three weeks!")]
    ).new_ids
    result = mentions.insert_new_mentions(
        db_session,
        [
            new_mention(forum, "f1", "delivery took  three weeks!"),
            new_mention(forum, "f2", "Something else entirely"),
        ],
    )

    assert result.copies == 1
    copy = db_session.get_one(Mention, result.new_ids[0])
    assert copy.duplicate_of_id == original_id
    assert copy.content_hash == db_session.get_one(Mention, original_id).content_hash
    assert db_session.get_one(Mention, result.new_ids[1]).duplicate_of_id is None


def test_copy_within_one_batch_points_at_the_earlier_item(db_session: Session) -> None:
    source_id = make_source(db_session)
    first_id, second_id = mentions.insert_new_mentions(
        db_session, [new_mention(source_id, "a", "Same words"), new_mention(source_id, "b", "same words")]
    ).new_ids
    assert db_session.get_one(Mention, second_id).duplicate_of_id == first_id
    assert db_session.get_one(Mention, first_id).duplicate_of_id is None


def test_empty_texts_are_not_linked_as_copies(db_session: Session) -> None:
    source_id = make_source(db_session)
    result = mentions.insert_new_mentions(
        db_session, [new_mention(source_id, "a", ""), new_mention(source_id, "b", "  ")]
    )
    assert result.copies == 0
    assert db_session.scalars(select(Mention.duplicate_of_id)).all() == [None, None]


def test_all_fields_are_stored(db_session: Session) -> None:
    source_id = make_source(db_session, touchpoint="delivery")
    item = new_mention(
        source_id,
        "x",
        "Late again",
        raw="<item>Late again</item>",
        title="Late",
        author="ann",
        lang="en",
        rating=0.2,
        author_followers=1200,
        score=7,
        replies=3,
        reposts=1,
        likes=9,
    )
    (mention_id,) = mentions.insert_new_mentions(db_session, [item]).new_ids
    row = db_session.get_one(Mention, mention_id)
    assert (row.raw, row.title, row.author, row.lang, row.rating) == (item.raw, "Late", "ann", "en", 0.2)
    assert (row.author_followers, row.score, row.replies, row.reposts, row.likes) == (1200, 7, 3, 1, 9)
    assert row.collected_at == item.collected_at
    assert row.status is MentionStatus.NEW
    assert row.source.name == "brand-news"


def test_known_external_ids_are_those_of_the_source(db_session: Session) -> None:
    news, forum = make_source(db_session, "news"), make_source(db_session, "forum")
    mentions.insert_new_mentions(
        db_session, [new_mention(news, "1"), new_mention(news, "2"), new_mention(forum, "3")]
    )
    assert mentions.known_external_ids(db_session, news, ["1", "3", "9"]) == {"1"}
    assert mentions.known_external_ids(db_session, news, []) == set()


def test_known_external_ids_handles_long_lists(db_session: Session) -> None:
    source_id = make_source(db_session)
    mentions.insert_new_mentions(db_session, [new_mention(source_id, str(i)) for i in range(0, 1200, 100)])
    asked = [str(i) for i in range(1200)]
    assert mentions.known_external_ids(db_session, source_id, asked) == {str(i) for i in range(0, 1200, 100)}


def test_list_new_takes_the_oldest_new_unleased_mentions_in_arrival_order(db_session: Session) -> None:
    source_id = make_source(db_session)
    ids = mentions.insert_new_mentions(db_session, [new_mention(source_id, str(i)) for i in range(6)]).new_ids
    now = datetime.now(UTC)
    db_session.get_one(Mention, ids[1]).status = MentionStatus.ANALYZED
    db_session.get_one(Mention, ids[2]).lease_expires_at = now + timedelta(minutes=1)  # a worker has it
    db_session.get_one(Mention, ids[3]).lease_expires_at = now - timedelta(minutes=1)  # its worker died
    db_session.flush()

    listed = mentions.list_new(db_session, limit=3, now=now)

    assert [m.id for m in listed] == [ids[0], ids[3], ids[4]]


def test_lock_new_leaves_out_mentions_analyzed_meanwhile(db_session: Session) -> None:
    source_id = make_source(db_session)
    ids = mentions.insert_new_mentions(db_session, [new_mention(source_id, str(i)) for i in range(3)]).new_ids
    db_session.get_one(Mention, ids[1]).status = MentionStatus.ANALYZED
    db_session.flush()

    assert [m.id for m in mentions.lock_new(db_session, mention_ids=ids)] == [ids[0], ids[2]]


def test_a_second_worker_skips_mentions_claimed_by_the_first(migrated_postgres_url: str) -> None:
    engine = make_engine(migrated_postgres_url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            source_id = make_source(session)
            ids = mentions.insert_new_mentions(
                session, [new_mention(source_id, str(i)) for i in range(5)]
            ).new_ids

        now, lease = datetime.now(UTC), timedelta(minutes=5)
        with sessions.begin() as first, sessions.begin() as second:
            first_batch = mentions.claim_with_lease(first, worker="a", limit=2, now=now, lease=lease)
            # Without SKIP LOCKED this would wait for `first` to end; the lock timeout turns that wait
            # into a failure instead of a hung test.
            second.execute(text("SET LOCAL lock_timeout = '5s'"))
            second_batch = mentions.claim_with_lease(second, worker="b", limit=10, now=now, lease=lease)

            assert [m.id for m in first_batch] == ids[:2]
            assert [m.id for m in second_batch] == ids[2:]
    finally:
        engine.dispose()
