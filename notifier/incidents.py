"""Incidents: related negative mentions grouped into ONE Slack thread, and how the thread's parent reads.

Why: a pile-on about a late delivery is one story, not 40 pings. The first negative mention of a story
opens an incident (a top-level message); later related mentions become thread replies, and the parent
is edited in place (`chat.update`) with the running count, reach, sentiment trend and growth state.

Two mentions are *related* when they arrive within `window_s` of the incident's last mention, in the
same channel, and share (strongest evidence first):

1. the same story: the canonical URL (`story_key`: host and path, plus the query parameters that name the
   item, such as Hacker News' `id` or YouTube's `v`; tracking parameters such as `utm_*` dropped),
2. near-duplicate text (64-bit SimHash of word 3-shingles within `near_dup_bits` bits),
3. the incident's theme: the mention's strongest topic is the incident's (its first mention's strongest),
   the touchpoint is the same, AND the meaning is close: the cosine of the mention's sentence embedding to
   the incident's mean embedding is at least `theme_similarity` (two stories on one topic, "charged twice
   at renewal" and "the jacket costs too much", both `billing`, stay apart), or
4. the same meaning at the same touchpoint, topic or not (cosine at least `same_meaning`): the same
   complaint in other words or another language, which the topic model may not tag at all.

Never a shared touchpoint alone, never a secondary topic (nearly every complaint also touches
`customer_support`), and never a topic the incident picked up later: a "billing" incident that once took
a mention about billing and delivery must not take every delivery complaint after it (one incident
swallowed 37 alerts about five stories that way).

Growth state of an incident, re-evaluated on each mention and by the periodic quiet check:
`new` (first mentions) → `growing` (≥ `growing_at` mentions) → `critical` (≥ `critical_count`
mentions or any critical mention) → `quiet` (no mention for `quiet_after_s`) → `resolved` (no mention
for `resolve_after_s`, or closed from the review queue). A quiet incident that gets a new mention goes
back to its count-based state; a resolved one is closed, and the next mention opens a new incident.

Times: `first_at`/`last_at` are when mentions reached the incident (what quiet and resolved follow);
`published_first`/`published_last` are when customers posted them (what the parent shows).

Pure: plain values in and out. The stats travel as JSON in `incidents.stats`.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from notifier.routing import severity_rank
from storage.enums import Severity

__all__ = [
    "GrowthState",
    "IncidentCandidate",
    "IncidentKnobs",
    "IncidentStats",
    "OpenIncident",
    "growth_state",
    "incident_key",
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


THEME_SIMILARITY = 0.86
SAME_MEANING = 0.92
"""Cosines of multilingual-e5 sentence embeddings, chosen on a labelled day of nine stories
(bench/incident_stories.py, seed 5): mentions of one story sit at 0.85-0.99 of each other (median 0.91),
mentions of two stories that share a topic at 0.79-0.89 (median 0.83), against the story's mean embedding
a little higher. bench/bench_incident_grouping.py --stories scores another day (seed 18)."""


@dataclass(frozen=True)
class IncidentKnobs:
    """Grouping window and growth thresholds; filled from `[alerts]` in the config."""

    window_s: float = 6 * 3600.0
    near_dup_bits: int = 3
    theme_similarity: float = THEME_SIMILARITY
    same_meaning: float = SAME_MEANING
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

    at: datetime  # when it reached the incident (analysis time)
    text: str
    url: str = ""
    published_at: datetime | None = None  # when the customer posted it, if the source says
    topics: tuple[str, ...] = ()  # strongest first
    touchpoint: str | None = None
    severity: Severity = Severity.WARNING
    p_negative: float = 0.0
    reach_raw: float = 0.0
    embedding: tuple[float, ...] = ()  # normalised sentence embedding; empty when unknown

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
    stories: tuple[str, ...] = ()  # story keys of the most recent mentions
    fingerprints: tuple[int, ...] = ()
    topics: tuple[str, ...] = ()  # every topic its mentions had (shown, never matched on)
    topic: str | None = None  # the theme: the first mention's strongest topic
    touchpoint: str | None = None  # the first mention's touchpoint
    published_first: datetime | None = None
    published_last: datetime | None = None
    meaning: tuple[float, ...] = ()  # sum of its mentions' embeddings (direction = mean meaning)
    closed: bool = False
    held_back: int = 0  # alerts the budget held back before this incident's parent: shown as "+N"

    def add(self, candidate: IncidentCandidate) -> IncidentStats:
        """These stats with one more mention folded in; the first mention sets the theme."""
        story = story_key(candidate.url)
        severity = max(self.max_severity, candidate.severity, key=severity_rank)
        first = self.count == 0
        published = candidate.published_at
        return replace(
            self,
            count=self.count + 1,
            reach_raw=self.reach_raw + candidate.reach_raw,
            first_at=self.first_at or candidate.at,
            last_at=max(self.last_at, candidate.at) if self.last_at else candidate.at,
            max_severity=Severity(severity),
            p_negatives=(*self.p_negatives, candidate.p_negative)[-_MAX_SCORES:],
            stories=_union(self.stories, (story,) if story else (), _MAX_KEYS),
            fingerprints=_union(self.fingerprints, (candidate.fingerprint,), _MAX_FINGERPRINTS),
            topics=_union(self.topics, candidate.topics, _MAX_KEYS, oldest=True),
            topic=(candidate.topics[0] if candidate.topics else None) if first else self.topic,
            touchpoint=candidate.touchpoint if first else self.touchpoint,
            published_first=_earliest(self.published_first, published),
            published_last=_latest(self.published_last, published),
            meaning=_add(self.meaning, candidate.embedding),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "reach_raw": self.reach_raw,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            "max_severity": str(self.max_severity),
            "p_negatives": list(self.p_negatives),
            "stories": list(self.stories),
            # JSON numbers above 2**53 lose precision in some readers: store the 64-bit hashes as hex.
            "fingerprints": [f"{fp:016x}" for fp in self.fingerprints],
            "topics": list(self.topics),
            "topic": self.topic,
            "touchpoint": self.touchpoint,
            "published_first": self.published_first.isoformat() if self.published_first else None,
            "published_last": self.published_last.isoformat() if self.published_last else None,
            "meaning": [round(x, 4) for x in self.meaning],
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
            stories=tuple(str(x) for x in data.get("stories", ())),
            fingerprints=tuple(int(str(x), 16) for x in data.get("fingerprints", ())),
            topics=tuple(str(x) for x in data.get("topics", ())),
            # incidents opened before themes existed: their first topic stands in
            topic=data.get("topic", next(iter(data.get("topics", ())), None)),
            touchpoint=data.get("touchpoint"),
            published_first=when(data.get("published_first")),
            published_last=when(data.get("published_last")),
            meaning=tuple(float(x) for x in data.get("meaning", ())),
            closed=bool(data.get("closed", False)),
            held_back=int(data.get("held_back", 0)),
        )


@dataclass(frozen=True)
class OpenIncident:
    """An open incident of the candidate's channel, as `match_incident` sees it."""

    id: int
    last_mention_at: datetime
    stats: IncidentStats = field(default_factory=IncidentStats)


_ITEM_PARAMETERS: dict[str, frozenset[str]] = {
    "news.ycombinator.com": frozenset({"id"}),
    "youtube.com": frozenset({"v"}),
    "apps.apple.com": frozenset({"id"}),
    "play.google.com": frozenset({"id", "reviewid"}),
}
"""Hosts whose URLs name the item in the query, and the parameters that do (the rest is state)."""
_LISTINGS: dict[str, re.Pattern[str]] = {"itunes.apple.com": re.compile(r"/[a-z]{2}/review")}
"""Pages every item of a feed links to (an App Store review's link is the app's review page in its
country): no story at all, or every review of the app would be one story."""
_ID_PARAMETERS = frozenset(
    {"id", "p", "t", "v", "item", "itemid", "story", "storyid", "article", "articleid", "post", "postid"}
    | {"topic", "thread", "tid", "pid", "aid", "page_id", "threadid", "topicid"}
)
"""On other hosts, the parameter names that usually name a page (`viewtopic.php?t=12`, `?p=123` on
WordPress); everything else (`utm_*`, `fbclid`, `ref`, a comment anchor `c=`, sort orders) is how
someone arrived or what they looked at, not which story it is, and is dropped."""


def story_key(url: str) -> str | None:
    """`story:<host><path>[?<item parameters>]` of an http(s) URL, else None: one key per story.

    Host lower-cased without `www.`/`m.`, port and credentials; trailing slash and fragment dropped. The
    query keeps only the parameters that name the item (`item?id=N` on Hacker News, `watch?v=` on
    YouTube: dropping them merged every Hacker News item into one story), sorted, so the same article
    shared with `utm_*` or `fbclid` tags from two places is one story.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return None
    host = host.removeprefix("www.").removeprefix("m.")
    path = parts.path.rstrip("/") or "/"
    if (listing := _LISTINGS.get(host)) is not None and listing.fullmatch(path):
        return None
    allowed = _ITEM_PARAMETERS.get(host)
    kept = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query)
        if name.lower() in (allowed if allowed is not None else _ID_PARAMETERS)
    )
    query = f"?{urlencode(kept)}" if kept else ""
    return f"story:{host}{path}{query}"


def incident_key(candidate: IncidentCandidate) -> str:
    """The name an incident opened by this mention gets: its theme, else its story, else its text."""
    if candidate.topics:
        where = f"@{candidate.touchpoint}" if candidate.touchpoint else ""
        return f"topic:{candidate.topics[0]}{where}"
    return story_key(candidate.url) or f"text:{candidate.fingerprint:016x}"


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
    strongest evidence wins (story, near-duplicate text, theme); ties go to the incident with the most
    recent mention, so a story that is still moving keeps its thread.
    """
    window = timedelta(seconds=knobs.window_s)
    live = [inc for inc in incidents if not inc.stats.closed and candidate.at - inc.last_mention_at <= window]
    if not live:
        return None
    live.sort(key=lambda inc: inc.last_mention_at, reverse=True)
    story = story_key(candidate.url)
    fingerprint = candidate.fingerprint

    def evidence(incident: OpenIncident) -> int | None:
        """0 same story, 1 near-duplicate text, 2 same theme, 3 same meaning; None: unrelated."""
        stats = incident.stats
        if story is not None and story in stats.stories:
            return 0
        if any(_distance(fingerprint, fp) <= knobs.near_dup_bits for fp in stats.fingerprints):
            return 1
        if candidate.touchpoint != stats.touchpoint:
            return None
        similarity = _cosine(candidate.embedding, stats.meaning)
        close = similarity is None or similarity >= knobs.theme_similarity  # no embedding: the theme decides
        if candidate.topics and candidate.topics[0] == stats.topic and close:
            return 2
        if similarity is not None and similarity >= knobs.same_meaning:
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


def _add(total: tuple[float, ...], embedding: tuple[float, ...]) -> tuple[float, ...]:
    """The running sum of embeddings (one of another width, from a changed model, is left out)."""
    if not embedding:
        return total
    if not total:
        return embedding
    if len(total) != len(embedding):
        return total
    return tuple(a + b for a, b in zip(total, embedding, strict=True))


def _cosine(embedding: tuple[float, ...], total: tuple[float, ...]) -> float | None:
    """Cosine of a normalised embedding to the direction of a sum of embeddings (None: either unknown)."""
    if not embedding or len(embedding) != len(total):
        return None
    norm = math.sqrt(sum(x * x for x in total))
    return sum(a * b for a, b in zip(embedding, total, strict=True)) / norm if norm > 0 else None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def _distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _union(existing: tuple[T, ...], new: Iterable[T], cap: int, *, oldest: bool = False) -> tuple[T, ...]:
    """`existing` plus the new items it lacks, at most `cap`: the oldest (what defines the incident) or
    the newest (recent story URLs and texts, which the next related mention most likely repeats)."""
    out = list(existing)
    out.extend(item for item in new if item not in out)
    return tuple(out[:cap] if oldest else out[-cap:])
