"""Mentions (one piece of customer voice each), the model's analyses of them, and their topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, BigId, utcnow
from storage.enums import MentionStatus, SentimentLabel, TouchpointOrigin
from storage.models.catalog import Touchpoint
from storage.models.sources import Source


class Mention(Base):
    """A review, post, comment, article or survey answer. Identity is (source_id, external_id).

    `content_hash` catches the same text posted under another identity (cross-posts): such a row keeps
    its own identity but points at the first copy through `duplicate_of_id`.
    """

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        # The analysis queue: WHERE status = 'new' ORDER BY id.
        Index("ix_mentions_status_id", "status", "id"),
        # Per-touchpoint per-day aggregates (digest, spikes) by publication or by arrival time.
        Index("ix_mentions_touchpoint_id_published_at", "touchpoint_id", "published_at"),
        Index("ix_mentions_touchpoint_id_collected_at", "touchpoint_id", "collected_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(String(1024))
    url: Mapped[str]
    author: Mapped[str | None]
    title: Mapped[str | None]
    text: Mapped[str]
    raw: Mapped[str] = mapped_column(default="")
    lang: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[float | None] = mapped_column(Float)  # normalised to 0..1
    published_at: Mapped[datetime | None]
    collected_at: Mapped[datetime]
    author_followers: Mapped[int | None]
    score: Mapped[int | None]
    replies: Mapped[int | None]
    reposts: Mapped[int | None]
    likes: Mapped[int | None]
    # The source's ids (not ours) of the item this one replies to and of its thread's root: the parent
    # may never be crawled, so these are not foreign keys.
    parent_external_id: Mapped[str | None] = mapped_column(String(1024))
    thread_external_id: Mapped[str | None] = mapped_column(String(1024))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("mentions.id"))
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
    touchpoint_origin: Mapped[TouchpointOrigin] = mapped_column(
        default=TouchpointOrigin.DEFAULT, server_default=TouchpointOrigin.DEFAULT.value
    )
    status: Mapped[MentionStatus] = mapped_column(default=MentionStatus.NEW)
    # Scale-out (`vocwatch worker analyze`): who claimed this `new` mention, and until when. A worker
    # killed mid-batch holds its mentions only until the lease expires; NULL on the embedded path.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship()
    touchpoint: Mapped[Touchpoint | None] = relationship()


class Analysis(Base):
    """The model's output for one mention: one row per model version, so a new model adds, not overwrites."""

    __tablename__ = "analyses"
    __table_args__ = (UniqueConstraint("mention_id", "model_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mentions.id"))
    model_version: Mapped[str] = mapped_column(String(200))
    label: Mapped[SentimentLabel]
    p_negative: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    p_positive: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lang: Mapped[str | None] = mapped_column(String(16))
    churn_risk: Mapped[float | None] = mapped_column(Float)
    reliable: Mapped[bool] = mapped_column(default=True, server_default=true())
    """False when the text is of a kind the model reads badly (see `flags`): reviewed, not alerted."""
    flags: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    """Why the reading may be unreliable: "very_short", "emoji_only", "sarcasm_cue", "weak_language"..."""
    taxonomy_version: Mapped[str | None] = mapped_column(String(64))
    """The topic taxonomy the topics were tagged with (a hash of it), next to the model's version."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mention: Mapped[Mention] = relationship()


class MentionTopic(Base):
    """A topic found in a mention, with the sentiment of the clauses about it (aspect sentiment)."""

    __tablename__ = "mention_topics"

    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mentions.id"), primary_key=True)
    # Indexed on its own: "mentions about topic X" cannot use the PK, which leads with mention_id.
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True, index=True)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[SentimentLabel | None]
