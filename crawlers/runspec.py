"""RunSpec: the one input of a crawl process.

`vocwatch` (the composition root) builds it from the typed settings and the source's config and pipes it
as JSON to `python -m crawlers` on stdin: never argv, where `ps` would show a PostgreSQL password. The crawl
reads no environment variables and no config file, so everything a crawl depends on is visible here.
"""

from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from crawlers import defaults
from crawlers.errors import RunSpecError

__all__ = ["RunSpec"]


class RunSpec(BaseModel):
    """What to crawl, where to store it, and how politely.

    Unknown keys are refused (a typo such as `max_page` must not silently fall back to a default).
    `urls` are start URLs for the kinds that take URLs (rss, reviews, profile), `query` the search of the
    kinds that search; `params` holds the other options of the kind, validated by the spider's own params
    model (see `crawlers.registry`). Durations are seconds (`*_s`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_name: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    urls: tuple[str, ...] = ()
    query: str | None = None  # search kinds (reddit, hackernews, bluesky, mastodon): what to search for
    params: dict[str, Any] = Field(default_factory=dict)
    # Secrets of the kinds that log in (OAuth client id/secret, app passwords). Kept out of repr so that
    # no log line or traceback that prints the spec shows them; they reach the crawl on stdin only.
    credentials: dict[str, str] = Field(default_factory=dict, repr=False)
    database_url: str = Field(min_length=1)
    user_agent: str | None = None
    lookback_days: float | None = Field(default=30.0, gt=0)
    max_pages: int | None = Field(default=50, ge=1)
    # Politeness: by default what the project settings give a developer's `scrapy crawl` (crawlers.defaults).
    concurrency_per_domain: int = Field(default=defaults.CONCURRENT_REQUESTS_PER_DOMAIN, ge=1, le=32)
    # `download_delay` (the contract's first spelling) is accepted as an alias of `download_delay_s`.
    download_delay_s: float = Field(
        default=defaults.DOWNLOAD_DELAY,
        ge=0,
        validation_alias=AliasChoices("download_delay_s", "download_delay"),
    )
    download_timeout_s: float = Field(default=defaults.DOWNLOAD_TIMEOUT, gt=0)
    retry_times: int = Field(default=defaults.RETRY_TIMES, ge=0, le=10)
    obey_robots: bool = defaults.ROBOTSTXT_OBEY
    default_touchpoint: str | None = None
    # How mention authors are stored (crawlers.privacy): as sent, as a keyed pseudonym, or not at all. The
    # key is a secret of the installation, kept out of repr like the credentials.
    author_privacy: Literal["keep", "hash", "drop"] = "keep"
    author_hash_key: str | None = Field(default=None, min_length=1, repr=False)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    # Scale-out (crawlers.scaleout): with both set, the crawl shares its frontier with the other workers of
    # the same round through Redis. The URL may hold a password, so it stays out of repr.
    redis_url: str | None = Field(default=None, min_length=1, repr=False)
    redis_key: str | None = Field(default=None, min_length=1)
    frontier_idle_s: float = Field(default=10.0, ge=0)

    @field_validator("urls")
    @classmethod
    def _http_urls_only(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an http(s) URL: {url!r}")
        return urls

    @model_validator(mode="after")
    def _hash_needs_a_key(self) -> Self:
        if self.author_privacy == "hash" and not self.author_hash_key:
            raise ValueError("author_privacy 'hash' needs author_hash_key")
        return self

    @model_validator(mode="after")
    def _redis_url_and_key_together(self) -> Self:
        if (self.redis_url is None) != (self.redis_key is None):
            raise ValueError("redis_url and redis_key go together (a shared frontier needs both)")
        return self

    @classmethod
    def from_json(cls, data: str | bytes) -> RunSpec:
        """Parse stdin's JSON; any problem becomes one RunSpecError line naming the field."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
            )
            raise RunSpecError(f"invalid RunSpec: {problems}") from None
