"""Configured feeds and the ledger of their crawl runs (the coverage report is built from the runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, utcnow
from storage.enums import CrawlRunStatus
from storage.models.catalog import Touchpoint


class Source(Base):
    """One configured feed. `kind` is a plain string: the kinds are a crawler registry that plugins extend."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    default_touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Incremental-crawl state owned by the source's spider (last seen id/time); NULL before the first run.
    cursor: Mapped[dict[str, Any] | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    default_touchpoint: Mapped[Touchpoint | None] = relationship()


class CrawlRun(Base):
    """One run of one source with its counters; a run left `running` marks a crawl that died."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        # "latest runs of this source" (coverage ledger, source-health check).
        Index("ix_crawl_runs_source_id_started_at", "source_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    status: Mapped[CrawlRunStatus] = mapped_column(default=CrawlRunStatus.RUNNING)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    items_seen: Mapped[int] = mapped_column(default=0)
    items_new: Mapped[int] = mapped_column(default=0)
    items_duplicate: Mapped[int] = mapped_column(default=0)
    items_failed: Mapped[int] = mapped_column(default=0)
    pages: Mapped[int] = mapped_column(default=0)
    http_status_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None]

    source: Mapped[Source] = relationship()
