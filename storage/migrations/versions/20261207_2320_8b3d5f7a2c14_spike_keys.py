"""When the spike check first saw each touchpoint and topic: `spike_keys` (issue 18, point 3).

A spike is judged against a key's own history, so a key is judged only after `spikes.min_history_days`
of it. On a fresh install every key is new, so the backlog of the first crawls cannot raise spike alerts
(it did: 11 alerts in 10 s). Existing installs keep alerting at once: each touchpoint and topic that has
mentions is backfilled with the first time one of them was collected.

Revision ID: 8b3d5f7a2c14
Revises: 4f6e2a9c1d35
Create Date: 2026-12-07 23:20:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3d5f7a2c14"
down_revision: str | None = "4f6e2a9c1d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spike_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_spike_keys")),
    )
    op.execute(
        "INSERT INTO spike_keys (key, first_seen_at) "
        "SELECT 'touchpoint:' || t.name, MIN(m.collected_at) FROM mentions m "
        "JOIN touchpoints t ON t.id = m.touchpoint_id GROUP BY t.name"
    )
    op.execute(
        "INSERT INTO spike_keys (key, first_seen_at) "
        "SELECT 'topic:' || t.name, MIN(m.collected_at) FROM mentions m "
        "JOIN mention_topics mt ON mt.mention_id = m.id JOIN topics t ON t.id = mt.topic_id GROUP BY t.name"
    )


def downgrade() -> None:
    op.drop_table("spike_keys")
