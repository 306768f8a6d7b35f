from __future__ import annotations

from pathlib import Path

import pytest

from vocwatch.config_file import EXAMPLE_CONFIG
from vocwatch.daemon.crawl import make_runspec
from vocwatch.errors import VocwatchError
from vocwatch.settings import SourceSettings, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_loses_to_environment_which_loses_to_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "vocwatch.toml",
        'database_url = "sqlite:///from-toml.db"\n[alerts]\nnegative_threshold = 0.9\n',
    )

    assert load_settings(config).database_url == "sqlite:///from-toml.db"
    assert load_settings(config).alerts.negative_threshold == 0.9

    monkeypatch.setenv("VOCWATCH_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("VOCWATCH_ALERTS__NEGATIVE_THRESHOLD", "0.8")
    settings = load_settings(config)
    assert settings.database_url == "sqlite:///from-env.db"
    assert settings.alerts.negative_threshold == 0.8

    assert (
        load_settings(config, database_url="sqlite:///from-flag.db").database_url == "sqlite:///from-flag.db"
    )


def test_database_defaults_to_sqlite_file_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'vocwatch.db'}"


def test_slack_token_is_never_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCWATCH_SLACK__TOKEN", "xoxb-very-secret")
    settings = load_settings(None)
    assert settings.slack.token is not None
    assert settings.slack.token.get_secret_value() == "xoxb-very-secret"
    assert "xoxb-very-secret" not in repr(settings)
    assert "xoxb-very-secret" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[alerts]\nnegative_threshold = 1.5\n",
            "alerts.negative_threshold: Input should be less than or equal to 1",
        ),
        ('[sources.news]\nkind = "carrier-pigeon"\n', "sources.news: unknown source kind 'carrier-pigeon'"),
        (
            '[sources.news]\nkind = "rss"\nurls = ["http://x.example/f"]\ntouchpoint = "moon"\n',
            "sources.news.touchpoint: 'moon' is not a configured touchpoint",
        ),
        ('[sources.news]\nkind = "rss"\n', "sources.news: a rss source needs urls"),
        (
            '[sources.news]\nkind = "rss"\nurls = ["http://x.example/f"]\nparams = {follow_next = "maybe"}\n',
            "sources.news: params.follow_next:",
        ),
        ("[slack]\nchanel = '#typo'\n", "slack.chanel: Extra inputs are not permitted"),
        ('[touchpoints.lobby]\nstage = "wander"\n', "touchpoints.lobby.stage: Input should be"),
        ('[crawl]\nauthor_privacy = "hash"\n', 'author_privacy = "hash" needs author_hash_key'),
        ('[crawl]\nauthor_privacy = "blur"\n', "crawl.author_privacy: Input should be"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, toml: str, expected: str) -> None:
    config = write(tmp_path / "vocwatch.toml", toml)
    with pytest.raises(VocwatchError) as caught:
        load_settings(config)
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert str(config) in caught.value.message


def test_author_hash_key_goes_from_the_environment_into_the_runspec_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "vocwatch.toml", '[crawl]\nauthor_privacy = "hash"\n')
    monkeypatch.setenv("VOCWATCH_CRAWL__AUTHOR_HASH_KEY", "install-secret-42")
    settings = load_settings(config)
    assert "install-secret-42" not in repr(settings)
    source = SourceSettings(kind="rss", urls=["https://x.example/feed"])

    spec = make_runspec(settings, "news", source)

    assert (spec.author_privacy, spec.author_hash_key) == ("hash", "install-secret-42")
    assert "install-secret-42" not in repr(spec)


def test_invalid_toml_syntax_names_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "vocwatch.toml", "[slack\n")
    with pytest.raises(VocwatchError, match="not valid TOML"):
        load_settings(config)


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VocwatchError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_example_config_is_valid_and_matches_the_defaults(tmp_path: Path) -> None:
    config = write(tmp_path / "vocwatch.toml", EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    from_example = load_settings(config)
    defaults = load_settings(None)
    assert from_example.touchpoints == defaults.touchpoints
    assert from_example.alerts == defaults.alerts
    assert from_example.crawl == defaults.crawl
    assert from_example.model == defaults.model
    assert from_example.digest == defaults.digest
    assert from_example.web == defaults.web
    assert from_example.worker == defaults.worker
    assert from_example.topics == {}  # the built-in taxonomy applies (vocwatch.topics)


def test_every_commented_source_example_in_the_example_config_is_valid(tmp_path: Path) -> None:
    """The examples operators copy from must load against the real kinds and their params models."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    head, _, examples = text.partition("# [sources.")
    uncommented = "\n".join(
        line.removeprefix("# ")
        for line in ("# [sources." + examples).splitlines()
        if line.startswith("# ") and not line.startswith("# VOCWATCH_")
    )
    config = write(tmp_path / "vocwatch.toml", head + uncommented)

    sources = load_settings(config).sources

    from crawlers.registry import SOURCE_KINDS

    assert {source.kind for source in sources.values()} == set(SOURCE_KINDS)
