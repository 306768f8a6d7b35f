"""vocwatch's notifier: alert policy, Slack Block Kit messages and the outbox dispatcher.

This package surface holds only the pure parts (plain values in, plain values out): of storage they use
the stored vocabulary alone (`storage.enums`, e.g. `Severity`), never tables or sessions. The dispatcher
needs the database and is imported from its module: `from notifier.dispatcher import Dispatcher`.
"""

from notifier.blocks import (
    IncidentMessage,
    MentionMessage,
    build_incident_blocks,
    build_incident_fallback,
    build_mention_blocks,
    build_mention_fallback,
    case_url,
)
from notifier.budget import BudgetLimits, BudgetVerdict, check_budget, held_back_note
from notifier.escape import escape_and_truncate, escape_mrkdwn, is_linkable, safe_link, truncate
from notifier.incidents import (
    GrowthState,
    IncidentCandidate,
    IncidentKnobs,
    IncidentStats,
    OpenIncident,
    growth_state,
    match_incident,
    sentiment_trend,
)
from notifier.policy import AlertDecision, decide_mention_alert, mention_dedup_key, severity_for
from notifier.routing import RouteMode, RouteRule, RouteTarget, route_channels
from notifier.severity import MentionSignals, SeverityKnobs, SeverityScore, score_severity

__all__ = [
    "AlertDecision",
    "BudgetLimits",
    "BudgetVerdict",
    "GrowthState",
    "IncidentCandidate",
    "IncidentKnobs",
    "IncidentMessage",
    "IncidentStats",
    "MentionMessage",
    "MentionSignals",
    "OpenIncident",
    "RouteMode",
    "RouteRule",
    "RouteTarget",
    "SeverityKnobs",
    "SeverityScore",
    "build_incident_blocks",
    "build_incident_fallback",
    "build_mention_blocks",
    "build_mention_fallback",
    "case_url",
    "check_budget",
    "decide_mention_alert",
    "escape_and_truncate",
    "escape_mrkdwn",
    "growth_state",
    "held_back_note",
    "is_linkable",
    "match_incident",
    "mention_dedup_key",
    "route_channels",
    "safe_link",
    "score_severity",
    "sentiment_trend",
    "severity_for",
    "truncate",
]
