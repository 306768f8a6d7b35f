"""Claim leases for parallel analysis workers (issue 9).

- `mentions.claimed_by`: the worker (`host:pid:token`) that claimed a `new` mention for analysis.
- `mentions.lease_expires_at`: until when that claim holds; after it another worker may take the mention
  over, so a worker killed mid-batch delays its batch by one lease, never loses it.

Both stay NULL on the embedded path (`vocwatch analyze` claims and analyzes in one transaction).

Revision ID: a1b2c3d4e501
Revises: 9d4f2b6a8c13
Create Date: 2026-11-23 14:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1b2c3d4e501"
down_revision: str | None = "9d4f2b6a8c13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("claimed_by")
