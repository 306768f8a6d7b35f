"""All vocwatch tables, one module per aggregate; importing this package registers them on `Base.metadata`."""

from storage.models.alerts import Alert, Incident
from storage.models.cases import Case, CaseEvent
from storage.models.catalog import Topic, Touchpoint
from storage.models.digests import Digest
from storage.models.mentions import Analysis, Mention, MentionTopic
from storage.models.sources import CrawlRun, Source
from storage.models.spikes import SpikeEpisode, SpikeKey
from storage.models.surveys import SurveyResponse
from storage.models.users import User

__all__ = [
    "Alert",
    "Analysis",
    "Case",
    "CaseEvent",
    "CrawlRun",
    "Digest",
    "Incident",
    "Mention",
    "MentionTopic",
    "Source",
    "SpikeEpisode",
    "SpikeKey",
    "SurveyResponse",
    "Topic",
    "Touchpoint",
    "User",
]
