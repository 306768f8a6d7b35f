"""Analysis reliability (issue 5): whether the model reads this kind of text well, and why not.

- `analyses.reliable`: false for text the model is weak on (very short, emoji-only, sarcasm cues, a
  language it handles badly); such negatives go to the review queue instead of Slack. Existing rows
  were produced without the check and count as reliable.
- `analyses.flags`: the reasons, a JSON list of strings.
- `analyses.taxonomy_version`: the topic taxonomy the mention's topics were tagged with.

Revision ID: a1b2c3d4e504
Revises: a1b2c3d4e503
Create Date: 2026-11-23 14:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1b2c3d4e504"
down_revision: str | None = "a1b2c3d4e503"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("reliable", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(
            sa.Column(
                "flags",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                server_default="[]",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("taxonomy_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("taxonomy_version")
        batch.drop_column("flags")
        batch.drop_column("reliable")
