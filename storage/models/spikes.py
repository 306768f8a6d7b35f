"""Spike episodes: the memory that makes "one spike alert per episode" hold across checks and restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SpikeEpisode(Base):
    """One run of consecutive spiking checks for one key (e.g. `touchpoint:delivery:1h`).

    Open while `ended_at` is NULL; the spike check extends `last_spike_at` and closes it after a quiet
    cooldown. `alert_dedup_key` is the key of the one alert the episode sent.
    """

    __tablename__ = "spike_episodes"
    __table_args__ = (
        # "the open episode of this key", on every check.
        Index("ix_spike_episodes_key_ended_at", "key", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime]
    last_spike_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    alert_dedup_key: Mapped[str] = mapped_column(String(255))
    peak_count: Mapped[int] = mapped_column(default=0)


class SpikeKey(Base):
    """When the spike check first saw a touchpoint or topic (`touchpoint:delivery`, `topic:billing`).

    A key is judged only once it has been watched for the minimum history (`spikes.min_history_days`):
    until then its "usual" volume is unknown, and a fresh install's backlog, or a new topic, would read
    as a spike against an empty baseline.
    """

    __tablename__ = "spike_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_seen_at: Mapped[datetime]
