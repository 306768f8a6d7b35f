"""Weekly digests; unique per (week, channel, edition) so a rerun of the weekly job posts nothing twice,
and a partial preview of a week never stands in for the week's complete digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.enums import DigestStatus
from storage.models.mentions import Mention

FINAL_EDITION = "final"
"""The edition of a week's complete digest: the one that is posted once per week and channel."""


class Digest(Base):
    """One digest owed to one channel for one ISO week, written BEFORE anything is posted.

    The row is the digest's outbox record: `pending` with `claimed_at` means "a post may be in flight",
    `slack_ts` is set as soon as the message is in Slack and `chart_file_id` once the chart is, so a
    process that dies between the steps resumes at the missing one instead of posting again.
    """

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("week", "channel", "edition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))  # ISO week, e.g. "2025-W07"
    channel: Mapped[str] = mapped_column(String(100))
    # FINAL_EDITION for the week's complete digest; "partial@<UTC minute>" (`storage.digests.
    # partial_edition`) for a preview of a week that was not over. Only the final edition is the week's.
    edition: Mapped[str] = mapped_column(String(32), default=FINAL_EDITION, server_default=FINAL_EDITION)
    status: Mapped[DigestStatus] = mapped_column(default=DigestStatus.PENDING)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The channel's Slack ID, learned from the post: history lookups and the chart upload need it.
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    chart_file_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None]


# The digest's time filter over all touchpoints: "published in the week, or (no publication time)
# collected in it". One index serves both branches (a range on published_at; published_at IS NULL plus
# a range on collected_at); the (touchpoint_id, ...) indexes cannot, as they lead with the touchpoint.
# It also carries the columns the digest groups by, so counting a week never reads the mention rows
# (which hold whole raw bodies). Declared here, with the digest that needs it, on the mentions table.
Index(
    "ix_mentions_published_at_collected_at",
    Mention.published_at,
    Mention.collected_at,
    Mention.touchpoint_id,
    Mention.source_id,
    Mention.duplicate_of_id,
)
