"""Why a mention sits at its touchpoint: `mentions.touchpoint_origin` (issue 18, point 1).

The crawl stores the source's default touchpoint and analysis used to apply a topic's touchpoint rule only
when there was none, so the rules never applied. Analysis now moves a mention whose touchpoint is a
`default` to its strongest topic's touchpoint, and never moves one CX staff corrected. Existing rows:
touchpoints CX staff corrected become `correction`, survey answers that named their touchpoint become
`assigned`, the rest `default`. `vocwatch analyze --retouch` then applies the topic rules to mentions
analyzed before this migration (and again after the operator changes a rule).

Revision ID: 5e1f0c2a9b71
Revises: 772d360143ed
Create Date: 2026-12-07 23:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1f0c2a9b71"
down_revision: str | None = "772d360143ed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(
            sa.Column("touchpoint_origin", sa.String(32), server_default="default", nullable=False)
        )
    op.execute(
        "UPDATE mentions SET touchpoint_origin = 'assigned' WHERE touchpoint_id IS NOT NULL AND source_id IN "
        "(SELECT id FROM sources WHERE kind = 'survey')"
    )
    op.execute(
        "UPDATE mentions SET touchpoint_origin = 'correction' WHERE id IN "
        "(SELECT mention_id FROM cases WHERE corrected_touchpoint_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("touchpoint_origin")
