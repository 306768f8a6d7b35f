"""Spike episodes: one row per run of spiking checks, so a spike alerts once per episode (issue 6).

Revision ID: 5b1c0e9d7a41
Revises: 0798208e99a3
Create Date: 2026-11-23 12:25:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1c0e9d7a41"
down_revision: str | None = "0798208e99a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spike_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_spike_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_dedup_key", sa.String(length=255), nullable=False),
        sa.Column("peak_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spike_episodes")),
    )
    op.create_index("ix_spike_episodes_key_ended_at", "spike_episodes", ["key", "ended_at"], unique=False)


def downgrade() -> None:
    op.drop_table("spike_episodes")
