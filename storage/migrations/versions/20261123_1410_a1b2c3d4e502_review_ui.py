"""Issue 8 (review UI): users, cases, corrections.

Placeholder in the migration chain so that parallel work does not create several heads; the owning
change fills in upgrade() and downgrade().

Revision ID: a1b2c3d4e502
Revises: a1b2c3d4e501
Create Date: 2026-11-23 14:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "a1b2c3d4e502"
down_revision: str | None = "a1b2c3d4e501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
