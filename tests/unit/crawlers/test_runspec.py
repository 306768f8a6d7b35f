from __future__ import annotations

import json

import pytest
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.settings import Settings

from crawlers.addon import VocwatchAddon
from crawlers.errors import RunSpecError
from crawlers.extensions import CrawlLedger
from crawlers.launch import crawl_settings
from crawlers.middlewares import RetryAfterMiddleware
from crawlers.parentwatch import ParentWatch
from crawlers.pipelines import StorePipeline, ValidatePipeline
from crawlers.runspec import RunSpec

MINIMAL = {"source_name": "acme-news", "kind": "rss", "database_url": "sqlite:///x.db"}


def test_defaults_are_polite() -> None:
    spec = RunSpec.from_json(json.dumps(MINIMAL))
    assert (spec.obey_robots, spec.concurrency_per_domain, spec.download_delay_s) == (True, 2, 1.0)
    assert (spec.lookback_days, spec.max_pages, spec.retry_times) == (30.0, 50, 3)


def test_download_delay_is_accepted_under_its_contract_name_too() -> None:
    assert RunSpec.from_json(json.dumps(MINIMAL | {"download_delay": 0.25})).download_delay_s == 0.25


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"max_page": 3}, "max_page: Extra inputs are not permitted"),
        ({"lookback_days": 0}, "lookback_days: Input should be greater than 0"),
        ({"urls": ["ftp://x.example/feed"]}, "urls: Value error, not an http(s) URL: 'ftp://x.example/feed'"),
        ({"author_privacy": "hash"}, "(root): Value error, author_privacy 'hash' needs author_hash_key"),
    ],
)
def test_invalid_values_give_one_line_naming_the_field(extra: dict[str, object], message: str) -> None:
    with pytest.raises(RunSpecError) as error:
        RunSpec.from_json(json.dumps(MINIMAL | extra))
    assert str(error.value) == f"invalid RunSpec: {message}"


def test_author_hash_key_reaches_the_crawl_but_not_the_repr() -> None:
    spec = RunSpec.model_validate(MINIMAL | {"author_privacy": "hash", "author_hash_key": "k-0123456789"})
    assert "k-0123456789" not in repr(spec)
    settings = crawl_settings(spec)
    assert (settings["VOCWATCH_AUTHOR_PRIVACY"], settings["VOCWATCH_AUTHOR_HASH_KEY"]) == (
        "hash",
        "k-0123456789",
    )


def test_not_json_is_a_runspec_error() -> None:
    with pytest.raises(RunSpecError, match=r"^invalid RunSpec: \(root\): Invalid JSON"):
        RunSpec.from_json("source_name=acme")


def test_runspec_values_override_project_settings_at_cmdline_priority() -> None:
    spec = RunSpec.model_validate(
        MINIMAL
        | {
            "user_agent": "acme-monitor/1.0 (+https://acme.example/bot)",
            "obey_robots": False,
            "concurrency_per_domain": 4,
            "download_delay_s": 0.0,
            "download_timeout_s": 5.0,
            "retry_times": 1,
        }
    )
    settings = crawl_settings(spec)
    assert settings["USER_AGENT"] == "acme-monitor/1.0 (+https://acme.example/bot)"
    assert settings.getpriority("USER_AGENT") == settings.getpriority("VOCWATCH_DATABASE_URL") == 40
    assert settings["VOCWATCH_DATABASE_URL"] == "sqlite:///x.db"
    assert settings["VOCWATCH_SOURCE_NAME"] == "acme-news"
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 4
    assert settings.getfloat("DOWNLOAD_DELAY") == 0.0
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 5.0
    assert settings.getint("RETRY_TIMES") == 1


def test_project_settings_are_polite_without_a_runspec_override() -> None:
    settings = crawl_settings(RunSpec.model_validate(MINIMAL))
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert 429 in settings.getlist("RETRY_HTTP_CODES")
    assert settings["USER_AGENT"].startswith("vocwatch/")
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False


def test_the_addon_installs_the_retry_middleware_pipelines_ledger_and_parent_watch() -> None:
    settings = Settings()
    VocwatchAddon().update_settings(settings)
    middlewares: dict[object, int | None] = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    assert middlewares == {RetryMiddleware: None, RetryAfterMiddleware: 550}
    assert settings.getdict("ITEM_PIPELINES") == {ValidatePipeline: 100, StorePipeline: 300}
    assert settings.getdict("EXTENSIONS") == {CrawlLedger: 100, ParentWatch: 150}
