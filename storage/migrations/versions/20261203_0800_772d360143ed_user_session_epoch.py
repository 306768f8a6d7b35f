"""Review-UI session revocation (issue 10, point 4): `users.session_epoch`.

The session cookie is signed, not stored, so the server could not take a login back: a copied cookie
stayed valid after logout until it expired. The cookie now carries the epoch it was issued under, and the
app accepts it only while `users.session_epoch` still has that value; logout, a new password and a new
role bump it. Existing rows start at 0 (cookies issued before this migration carry no epoch and are
refused: everyone logs in once more).

Revision ID: 772d360143ed
Revises: a1b2c3d4e504
Create Date: 2026-12-03 08:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "772d360143ed"
down_revision: str | None = "a1b2c3d4e504"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
