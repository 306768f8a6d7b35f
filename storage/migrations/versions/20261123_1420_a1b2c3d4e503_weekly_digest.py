"""Weekly digest (issue 7): the digest row becomes a crash-safe outbox record.

- `digests.slack_channel_id`: the channel's Slack ID, learned from the post (history lookups and the
  chart upload need an ID, the config may name the channel).
- `digests.chart_file_id`: the uploaded chart; NULL while the chart is still owed.
- `digests.claimed_at`: when a process started posting; a `pending` row claimed long ago is reconciled
  against the channel history instead of being posted again.
- `digests.sent_at`, `digests.attempts`, `digests.last_error`: outcome and retries.
- `ix_mentions_published_at_collected_at`: the digest's week filter over all touchpoints (published in
  the week, or collected in it when the source gave no publication time), covering the columns the
  digest groups by so that counting a week never reads the mention rows.

Revision ID: a1b2c3d4e503
Revises: a1b2c3d4e502
Create Date: 2026-11-23 14:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1b2c3d4e503"
down_revision: str | None = "a1b2c3d4e502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("slack_channel_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("chart_file_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.create_index(
        "ix_mentions_published_at_collected_at",
        "mentions",
        ["published_at", "collected_at", "touchpoint_id", "source_id", "duplicate_of_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_mentions_published_at_collected_at", table_name="mentions")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("last_error")
        batch.drop_column("attempts")
        batch.drop_column("sent_at")
        batch.drop_column("claimed_at")
        batch.drop_column("chart_file_id")
        batch.drop_column("slack_channel_id")
