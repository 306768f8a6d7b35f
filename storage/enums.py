"""Status and category vocabularies shared by the tables and the packages that write them.

They are `StrEnum`s so that code compares them with plain strings and rows store their lowercase
*values* in VARCHAR columns (see `storage.base`): adding a member later needs no migration, and a raw
`SELECT ... WHERE status = 'pending'` reads naturally.
"""

from __future__ import annotations

import enum

__all__ = [
    "AlertAction",
    "AlertKind",
    "AlertStatus",
    "CaseEventKind",
    "CaseStatus",
    "CrawlRunStatus",
    "DigestStatus",
    "IncidentStatus",
    "JourneyStage",
    "MentionStatus",
    "SentimentLabel",
    "Severity",
    "SurveyMetric",
    "TouchpointOrigin",
    "UserRole",
]


class JourneyStage(enum.StrEnum):
    """Customer-journey stages, in journey order (reports sort touchpoints by this order)."""

    DISCOVER = "discover"
    DECIDE = "decide"
    BUY = "buy"
    RECEIVE = "receive"
    ONBOARD = "onboard"
    USE = "use"
    GET_HELP = "get_help"
    RENEW = "renew"


class MentionStatus(enum.StrEnum):
    """Where a mention is in the pipeline; `new` rows are the analysis queue."""

    NEW = "new"
    ANALYZED = "analyzed"
    FAILED = "failed"


class TouchpointOrigin(enum.StrEnum):
    """Why a mention sits at its touchpoint; each origin gives way only to a stronger one.

    `default`: the source's default touchpoint (or the crawl's), a guess about where such posts belong;
    `assigned`: the item itself named it (a survey answer to a question about onboarding);
    `topic`: analysis found a topic with a touchpoint rule ("the courier lost it": delivery), which wins
    over a default; `correction`: CX staff set it in the review UI, which wins over everything.
    """

    DEFAULT = "default"
    ASSIGNED = "assigned"
    TOPIC = "topic"
    CORRECTION = "correction"


class SentimentLabel(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class AlertKind(enum.StrEnum):
    """What an outbox row is about; `case_update` is a review-UI action echoed in its mention's thread."""

    MENTION = "mention"
    SPIKE = "spike"
    SOURCE_HEALTH = "source_health"
    DIGEST = "digest"
    OPS = "ops"
    CASE_UPDATE = "case_update"


class AlertAction(enum.StrEnum):
    """What the dispatcher does with an outbox row.

    `post`: a new top-level message (a standalone alert or an incident's parent); `reply`: a message in
    the thread of the row's incident (sent only once the parent has a `ts`); `update`: `chat.update` of
    the incident's parent message (idempotent, so a coalesced update carries the latest state).
    """

    POST = "post"
    REPLY = "reply"
    UPDATE = "update"


class AlertStatus(enum.StrEnum):
    """Outbox states: pending -> sending -> sent; `sending` survives a crash and is reconciled, not resent.

    `ambiguous`: the post may or may not be in Slack and Slack could not be asked (reconciliation switched
    off, or the history unreadable); it is never sent again by itself, and a person is asked to look.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    AMBIGUOUS = "ambiguous"


class Severity(enum.StrEnum):
    """How loud an alert is (notifier's policy decides it); a case keeps its mention's level for the queue.

    It lives here, below the alert policy, because the `cases.severity` column stores it: the pure policy
    modules import this vocabulary module and nothing else from storage.
    """

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class CaseEventKind(enum.StrEnum):
    """What happened to a case (`case_events.kind`), so the history and the Slack echo can name it.

    `opened` is written when the pipeline flags a mention (`storage.cases.open_case`); every other kind is
    an action a person takes in the review UI (`storage.cases.apply_action`).
    """

    OPENED = "opened"
    ACKNOWLEDGE = "acknowledge"
    REOPEN = "reopen"
    ASSIGN = "assign"
    NOTE = "note"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    CORRECT = "correct"


class CrawlRunStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


class IncidentStatus(enum.StrEnum):
    """An open incident keeps collecting mentions into its Slack thread; a closed one does not."""

    OPEN = "open"
    CLOSED = "closed"


class DigestStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # The week had nothing to report (no mentions, no survey answers) and empty weeks are not posted:
    # nothing is owed, so the weekly job stops there; a later run with something to post still posts.
    SKIPPED = "skipped"


class SurveyMetric(enum.StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
