"""Incident threads and channel budgets (issue 6): alert actions, held-back bundling, incident state.

- `alerts.action`: post / reply / update, so one outbox serves new messages, thread replies and
  `chat.update` of an incident's parent; existing rows are posts.
- `alerts.bundled_into_id`: a held-back (suppressed) alert points at the message that reported it.
- `ix_alerts_channel_created_at`: the budget counts recent pings per channel.
- `incidents.state`, `slack_channel_id`, `mention_id`, `stats`, `resolved_at`: the parent message's
  content and address.

Revision ID: c3e7a9f1d204
Revises: 5b1c0e9d7a41
Create Date: 2026-11-23 12:35:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c3e7a9f1d204"
down_revision: str | None = "5b1c0e9d7a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("action", sa.String(length=32), server_default="post", nullable=False))
        batch.add_column(sa.Column("bundled_into_id", _BIG_ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_alerts_bundled_into_id_alerts"), "alerts", ["bundled_into_id"], ["id"]
        )
        batch.create_index(op.f("ix_alerts_channel_created_at"), ["channel", "created_at"], unique=False)
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("slack_channel_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("state", sa.String(length=16), server_default="new", nullable=False))
        batch.add_column(sa.Column("mention_id", _BIG_ID, nullable=True))
        batch.add_column(
            sa.Column("stats", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_incidents_mention_id_mentions"), "mentions", ["mention_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint(op.f("fk_incidents_mention_id_mentions"), type_="foreignkey")
        batch.drop_column("resolved_at")
        batch.drop_column("stats")
        batch.drop_column("mention_id")
        batch.drop_column("state")
        batch.drop_column("slack_channel_id")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index(op.f("ix_alerts_channel_created_at"))
        batch.drop_constraint(op.f("fk_alerts_bundled_into_id_alerts"), type_="foreignkey")
        batch.drop_column("bundled_into_id")
        batch.drop_column("action")
