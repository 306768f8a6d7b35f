"""Issue 8 (review UI): queue ordering by severity, case outcomes, and CX corrections.

- `cases.severity_order`: the severity's position in the queue (critical 0, warning 1, info 2, other 9),
  so that "most severe first, then oldest first" is one ascending index (`severity_order, created_at`)
  that a page walks in order and stops after 50 rows; existing rows are back-filled.
- `cases.resolution` + `closed_at`: why and when a case was resolved or dismissed.
- `cases.corrected_label`, `corrected_topics` (JSON list of topic names), `corrected_touchpoint_id`,
  `corrected_at`: CX corrections, the ground truth for `vocwatch eval --from-corrections` and export.
- `cases.assignee_id` indexed: the "assigned to me" filter.

Revision ID: a1b2c3d4e502
Revises: a1b2c3d4e501
Create Date: 2026-11-23 14:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1b2c3d4e502"
down_revision: str | None = "a1b2c3d4e501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("severity_order", sa.SmallInteger(), server_default="9", nullable=False))
        batch.add_column(sa.Column("resolution", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("corrected_label", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column(
                "corrected_topics",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("corrected_touchpoint_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_cases_corrected_touchpoint_id_touchpoints", "touchpoints", ["corrected_touchpoint_id"], ["id"]
        )
        batch.create_index("ix_cases_corrected_at", ["corrected_at"])
        batch.create_index("ix_cases_assignee_id", ["assignee_id"])
        batch.create_index("ix_cases_severity_order_created_at", ["severity_order", "created_at"])
    cases = sa.table(
        "cases", sa.column("severity", sa.String()), sa.column("severity_order", sa.SmallInteger())
    )
    for severity, order in _SEVERITY_ORDER.items():
        op.execute(cases.update().where(cases.c.severity == severity).values(severity_order=order))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_severity_order_created_at")
        batch.drop_index("ix_cases_assignee_id")
        batch.drop_index("ix_cases_corrected_at")
        batch.drop_constraint("fk_cases_corrected_touchpoint_id_touchpoints", type_="foreignkey")
        batch.drop_column("corrected_at")
        batch.drop_column("corrected_touchpoint_id")
        batch.drop_column("corrected_topics")
        batch.drop_column("corrected_label")
        batch.drop_column("closed_at")
        batch.drop_column("resolution")
        batch.drop_column("severity_order")
