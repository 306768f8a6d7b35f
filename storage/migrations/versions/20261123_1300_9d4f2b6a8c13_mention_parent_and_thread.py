"""Mention parent and thread ids (issue 4): the source's id of what a mention replies to and of its thread.

- `mentions.parent_external_id`: a reddit comment's `parent_id`, a Mastodon `in_reply_to_id` (as the
  parent's uri where it can be built), a Bluesky reply parent uri, an HN comment's `parent_id`.
- `mentions.thread_external_id`: the thread's root (reddit `link_id`, HN `story_id`, Bluesky reply root).

Both are the source's ids, not foreign keys: the parent may never be crawled.

Revision ID: 9d4f2b6a8c13
Revises: c3e7a9f1d204
Create Date: 2026-11-23 13:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4f2b6a8c13"
down_revision: str | None = "c3e7a9f1d204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("parent_external_id", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("thread_external_id", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("thread_external_id")
        batch.drop_column("parent_external_id")
