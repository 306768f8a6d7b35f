"""The mention alert path: severity, routing, incident grouping and the channel budget, wired together.

`alert_mention` runs inside the analysis stage's transaction (called by `analyze._alert_if_negative`), so
the analysis, the review case, the incident's counters and the outbox rows commit together or not at
all. Per channel the mention gets to, it:

1. joins a related open incident (notifier.incidents): a thread reply is queued, and the parent's new
   state is queued too — folded into the parent post while that is still pending, else into one
   coalesced `chat.update`; replies and updates do not ping the channel, so no budget is used; or
2. opens a new incident: a new top-level message (a ping), if the channel's budget allows it
   (critical alerts always do); it carries "+N lower-severity mentions held back" for what the budget
   held back since the last ping. Over budget, the alert is stored as `suppressed` with the reason.

`refresh_incidents` is the periodic part: incidents that went quiet or resolved get their parent updated.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import blocks
from notifier.budget import BudgetLimits, BudgetVerdict, check_budget, held_back_note
from notifier.incidents import (
    GrowthState,
    IncidentCandidate,
    IncidentKnobs,
    IncidentStats,
    OpenIncident,
    growth_state,
    incident_key,
    match_incident,
    sentiment_trend,
)
from notifier.policy import ReviewThresholds, decide_mention_alert, review_reason
from notifier.routing import RouteMode, RouteRule, RouteTarget, route_channels
from notifier.severity import MentionSignals, SeverityKnobs, SeverityScore, score_severity
from storage import models
from storage.enums import AlertAction, AlertKind, AlertStatus, IncidentStatus, Severity
from storage.mentions import analysis_text
from vocwatch.settings import Settings

__all__ = [
    "AlertRules",
    "MentionFacts",
    "alert_mention",
    "refresh_incident_states",
    "refresh_incidents",
    "resolve_incident",
]


@dataclass(frozen=True)
class AlertRules:
    """The plain values the mention alert policy needs, taken out of Settings (`from_settings`).

    The first two fields stay positional for callers that only know a threshold and a channel; they get
    the default severity knobs, no routes, the default budget and incident thresholds.
    """

    negative_threshold: float
    channel: str
    severity: SeverityKnobs = field(default_factory=SeverityKnobs)
    routes: tuple[RouteRule, ...] = ()
    route_mode: RouteMode = RouteMode.FIRST
    incidents: IncidentKnobs = field(default_factory=IncidentKnobs)
    budget: BudgetLimits = field(default_factory=BudgetLimits)
    review_base_url: str | None = None
    review: ReviewThresholds | None = None
    """When a mention goes to the review queue; None: only alerted negatives do."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertRules:
        alerts = settings.alerts
        return cls(
            negative_threshold=alerts.negative_threshold,
            channel=settings.slack.default_channel,
            severity=SeverityKnobs(
                sentiment_weight=alerts.sentiment_weight,
                rating_weight=alerts.rating_weight,
                reach_weight=alerts.reach_weight,
                churn_weight=alerts.churn_weight,
                score_weight=alerts.reach_score_weight,
                reply_weight=alerts.reach_reply_weight,
                repost_weight=alerts.reach_repost_weight,
                reach_saturation=alerts.reach_saturation,
                warning_at=alerts.warning_at,
                critical_at=alerts.critical_at,
                topic_weights=dict(alerts.topic_weights),
                source_weights=dict(alerts.source_weights),
            ),
            routes=tuple(
                RouteRule(
                    channels=tuple(route.channels),
                    touchpoints=tuple(route.touchpoints),
                    topics=tuple(route.topics),
                    sources=tuple(route.sources),
                    languages=tuple(route.languages),
                    min_severity=route.min_severity,
                )
                for route in alerts.routes
            ),
            route_mode=RouteMode(alerts.route_mode),
            incidents=IncidentKnobs(
                window_s=alerts.incident_window_minutes * 60.0,
                near_dup_bits=alerts.near_duplicate_bits,
                growing_at=alerts.incident_growing_at,
                critical_count=alerts.incident_critical_count,
                quiet_after_s=alerts.incident_quiet_minutes * 60.0,
                resolve_after_s=alerts.incident_resolve_minutes * 60.0,
            ),
            budget=BudgetLimits(per_hour=alerts.max_pings_per_hour, per_day=alerts.max_pings_per_day),
            review_base_url=alerts.review_base_url,
            review=ReviewThresholds(
                negative_threshold=alerts.negative_threshold,
                review_min_p_negative=alerts.review_min_p_negative,
                churn_at=alerts.churn_review_at,
            ),
        )


@dataclass(frozen=True)
class MentionFacts:
    """The model's reading of a mention, as plain values (so this module never imports `sentiment`)."""

    label: str
    p_negative: float
    confidence: float
    churn_risk: float | None = None
    topics: tuple[str, ...] = ()
    lang: str | None = None
    reliable: bool = True
    """False when the model flagged the text as one it reads badly: reviewed by a person, not alerted."""
    embedding: tuple[float, ...] = ()
    """The text's normalised sentence embedding: two stories on one topic are told apart by meaning."""


def alert_mention(
    session: Session,
    mention: models.Mention,
    facts: MentionFacts,
    rules: AlertRules,
    *,
    quote: str,
    now: datetime,
) -> int:
    """Queue the alerts of one analysed mention and flag it for review; returns the outbox rows written.

    Slack hears only reliable, confident negatives; doubtful or churn-signalling mentions get a review
    case without an alert (notifier.policy.review_reason).
    """
    decision = (
        decide_mention_alert(
            mention_id=mention.id,
            label=facts.label,
            p_negative=facts.p_negative,
            threshold=rules.negative_threshold,
            channel=rules.channel,
        )
        if facts.reliable
        else None
    )
    reason = (
        review_reason(
            label=facts.label,
            p_negative=facts.p_negative,
            reliable=facts.reliable,
            churn_risk=facts.churn_risk,
            thresholds=rules.review,
        )
        if rules.review is not None
        else None
    )
    if decision is None and reason is None:
        return 0
    touchpoint = mention.touchpoint.name if mention.touchpoint is not None else None
    source = mention.source.name
    severity = score_severity(
        MentionSignals(
            p_negative=facts.p_negative,
            rating=mention.rating,
            churn_risk=facts.churn_risk,
            followers=mention.author_followers,
            score=mention.score,
            replies=mention.replies,
            reposts=mention.reposts,
            topics=facts.topics,
            source=source,
        ),
        rules.severity,
    )
    case_id = storage.cases.open_case(
        session, mention_id=mention.id, reason=reason or "negative", severity=severity.level, now=now
    )
    if decision is None:
        return 0
    if case_id is None:
        case_id = storage.incidents.case_id_for_mention(session, mention.id)
    channels = route_channels(
        RouteTarget(
            severity=severity.level,
            touchpoint=touchpoint,
            topics=facts.topics,
            source=source,
            language=mention.lang or facts.lang,
        ),
        rules.routes,
        default_channel=rules.channel,
        mode=rules.route_mode,
    )
    card = blocks.MentionMessage(
        quote=quote,
        url=mention.url,
        source=source,
        author=mention.author,
        label=facts.label,
        confidence=facts.confidence,
        p_negative=facts.p_negative,
        touchpoint=touchpoint,
        topics=facts.topics,
        severity=severity.level,
        severity_score=severity.score,
        followers=mention.author_followers,
        replies=mention.replies,
        reposts=mention.reposts,
        score=mention.score,
        case_url=blocks.case_url(rules.review_base_url, case_id),
    )
    candidate = IncidentCandidate(
        at=now,
        text=quote,
        url=mention.url,
        published_at=mention.published_at,
        topics=facts.topics,
        embedding=facts.embedding,
        touchpoint=touchpoint,
        severity=severity.level,
        p_negative=facts.p_negative,
        reach_raw=severity.reach_raw,
    )
    written = 0
    for index, channel in enumerate(channels):
        # The first channel keeps the foundation's key, so a re-analysis can never alert a mention twice.
        key = decision.dedup_key if index == 0 else f"{decision.dedup_key}@{channel}"
        if storage.incidents.alert_exists(session, key):
            continue
        written += _alert_in_channel(
            session, mention, card, candidate, severity, rules, channel=channel, key=key, now=now
        )
    return written


def _alert_in_channel(
    session: Session,
    mention: models.Mention,
    card: blocks.MentionMessage,
    candidate: IncidentCandidate,
    severity: SeverityScore,
    rules: AlertRules,
    *,
    channel: str,
    key: str,
    now: datetime,
) -> int:
    knobs = rules.incidents
    rows = storage.incidents.open_incidents(
        session, channel=channel, since=now - timedelta(seconds=knobs.window_s)
    )
    views = [
        OpenIncident(
            id=row.id, last_mention_at=row.last_mention_at, stats=IncidentStats.from_json(row.stats or {})
        )
        for row in rows
    ]
    # The mention's own card, as a thread reply or held back by the budget; a new incident gets a parent.
    enqueue_card = functools.partial(
        storage.alerts.enqueue_alert,
        session,
        kind=AlertKind.MENTION,
        dedup_key=key,
        channel=channel,
        text=blocks.build_mention_fallback(card),
        blocks=blocks.build_mention_blocks(card),
        mention_id=mention.id,
        now=now,
    )
    match = match_incident(candidate, views, knobs)
    if match is not None:
        row = next(r for r in rows if r.id == match.id)
        stats = match.stats.add(candidate)
        _save_stats(row, stats, now=now, knobs=knobs)
        enqueue_card(incident_id=row.id, action=AlertAction.REPLY)
        _refresh_parent(session, row, stats, rules, now=now)
        return 2

    verdict = channel_budget(session, channel=channel, severity=severity.level, limits=rules.budget, now=now)
    if not verdict.allowed:
        enqueue_card(status=AlertStatus.SUPPRESSED, reason=verdict.reason)
        return 1

    held = storage.incidents.list_held_back(session, channel=channel)
    stats = IncidentStats(held_back=len(held)).add(candidate)
    state = growth_state(stats, now=now, knobs=knobs)
    incident = storage.incidents.create_incident(
        session,
        key=incident_key(candidate),
        channel=channel,
        mention_id=mention.id,
        topic=stats.topic,
        touchpoint_id=mention.touchpoint_id,
        state=state,
        stats=stats.to_json(),
        now=now,
    )
    parent = _parent_card(session, incident, stats, rules, now=now, mention=mention)
    alert_id = storage.alerts.enqueue_alert(
        session,
        kind=AlertKind.MENTION,
        dedup_key=key,
        channel=channel,
        text=blocks.build_incident_fallback(parent),
        blocks=blocks.build_incident_blocks(parent),
        mention_id=mention.id,
        incident_id=incident.id,
        action=AlertAction.POST,
        now=now,
    )
    if alert_id is not None:
        storage.incidents.mark_bundled(session, held, into_id=alert_id)
    return 1


def channel_budget(
    session: Session, *, channel: str, severity: Severity, limits: BudgetLimits, now: datetime
) -> BudgetVerdict:
    """May one more top-level message (a ping) go to `channel` now, counting what it was sent in the last
    hour and day (`notifier.budget`)? Every ping decides here: incidents' parents and spike messages."""
    return check_budget(
        severity,
        pings_last_hour=storage.incidents.count_pings(
            session, channel=channel, since=now - timedelta(hours=1)
        ),
        pings_last_day=storage.incidents.count_pings(session, channel=channel, since=now - timedelta(days=1)),
        limits=limits,
    )


def refresh_incidents(session: Session, rules: AlertRules, *, now: datetime) -> int:
    """Move incidents without new mentions to `quiet` or `resolved` and queue their parent update.

    A resolved incident is closed: a later related mention opens a new incident (and a new ping).
    Returns how many incidents changed state. Runs in the caller's transaction.
    """
    knobs = rules.incidents
    changed = 0
    silent = storage.incidents.incidents_silent_since(
        session, before=now - timedelta(seconds=knobs.quiet_after_s)
    )
    for row in silent:
        stats = IncidentStats.from_json(row.stats or {})
        state = growth_state(stats, now=now, knobs=knobs)
        if state == row.state:
            continue
        row.state = state
        if state == GrowthState.RESOLVED:
            row.status = IncidentStatus.CLOSED
            row.resolved_at = now
        _refresh_parent(session, row, stats, rules, now=now)
        changed += 1
    return changed


def refresh_incident_states(
    sessions: sessionmaker[Session], rules: AlertRules, *, now: datetime | None = None
) -> int:
    """Periodic job: incidents without new mentions turn quiet, then resolved; their parent is updated."""
    with sessions.begin() as session:
        return refresh_incidents(session, rules, now=now or datetime.now(UTC))


def resolve_incident(session: Session, incident_id: int, rules: AlertRules, *, now: datetime) -> bool:
    """Close an incident by hand (from the review queue): its parent message is updated to `resolved`.

    Returns False when the incident does not exist or is already closed, so a double click is harmless.
    """
    row = session.get(models.Incident, incident_id, with_for_update=True)
    if row is None or row.status != IncidentStatus.OPEN:
        return False
    stats = replace(IncidentStats.from_json(row.stats or {}), closed=True)
    row.stats = stats.to_json()
    row.state = GrowthState.RESOLVED
    row.status = IncidentStatus.CLOSED
    row.resolved_at = now
    _refresh_parent(session, row, stats, rules, now=now)
    return True


def _save_stats(row: models.Incident, stats: IncidentStats, *, now: datetime, knobs: IncidentKnobs) -> None:
    row.stats = stats.to_json()
    row.mention_count = stats.count
    row.last_mention_at = max(row.last_mention_at, now)
    row.state = growth_state(stats, now=now, knobs=knobs)


def _refresh_parent(
    session: Session, row: models.Incident, stats: IncidentStats, rules: AlertRules, *, now: datetime
) -> None:
    first = session.get(models.Mention, row.mention_id) if row.mention_id is not None else None
    parent = _parent_card(session, row, stats, rules, now=now, mention=first)
    storage.incidents.refresh_parent(
        session,
        row,
        text=blocks.build_incident_fallback(parent),
        blocks=blocks.build_incident_blocks(parent),
        now=now,
    )


def _parent_card(
    session: Session,
    row: models.Incident,
    stats: IncidentStats,
    rules: AlertRules,
    *,
    now: datetime,
    mention: models.Mention | None,
) -> blocks.IncidentMessage:
    """What the parent message shows: the incident's running stats and its first mention."""
    case_id = storage.incidents.case_id_for_mention(session, row.mention_id) if row.mention_id else None
    if row.status == IncidentStatus.OPEN:
        state = growth_state(stats, now=now, knobs=rules.incidents)
    else:
        state = GrowthState.RESOLVED
    return blocks.IncidentMessage(
        title=incident_title(stats, mention),
        state=state,
        count=stats.count,
        reach=stats.reach_raw,
        trend=sentiment_trend(stats.p_negatives),
        # a critical incident (grown past `critical_count`) is critical whatever its mentions were
        severity=Severity.CRITICAL if state == GrowthState.CRITICAL else stats.max_severity,
        quote=_quote(mention) if mention is not None else "",
        url=mention.url if mention is not None else "",
        source=mention.source.name if mention is not None else "",
        touchpoint=stats.touchpoint,
        topics=stats.topics,
        first_at=_hhmm(stats.published_first or stats.first_at),
        last_at=_hhmm(stats.published_last or stats.last_at),
        case_url=blocks.case_url(rules.review_base_url, case_id),
        note=held_back_note(stats.held_back),
    )


def incident_title(stats: IncidentStats, mention: models.Mention | None) -> str:
    """What the incident is about: its theme and touchpoint ("delivery at delivery" reads oddly, so a
    touchpoint named like the topic is said once), else the first mention's title."""
    topic = blocks.readable_name(stats.topic) if stats.topic else None
    touchpoint = blocks.readable_name(stats.touchpoint) if stats.touchpoint else None
    if topic is not None:
        return f"{topic} · {touchpoint}" if touchpoint and touchpoint != topic else topic
    if touchpoint:
        return touchpoint
    return mention.title if mention is not None and mention.title else "negative mentions"


def _quote(mention: models.Mention) -> str:
    return analysis_text(mention.title, mention.text)


def _hhmm(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else None
