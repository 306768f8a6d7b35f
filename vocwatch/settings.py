"""The one typed settings object, and the only place that reads `vocwatch.toml` and `VOCWATCH_*` variables.

Precedence, lowest to highest: built-in defaults < the TOML file < `VOCWATCH_*` environment variables
(nested keys with `__`, e.g. `VOCWATCH_SLACK__TOKEN`) < values passed in by the CLI. Packages below the
composition root never see this object: `wiring.py` hands them plain values.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Self

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crawlers.registry import SOURCE_KINDS
from storage.enums import JourneyStage
from vocwatch.errors import VocwatchError

__all__ = [
    "AlertSettings",
    "CrawlSettings",
    "ModelSettings",
    "ScheduleSettings",
    "Settings",
    "SlackSettings",
    "SourceSettings",
    "TopicSettings",
    "TouchpointSettings",
    "default_config_path",
    "load_settings",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Section(BaseModel):
    """Config sections reject unknown keys, so a typo is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SlackSettings(_Section):
    token: SecretStr | None = None
    base_url: str = "https://slack.com/api/"
    default_channel: str = "#cx-alerts"


class ModelSettings(_Section):
    dir: Path | None = None
    """A converted default model directory; empty means `<data_dir>/models/...`, converted on first use."""
    heads_dir: Path | None = None
    """Trained heads; empty means the heads shipped inside the `sentiment` package."""
    batch_size: int = Field(32, ge=1, le=1024)


class AlertSettings(_Section):
    negative_threshold: Probability = 0.7
    """A mention is alerted when the model's probability of `negative` reaches this."""


class ScheduleSettings(_Section):
    analyze_every_s: int = Field(60, ge=1)
    dispatch_every_s: int = Field(5, ge=1)


class CrawlSettings(_Section):
    user_agent: str = "vocwatch/0.1 (self-hosted voice-of-customer monitor)"
    obey_robots: bool = True
    lookback_days: int = Field(30, ge=1)
    max_pages: int = Field(20, ge=1)
    concurrency_per_domain: int = Field(2, ge=1)
    download_delay_s: float = Field(1.0, ge=0.0)
    timeout_s: float = Field(600.0, gt=0.0)
    """A crawl subprocess still running after this long is stopped and its run marked failed."""


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
            tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise VocwatchError(
                f"{toml_path}: not valid TOML: {exc}", fix="fix the syntax at that line"
            ) from exc

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
