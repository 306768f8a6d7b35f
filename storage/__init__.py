"""vocwatch storage: typed tables, engines, migrations and the queries the pipeline stages run.

Repository functions take a `Session` and never commit: the stage that calls them owns the transaction
(`with sessions.begin() as session:`), so a stage's reads, writes and state changes commit together.

    engine = storage.make_engine("sqlite:///data/vocwatch.db")
    storage.upgrade(engine)
    sessions = storage.make_session_factory(engine)
    with sessions.begin() as session:
        result = storage.mentions.insert_new_mentions(session, items)
"""

from storage import (
    aggregates,
    alerts,
    cases,
    catalog,
    corrections,
    incidents,
    mentions,
    models,
    queue,
    runs,
    sources,
)
from storage.aggregates import TouchpointSummary
from storage.base import Base, UTCDateTime
from storage.engine import make_engine, make_session_factory
from storage.enums import (
    AlertAction,
    AlertKind,
    AlertStatus,
    CaseEventKind,
    CaseStatus,
    CrawlRunStatus,
    DigestStatus,
    IncidentStatus,
    JourneyStage,
    MentionStatus,
    SentimentLabel,
    Severity,
    SurveyMetric,
    TouchpointOrigin,
    UserRole,
)
from storage.errors import (
    CaseActionError,
    LastAdminError,
    MigrationError,
    NaiveDatetimeError,
    StorageError,
    UnknownTouchpointError,
    UnsupportedDatabaseError,
    UserExistsError,
)
from storage.mentions import InsertResult, NewMention, content_hash
from storage.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = [
    "AlertAction",
    "AlertKind",
    "AlertStatus",
    "Base",
    "CaseActionError",
    "CaseEventKind",
    "CaseStatus",
    "CrawlRunStatus",
    "DigestStatus",
    "IncidentStatus",
    "InsertResult",
    "JourneyStage",
    "LastAdminError",
    "MentionStatus",
    "MigrationError",
    "NaiveDatetimeError",
    "NewMention",
    "SentimentLabel",
    "Severity",
    "StorageError",
    "SurveyMetric",
    "TouchpointOrigin",
    "TouchpointSummary",
    "UTCDateTime",
    "UnknownTouchpointError",
    "UnsupportedDatabaseError",
    "UserExistsError",
    "UserRole",
    "aggregates",
    "alerts",
    "cases",
    "catalog",
    "content_hash",
    "corrections",
    "current_revision",
    "downgrade",
    "head_revision",
    "incidents",
    "make_engine",
    "make_session_factory",
    "mentions",
    "models",
    "queue",
    "runs",
    "sources",
    "upgrade",
]
