"""Incidents: related negative mentions grouped into ONE Slack thread, and how the thread's parent reads.

Why: a pile-on about a late delivery is one story, not 40 pings. The first negative mention of a story
opens an incident (a top-level message); later related mentions become thread replies, and the parent
is edited in place (`chat.update`) with the running count, reach, sentiment trend and growth state.

Two mentions are *related* when they arrive within `window_s` of the incident's last mention, in the
same channel, and share (strongest evidence first):

1. the same story URL (scheme, host and path; query and fragment dropped),
2. near-duplicate text (64-bit SimHash of word 3-shingles within `near_dup_bits` bits),
3. a topic, or
4. the touchpoint.

Growth state of an incident, re-evaluated on each mention and by the periodic quiet check:
`new` (first mentions) → `growing` (≥ `growing_at` mentions) → `critical` (≥ `critical_count`
mentions or any critical mention) → `quiet` (no mention for `quiet_after_s`) → `resolved` (no mention
for `resolve_after_s`, or closed from the review queue). A quiet incident that gets a new mention goes
back to its count-based state; a resolved one is closed, and the next mention opens a new incident.

Pure: plain values in and out. The stats travel as JSON in `incidents.stats`.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from notifier.routing import severity_rank
from storage.enums import Severity

__all__ = [
    "GrowthState",
    "IncidentCandidate",
    "IncidentKnobs",
    "IncidentStats",
    "OpenIncident",
    "candidate_keys",
    "growth_state",
    "match_incident",
    "sentiment_trend",
    "simhash",
    "story_key",
]

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_KEYS = 50
_MAX_FINGERPRINTS = 20
_MAX_SCORES = 50

T = TypeVar("T")


class GrowthState(enum.StrEnum):
    NEW = "new"
    GROWING = "growing"
    CRITICAL = "critical"
    QUIET = "quiet"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class IncidentKnobs:
    """Grouping window and growth thresholds; filled from `[alerts]` in the config."""

    window_s: float = 6 * 3600.0
    near_dup_bits: int = 3
    growing_at: int = 3
    critical_count: int = 10
    quiet_after_s: float = 2 * 3600.0
    resolve_after_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.quiet_after_s <= 0 or self.resolve_after_s < self.quiet_after_s:
            raise ValueError("need window_s > 0 and 0 < quiet_after_s ≤ resolve_after_s")
        if not 0 <= self.near_dup_bits <= 64 or not 1 <= self.growing_at <= self.critical_count:
            raise ValueError("need 0 ≤ near_dup_bits ≤ 64 and 1 ≤ growing_at ≤ critical_count")


@dataclass(frozen=True)
class IncidentCandidate:
    """One negative mention about to be grouped."""

    at: datetime
    text: str
    url: str = ""
    topics: tuple[str, ...] = ()
    touchpoint: str | None = None
    severity: Severity = Severity.WARNING
    p_negative: float = 0.0
    reach_raw: float = 0.0

    @property
    def fingerprint(self) -> int:
        return simhash(self.text)


@dataclass(frozen=True)
class IncidentStats:
    """The running summary of an incident, stored as JSON (`to_json` / `from_json`)."""

    count: int = 0
    reach_raw: float = 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None
    max_severity: Severity = Severity.INFO
    p_negatives: tuple[float, ...] = ()  # the most recent `_MAX_SCORES`, oldest first
    keys: tuple[str, ...] = ()  # topic and touchpoint keys: never evicted by a flood of story URLs
    stories: tuple[str, ...] = ()  # story keys of the most recent mentions
    fingerprints: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()
    touchpoint: str | None = None
    closed: bool = False
    held_back: int = 0  # alerts the budget held back before this incident's parent: shown as "+N"

    def add(self, candidate: IncidentCandidate) -> IncidentStats:
        """These stats with one more mention folded in (the candidate's keys join the incident's)."""
        new_keys = candidate_keys(candidate)
        keys = _union(self.keys, [k for k in new_keys if not k.startswith("story:")], _MAX_KEYS, oldest=True)
        stories = _union(self.stories, [k for k in new_keys if k.startswith("story:")], _MAX_KEYS)
        severity = max(self.max_severity, candidate.severity, key=severity_rank)
        return replace(
            self,
            count=self.count + 1,
            reach_raw=self.reach_raw + candidate.reach_raw,
            first_at=self.first_at or candidate.at,
            last_at=max(self.last_at, candidate.at) if self.last_at else candidate.at,
            max_severity=Severity(severity),
            p_negatives=(*self.p_negatives, candidate.p_negative)[-_MAX_SCORES:],
            keys=keys,
            stories=stories,
            fingerprints=_union(self.fingerprints, (candidate.fingerprint,), _MAX_FINGERPRINTS),
            topics=_union(self.topics, candidate.topics, _MAX_KEYS, oldest=True),
            touchpoint=self.touchpoint or candidate.touchpoint,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "reach_raw": self.reach_raw,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            "max_severity": str(self.max_severity),
            "p_negatives": list(self.p_negatives),
            "keys": list(self.keys),
            "stories": list(self.stories),
            # JSON numbers above 2**53 lose precision in some readers: store the 64-bit hashes as hex.
            "fingerprints": [f"{fp:016x}" for fp in self.fingerprints],
            "topics": list(self.topics),
            "touchpoint": self.touchpoint,
            "closed": self.closed,
            "held_back": self.held_back,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IncidentStats:
        def when(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            count=int(data.get("count", 0)),
            reach_raw=float(data.get("reach_raw", 0.0)),
            first_at=when(data.get("first_at")),
            last_at=when(data.get("last_at")),
            max_severity=Severity(data.get("max_severity", Severity.INFO)),
            p_negatives=tuple(float(x) for x in data.get("p_negatives", ())),
            keys=tuple(str(x) for x in data.get("keys", ())),
            stories=tuple(str(x) for x in data.get("stories", ())),
            fingerprints=tuple(int(str(x), 16) for x in data.get("fingerprints", ())),
            topics=tuple(str(x) for x in data.get("topics", ())),
            touchpoint=data.get("touchpoint"),
            closed=bool(data.get("closed", False)),
            held_back=int(data.get("held_back", 0)),
        )


@dataclass(frozen=True)
class OpenIncident:
    """An open incident of the candidate's channel, as `match_incident` sees it."""

    id: int
    last_mention_at: datetime
    stats: IncidentStats = field(default_factory=IncidentStats)


def story_key(url: str) -> str | None:
    """`story:<scheme>://<host><path>` of an http(s) URL (query and fragment dropped), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    path = parts.path.rstrip("/") or "/"
    return f"story:{parts.netloc.lower()}{path}"


def candidate_keys(candidate: IncidentCandidate) -> tuple[str, ...]:
    """The candidate's grouping keys, strongest first: story URL, topics, touchpoint."""
    keys: list[str] = []
    if (story := story_key(candidate.url)) is not None:
        keys.append(story)
    keys.extend(f"topic:{topic}" for topic in candidate.topics)
    if candidate.touchpoint:
        keys.append(f"touchpoint:{candidate.touchpoint}")
    return tuple(keys)


def simhash(text: str) -> int:
    """64-bit SimHash of the text's lower-cased word 3-shingles (single words for very short texts).

    Near-duplicate texts (a retweet with "RT", a copy with one word changed) land within a few bits of
    each other; unrelated texts differ in about 32 of 64 bits.
    """
    words = _WORD.findall(text.lower())
    shingles = [" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))] if words else [""]
    totals = [0] * 64
    for shingle in shingles:
        digest = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            totals[bit] += 1 if digest >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if totals[bit] > 0)


def match_incident(
    candidate: IncidentCandidate, incidents: Sequence[OpenIncident], knobs: IncidentKnobs
) -> OpenIncident | None:
    """The open incident the candidate belongs to, or None to open a new one.

    Only incidents whose last mention is within `window_s` of the candidate qualify. Among those, the
    strongest evidence wins (story URL, near-duplicate text, topic, touchpoint); ties go to the incident
    with the most recent mention, so a story that is still moving keeps its thread.
    """
    window = timedelta(seconds=knobs.window_s)
    live = [inc for inc in incidents if not inc.stats.closed and candidate.at - inc.last_mention_at <= window]
    if not live:
        return None
    live.sort(key=lambda inc: inc.last_mention_at, reverse=True)
    story = {k for k in candidate_keys(candidate) if k.startswith("story:")}
    fingerprint = candidate.fingerprint

    def evidence(incident: OpenIncident) -> int | None:
        """0 same story, 1 near-duplicate text, 2 shared topic, 3 touchpoint; None: unrelated."""
        if story & set(incident.stats.stories):
            return 0
        if any(_distance(fingerprint, fp) <= knobs.near_dup_bits for fp in incident.stats.fingerprints):
            return 1
        if any(f"topic:{topic}" in incident.stats.keys for topic in candidate.topics):
            return 2
        if candidate.touchpoint and f"touchpoint:{candidate.touchpoint}" in incident.stats.keys:
            return 3
        return None

    best: tuple[int, OpenIncident] | None = None
    for incident in live:  # most recent first, so a strict "<" keeps the most recent of equals
        rank = evidence(incident)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, incident)
    return None if best is None else best[1]


def growth_state(stats: IncidentStats, *, now: datetime, knobs: IncidentKnobs) -> GrowthState:
    """The incident's state now (see the module docstring for the order of the rules)."""
    if stats.closed:
        return GrowthState.RESOLVED
    if stats.last_at is not None:
        silent = (now - stats.last_at).total_seconds()
        if silent >= knobs.resolve_after_s:
            return GrowthState.RESOLVED
        if silent >= knobs.quiet_after_s:
            return GrowthState.QUIET
    if stats.count >= knobs.critical_count or stats.max_severity == Severity.CRITICAL:
        return GrowthState.CRITICAL
    if stats.count >= knobs.growing_at:
        return GrowthState.GROWING
    return GrowthState.NEW


def sentiment_trend(p_negatives: Sequence[float], *, margin: float = 0.05) -> str:
    """`worsening` / `easing` / `steady`: mean p_negative of the newer half against the older half."""
    if len(p_negatives) < 4:
        return "steady"
    half = len(p_negatives) // 2
    older = sum(p_negatives[:half]) / half
    newer = sum(p_negatives[half:]) / (len(p_negatives) - half)
    if newer - older > margin:
        return "worsening"
    if older - newer > margin:
        return "easing"
    return "steady"


def _distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _union(existing: tuple[T, ...], new: Iterable[T], cap: int, *, oldest: bool = False) -> tuple[T, ...]:
    """`existing` plus the new items it lacks, at most `cap`: the oldest (what defines the incident) or
    the newest (recent story URLs and texts, which the next related mention most likely repeats)."""
    out = list(existing)
    out.extend(item for item in new if item not in out)
    return tuple(out[:cap] if oldest else out[-cap:])
