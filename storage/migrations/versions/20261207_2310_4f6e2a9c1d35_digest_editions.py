"""Partial digests (alerts people trust: the weekly digest): `digests.edition`.

`vocwatch digest --week <this week> --partial` posts a preview of a week that is not over. The preview
must not occupy the week's record, or the complete digest of that week would never be posted, so the
outbox record is now unique per (week, channel, edition): "final" for the week's complete digest (every
existing row), "partial@<UTC minute>" for each preview.

Downgrading deletes the partial rows (the old key cannot hold them next to the week's digest).

Revision ID: 4f6e2a9c1d35
Revises: 5e1f0c2a9b71
Create Date: 2026-12-07 23:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f6e2a9c1d35"
down_revision: str | None = "5e1f0c2a9b71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("edition", sa.String(length=32), server_default="final", nullable=False))
        batch.drop_constraint("uq_digests_week_channel", type_="unique")
        batch.create_unique_constraint("uq_digests_week_channel_edition", ["week", "channel", "edition"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM digests WHERE edition <> 'final'"))
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint("uq_digests_week_channel_edition", type_="unique")
        batch.create_unique_constraint("uq_digests_week_channel", ["week", "channel"])
        batch.drop_column("edition")
