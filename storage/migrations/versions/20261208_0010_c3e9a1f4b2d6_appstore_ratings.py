"""App Store ratings on the scale every other kind uses (issue 19): `(stars - 1) / 4`, not `stars / 5`.

Reviews and profile pages stored `(rating - worst) / (best - worst)` (1 star = 0.0) while the App Store
stored stars / 5 (1 star = 0.2), so the same star count weighed differently in severity and the digest.
Stored App Store ratings are rescaled; the downgrade scales them back.

Revision ID: c3e9a1f4b2d6
Revises: 8b3d5f7a2c14
Create Date: 2026-12-08 00:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "c3e9a1f4b2d6"
down_revision: str | None = "8b3d5f7a2c14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE mentions SET rating = (rating * 5 - 1) / 4 WHERE rating IS NOT NULL "
        "AND source_id IN (SELECT id FROM sources WHERE kind = 'appstore')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE mentions SET rating = (rating * 4 + 1) / 5 WHERE rating IS NOT NULL "
        "AND source_id IN (SELECT id FROM sources WHERE kind = 'appstore')"
    )
