"""The one typed settings object, and the only place that reads `vocwatch.toml` and `VOCWATCH_*` variables.

Precedence, lowest to highest: built-in defaults < the TOML file < `VOCWATCH_*` environment variables
(nested keys with `__`, e.g. `VOCWATCH_SLACK__TOKEN`) < values passed in by the CLI. Packages below the
composition root never see this object: `wiring.py` hands them plain values.
"""

from __future__ import annotations

import logging
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crawlers import defaults as crawl_defaults
from crawlers.registry import SOURCE_KINDS
from notifier.budget import BudgetLimits
from notifier.incidents import IncidentKnobs
from notifier.severity import SeverityKnobs
from notifier.spikes import DEFAULT_MIN_HISTORY, SpikeRule
from storage.enums import JourneyStage, Severity
from vocwatch.config_file import exposed_secrets_warning
from vocwatch.errors import VocwatchError

__all__ = [
    "AlertRouteSettings",
    "AlertSettings",
    "CrawlSettings",
    "DigestSettings",
    "ModelSettings",
    "ScheduleSettings",
    "Settings",
    "SlackSettings",
    "SourceSettings",
    "SpikeSettings",
    "TopicSettings",
    "TouchpointSettings",
    "WebSettings",
    "WorkerSettings",
    "default_config_path",
    "load_settings",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# The defaults of the knobs that packages also default on their own come from those packages, so each
# default is written once (`[alerts]` from notifier's knobs, `[crawl]` from crawlers.defaults).
_SEVERITY = SeverityKnobs()
_INCIDENT = IncidentKnobs()
_BUDGET = BudgetLimits()
_SPIKE = SpikeRule(name="defaults", window=timedelta(hours=1), baseline_bins=12)


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


class _Section(BaseModel):
    """Config sections reject unknown keys, so a typo is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SlackSettings(_Section):
    token: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    default_channel: str = "#cx-alerts"
    ops_channel: str | None = None
    """Where source-health alerts (dark / degraded / recovered) go; empty means `default_channel`."""
    reconcile: bool = True
    """Before re-sending an alert whose delivery a crash interrupted, look for it in Slack (needs the
    history scopes, see README "Slack scopes"). `false`: never read Slack back; such an alert is marked
    `ambiguous` and its mention's review case asks a person to check the channel instead."""


class ModelSettings(_Section):
    dir: Path | None = None
    """A converted default model directory; empty means `<data_dir>/models/...`, converted on first use."""
    heads_dir: Path | None = None
    """Trained heads; empty means the heads shipped inside the `sentiment` package."""
    batch_size: int = Field(32, ge=1, le=1024)
    classifier: str | None = None
    """A local Hugging Face sequence-classification model directory (or a hub id already in the local
    cache) that replaces the sentiment head; topics, aspects and churn still use the default encoder."""
    backend: Literal["torch", "int8"] = "torch"
    """`int8`: dynamically quantised Linear layers, faster on CPU at a small accuracy cost
    (see docs/accuracy.md)."""


class AlertRouteSettings(_Section):
    """One `[[alerts.routes]]` rule: every condition set must hold; a list matches any of its values."""

    channels: list[str] = Field(min_length=1)
    touchpoints: list[str] = []
    topics: list[str] = []
    sources: list[str] = []
    languages: list[str] = []
    min_severity: Severity | None = None


class AlertSettings(_Section):
    negative_threshold: Probability = 0.7
    """A mention is alerted when the model's probability of `negative` reaches this."""
    review_min_p_negative: Probability = 0.4
    """Below the alert threshold, a mention this likely negative goes to the review queue, not Slack."""
    churn_review_at: Probability = 0.5
    """A mention whose churn risk reaches this goes to the review queue even if it is not negative."""
    # Severity (notifier/severity.py): score = (Σ weight·component over known components / Σ weight)
    # × topic weight × source weight; components: p_negative, 1 − rating, log-scaled reach, churn risk.
    sentiment_weight: float = Field(_SEVERITY.sentiment_weight, ge=0.0)
    rating_weight: float = Field(_SEVERITY.rating_weight, ge=0.0)
    reach_weight: float = Field(_SEVERITY.reach_weight, ge=0.0)
    churn_weight: float = Field(_SEVERITY.churn_weight, ge=0.0)
    reach_score_weight: float = Field(_SEVERITY.score_weight, ge=0.0)
    """Reach = followers + this × score + reply weight × replies + repost weight × reposts."""
    reach_reply_weight: float = Field(_SEVERITY.reply_weight, ge=0.0)
    reach_repost_weight: float = Field(_SEVERITY.repost_weight, ge=0.0)
    reach_saturation: float = Field(_SEVERITY.reach_saturation, gt=0.0)
    """A reach this large (or larger) counts as the full 1.0; reach is scaled by ln(1 + reach)."""
    warning_at: Probability = _SEVERITY.warning_at
    critical_at: Probability = _SEVERITY.critical_at
    topic_weights: dict[str, float] = {}
    """Multipliers per topic name (the largest of a mention's topics applies), e.g. {billing = 1.3}."""
    source_weights: dict[str, float] = {}
    """Multipliers per source name, e.g. {press_rss = 1.2}."""
    # Routing (notifier/routing.py): rules in order; unmatched alerts go to slack.default_channel.
    route_mode: Literal["first", "all"] = "first"
    """`first`: the first matching rule wins; `all`: every matching rule adds its channels."""
    routes: list[AlertRouteSettings] = []
    # Incidents (notifier/incidents.py): related mentions form one Slack thread.
    incident_window_minutes: int = Field(_minutes(_INCIDENT.window_s), ge=1)
    """A mention joins an open incident whose last mention is at most this old."""
    incident_growing_at: int = Field(_INCIDENT.growing_at, ge=1)
    incident_critical_count: int = Field(_INCIDENT.critical_count, ge=1)
    incident_quiet_minutes: int = Field(_minutes(_INCIDENT.quiet_after_s), ge=1)
    incident_resolve_minutes: int = Field(_minutes(_INCIDENT.resolve_after_s), ge=1)
    """No new mention for this long: the incident is resolved and its parent message says so."""
    near_duplicate_bits: int = Field(_INCIDENT.near_dup_bits, ge=0, le=64)
    # Budget (notifier/budget.py): new top-level messages ("pings") per channel; 0 = unlimited.
    max_pings_per_hour: int = Field(_BUDGET.per_hour, ge=0)
    max_pings_per_day: int = Field(_BUDGET.per_day, ge=0)
    review_base_url: str | None = None
    """Base URL of the review UI (e.g. "https://vocwatch.example.com"); alerts link to /cases/{id}."""

    @model_validator(mode="after")
    def _thresholds_are_ordered(self) -> Self:
        if self.warning_at > self.critical_at:
            raise ValueError("warning_at must not be above critical_at")
        if self.incident_growing_at > self.incident_critical_count:
            raise ValueError("incident_growing_at must not be above incident_critical_count")
        if self.incident_quiet_minutes > self.incident_resolve_minutes:
            raise ValueError("incident_quiet_minutes must not be above incident_resolve_minutes")
        if self.sentiment_weight + self.reach_weight <= 0:
            raise ValueError("sentiment_weight + reach_weight must be above 0")
        return self


class ScheduleSettings(_Section):
    analyze_every_s: int = Field(60, ge=1)
    dispatch_every_s: int = Field(5, ge=1)
    spike_check_every_s: int = Field(300, ge=1)
    health_check_every_s: int = Field(600, ge=1)
    incidents_every_s: int = Field(60, ge=1)
    """How often quiet incidents are moved on (quiet → resolved) and their Slack parent updated."""
    misfire_grace_s: int = Field(60, ge=1)
    """`vocwatch run`: how late a job run may start and still run (at least the job's own interval).
    The runs a job missed while the daemon was down collapse into ONE catch-up run: no stampede."""
    max_workers: int = Field(4, ge=1, le=64)
    """Jobs that may run at the same time (each job itself never overlaps its previous run)."""


class SpikeSettings(_Section):
    """Spike alerts (notifier/spikes.py): last hour vs the prior 12 h, last day vs the prior 14 days."""

    enabled: bool = True
    channel: str | None = None
    """Where spike alerts go; empty means `slack.default_channel`."""
    hour_min_count: int = Field(_SPIKE.min_count, ge=1)
    """Fewer negatives than this in the last hour is never a spike (so 1 → 3 is not news)."""
    day_min_count: int = Field(10, ge=1)
    p_value: float = Field(_SPIKE.p_value, gt=0.0, lt=1.0)
    """Poisson tail probability below which the count is unusual for the baseline."""
    k_sigma: float = Field(_SPIKE.k_sigma, ge=0.0)
    """The count must also exceed the baseline mean + k_sigma standard deviations (bursty baselines)."""
    min_share_rise: float = Field(_SPIKE.min_share_rise, ge=0.0, le=1.0)
    """The negative share must rise at least this much (absolute) over the baseline's share."""
    min_history_days: float = Field(DEFAULT_MIN_HISTORY.total_seconds() / 86400, ge=0.0)
    """A touchpoint or topic is judged only after this long under watch: before, its usual volume is
    unknown (a fresh install's backlog, a new topic). Spike alerts count against `alerts.max_pings_*`."""


class CrawlSettings(_Section):
    user_agent: str = crawl_defaults.USER_AGENT
    obey_robots: bool = crawl_defaults.ROBOTSTXT_OBEY
    lookback_days: int = Field(30, ge=1)
    max_pages: int = Field(20, ge=1)
    concurrency_per_domain: int = Field(crawl_defaults.CONCURRENT_REQUESTS_PER_DOMAIN, ge=1)
    download_delay_s: float = Field(crawl_defaults.DOWNLOAD_DELAY, ge=0.0)
    timeout_s: float = Field(600.0, gt=0.0)
    """A crawl subprocess still running after this long is stopped and its run marked failed."""
    redis_url: str | None = None
    """Scale-out: a Redis URL (`redis://host:6379/0`) makes `vocwatch crawl --worker` processes share one
    crawl frontier and request dedup per source (scrapy-redis), so N workers split a source's pages."""
    worker_idle_s: float = Field(10.0, ge=0.0, le=600.0)
    """`crawl --worker`: how long a worker with an empty shared queue waits for pages that other workers
    may still enqueue before it finishes its run."""
    author_privacy: Literal["keep", "hash", "drop"] = "keep"
    """How mention authors are stored: as sent ("keep"), as a keyed pseudonym ("hash": `sha256:` + 16 hex
    digits of HMAC-SHA256 with author_hash_key, the same token for the same author on every run), or not at
    all ("drop"). The source's raw answer, kept for replaying parsers, is not changed and is never shown."""
    author_hash_key: SecretStr | None = None
    """The secret of "hash" (required then); prefer VOCWATCH_CRAWL__AUTHOR_HASH_KEY. Changing it changes
    every token, so an author's old and new mentions no longer match."""

    @model_validator(mode="after")
    def _hash_needs_a_key(self) -> Self:
        if self.author_privacy == "hash" and (
            self.author_hash_key is None or not self.author_hash_key.get_secret_value()
        ):
            raise ValueError(
                'author_privacy = "hash" needs author_hash_key: a long random secret, e.g. set '
                "VOCWATCH_CRAWL__AUTHOR_HASH_KEY to the output of `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`"
            )
        return self


class TouchpointSettings(_Section):
    stage: JourneyStage
    description: str = ""


class TopicSettings(_Section):
    description: str
    examples: list[str] = []
    keywords: list[str] = []
    touchpoint: str | None = None


class SourceSettings(_Section):
    kind: str
    urls: list[str] = []
    query: str | None = None
    touchpoint: str | None = None
    """The touchpoint of this source's mentions unless a topic rule or a CX correction says otherwise."""
    every_minutes: int = Field(30, ge=1)
    lookback_days: int | None = Field(None, ge=1)
    """How far back this source's first crawl goes; empty means `crawl.lookback_days` (a review site
    whose complaints from last year still matter needs more than a news search)."""
    enabled: bool = True
    params: dict[str, Any] = {}
    """Options of this kind of source (e.g. an instance URL, an app id); checked by the kind's own model."""
    credentials: dict[str, SecretStr] = {}
    """Secrets this kind may need (OAuth client id/secret, app passwords); prefer env vars such as
    VOCWATCH_SOURCES__ACME_REDDIT__CREDENTIALS__CLIENT_SECRET."""

    @model_validator(mode="after")
    def _kind_and_params_are_valid(self) -> Self:
        kind = SOURCE_KINDS.get(self.kind)
        if kind is None:
            known = ", ".join(sorted(SOURCE_KINDS))
            raise ValueError(f"unknown source kind {self.kind!r}; known kinds: {known}")
        if kind.needs_urls and not self.urls:
            raise ValueError(f"a {self.kind} source needs urls")
        try:
            kind.validate_params(self.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"params.{key}: {first['msg']}") from None
        return self


class DigestSettings(_Section):
    """The weekly digest (issue 7)."""

    channel: str | None = None
    """Where the digest is posted; empty means `slack.default_channel`."""
    enabled: bool = True
    """Whether `vocwatch run` posts the digest of each finished week."""
    timezone: str = "UTC"
    """IANA time zone whose Monday-to-Sunday weeks the digest covers (e.g. "Europe/Berlin")."""
    post_hour: int = Field(8, ge=0, le=23)
    """Local hour on Monday from which the daemon posts the week that just ended."""
    check_every_s: int = Field(900, ge=60)
    """How often the daemon checks whether a digest is due (posting is once per week and channel)."""
    min_mentions: int = Field(20, ge=1)
    """Touchpoints with fewer analyzed mentions in the week get a small-sample warning."""
    churn_threshold: float = Field(0.5, ge=0.0, le=1.0)
    """Churn risk from which a mention counts as a churn-risk mention."""
    mix_shift_threshold: float = Field(0.2, ge=0.0, le=1.0)
    """Share of volume that moved between sources from which the digest explains the mix effect."""
    top_topics: int = Field(5, ge=1, le=20)
    """How many negative topics the digest lists."""
    quotes_per_topic: int = Field(3, ge=0, le=5)
    """Representative quotes shown per topic."""
    trend_weeks: int = Field(8, ge=5, le=26)
    """Weeks in the chart's trend (at least 5: the 4-week average needs the 4 weeks before)."""
    out_dir: Path | None = None
    """Where the HTML and CSV reports are written; empty means `<data_dir>/digests`."""
    post_empty: bool = False
    """Post the digest of a week with no mentions and no survey answers; off: only its HTML and CSV."""

    @model_validator(mode="after")
    def _known_timezone(self) -> Self:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone: unknown time zone {self.timezone!r}; use an IANA name such as Europe/Berlin"
            ) from None
        return self


class WebSettings(_Section):
    """The review UI, `vocwatch serve` (issue 8)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_key: SecretStr | None = None
    """Signs session cookies; empty: a random key is generated once and kept in `<data_dir>/web-secret`."""
    secure_cookies: bool = True
    """Session cookie only over HTTPS (browsers also accept it on http://127.0.0.1 and localhost)."""
    session_hours: float = Field(12.0, gt=0)
    """How long a login lasts; after that the browser must log in again."""
    login_free_attempts: int = Field(5, ge=1)
    """Wrong passwords allowed before the account is locked for a while."""
    lockout_base_s: float = Field(30.0, gt=0)
    """First lock's length; each further wrong password doubles it (exponential backoff)."""
    lockout_max_s: float = Field(3600.0, gt=0)
    """Upper bound of one lock."""
    page_size: int = Field(50, ge=5, le=500)
    """Cases per queue page."""


class WorkerSettings(_Section):
    """Scale-out workers (issue 9)."""

    lease_s: int = Field(300, ge=5)
    """How long a claimed batch stays with one worker before another may take it over."""
    idle_sleep_s: float = Field(2.0, gt=0.0, le=60.0)
    """How long an idle worker (`vocwatch worker analyze|dispatch`) waits before looking for work again."""
    external_analyzers: bool = False
    """`vocwatch run` leaves analysis to `vocwatch worker analyze` processes (scale-out)."""
    external_dispatchers: bool = False
    """`vocwatch run` leaves Slack delivery to `vocwatch worker dispatch` processes (scale-out)."""
    standby_poll_s: float = Field(5.0, gt=0.0, le=300.0)
    """A standby `vocwatch run` (another one leads) tries to take over this often (PostgreSQL only)."""


def _touchpoint(stage: JourneyStage, description: str) -> TouchpointSettings:
    return TouchpointSettings(stage=stage, description=description)


DEFAULT_TOUCHPOINTS: dict[str, TouchpointSettings] = {
    "social_and_news": _touchpoint(
        JourneyStage.DISCOVER, "What people read about the brand before they are customers"
    ),
    "reviews_and_comparison": _touchpoint(JourneyStage.DECIDE, "Review sites, comparisons, pricing pages"),
    "checkout": _touchpoint(JourneyStage.BUY, "Ordering and paying"),
    "delivery": _touchpoint(JourneyStage.RECEIVE, "Shipping, couriers, packaging, arrival"),
    "setup": _touchpoint(JourneyStage.ONBOARD, "Installing, signing up, first use"),
    "product": _touchpoint(JourneyStage.USE, "The product or app in daily use"),
    "support": _touchpoint(JourneyStage.GET_HELP, "Support chat, phone, email, returns"),
    "renewal": _touchpoint(JourneyStage.RENEW, "Billing, renewals, cancellations, loyalty"),
}


class Settings(BaseSettings):
    """Everything vocwatch can be configured with; see the commented example that `vocwatch init` writes."""

    model_config = SettingsConfigDict(env_prefix="VOCWATCH_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path(platformdirs.user_data_dir("vocwatch"))
    database_url: str | None = None
    """SQLAlchemy URL; empty means an SQLite file `vocwatch.db` in the data dir."""
    slack: SlackSettings = SlackSettings()
    model: ModelSettings = ModelSettings()
    alerts: AlertSettings = AlertSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    spikes: SpikeSettings = SpikeSettings()
    digest: DigestSettings = DigestSettings()
    web: WebSettings = WebSettings()
    worker: WorkerSettings = WorkerSettings()
    crawl: CrawlSettings = CrawlSettings()
    touchpoints: dict[str, TouchpointSettings] = DEFAULT_TOUCHPOINTS
    topics: dict[str, TopicSettings] = {}
    sources: dict[str, SourceSettings] = {}

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'vocwatch.db'}"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @model_validator(mode="after")
    def _touchpoint_names_exist(self) -> Self:
        """A source or topic naming an unconfigured touchpoint is a typo the operator must hear about."""
        for kind, section in (("sources", self.sources), ("topics", self.topics)):
            for name, entry in section.items():
                if entry.touchpoint is not None and entry.touchpoint not in self.touchpoints:
                    raise ValueError(
                        f"{kind}.{name}.touchpoint: {entry.touchpoint!r} is not a configured touchpoint "
                        f"(known: {', '.join(sorted(self.touchpoints))})"
                    )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def default_config_path() -> Path:
    """`./vocwatch.toml`: the operator keeps the config next to where they run the daemon."""
    return Path("vocwatch.toml")


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from `path` (if it exists), the environment and `overrides`.

    Any problem becomes a VocwatchError naming the key, so the CLI can print one line instead of a
    pydantic error dump.
    """
    toml_path = path if path is not None and path.exists() else None
    if path is not None and toml_path is None and path != default_config_path():
        raise VocwatchError(f"config file {path} does not exist", fix="run `vocwatch init` to write one")
    if toml_path is not None:
        try:
            document = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise VocwatchError(
                f"{toml_path}: not valid TOML: {exc}", fix="fix the syntax at that line"
            ) from exc
        if warning := exposed_secrets_warning(toml_path, document):
            logging.getLogger(__name__).warning(warning)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml_path)

    try:
        return _FromFile(**overrides)
    except ValidationError as exc:
        raise VocwatchError(
            _one_line(exc, toml_path), fix="fix that key in the config or environment"
        ) from exc


def _one_line(exc: ValidationError, toml_path: Path | None) -> str:
    """The first error as `key.path: message`, which is what an operator needs to find the typo."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    where = f" in {toml_path}" if toml_path is not None else ""
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    message = error["msg"].removeprefix("Value error, ")
    return f"config error{where}: {key + ': ' if key else ''}{message}{extra}"
