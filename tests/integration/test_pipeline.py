"""The thin path end to end through real parts: local site, Scrapy subprocess, SQLite, model, fake Slack."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

import storage
from sentiment.taxonomy import taxonomy_version
from storage import models
from vocwatch import stages
from vocwatch.daemon.crawl import make_runspec, run_crawl
from vocwatch.settings import Settings, SlackSettings, SourceSettings, load_settings
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.testing.localsite import LocalSite
from vocwatch.topics import taxonomy
from vocwatch.wiring import App, build_app

FEEDS = Path(__file__).parent.parent / "data" / "pipeline"
NEGATIVE_TITLES = {"Globex lost my parcel and nobody helps", "质量太差了"}


def make_settings(tmp_path: Path, site: LocalSite, slack: FakeSlackServer, model_dir: Path) -> Settings:
    return load_settings(
        None,
        data_dir=tmp_path,
        model={"dir": model_dir},
        slack=SlackSettings(token=SecretStr("xoxb-test"), base_url=slack.base_url, default_channel="#cx"),
        crawl={"download_delay_s": 0.0, "lookback_days": 36500},
        sources={
            "globex_forum": SourceSettings(
                kind="rss", urls=[site.url("/brand-feed.xml")], touchpoint="support"
            )
        },
    )


def expected_taxonomy_version(settings: Settings) -> str:
    return taxonomy_version(taxonomy(settings))


def run_once(app: App) -> None:
    """One pass of the pipeline, as the CLI commands would run it."""
    settings = app.settings
    stages.sync_catalog(app.sessions, settings)
    for name, source in settings.sources.items():
        outcome = run_crawl(make_runspec(settings, name, source), timeout_s=120)
        assert outcome.ok, outcome.stderr_tail
    rules = stages.AlertRules.from_settings(settings)
    while stages.analyze_pending(app.sessions, app.analyzer, rules):
        pass
    stages.dispatch_alerts(app.dispatcher)


def test_exactly_the_negative_items_reach_slack_and_a_rerun_sends_nothing(
    tmp_path: Path, default_model_dir: Path
) -> None:
    with LocalSite(FEEDS) as site, FakeSlackServer() as slack:
        app = build_app(make_settings(tmp_path, site, slack, default_model_dir))
        storage.upgrade(app.engine)

        run_once(app)

        posts = slack.calls("chat.postMessage")
        posted_text = [str(post.args.get("text", "")) for post in posts]
        assert len(posts) == len(NEGATIVE_TITLES)
        for title in NEGATIVE_TITLES:
            assert sum(title in text for text in posted_text) == 1, (title, posted_text)
        # Both negatives share a touchpoint: one incident, a parent in #cx and a reply in its thread.
        parent, reply = posts
        assert parent.args["channel"] == "#cx"
        assert reply.args["channel"] == slack.channel_id("#cx")
        assert reply.args["thread_ts"] == slack.messages()[0].ts

        with app.sessions.begin() as session:
            mentions = session.query(models.Mention).all()
            assert len(mentions) == 5
            assert {m.status for m in mentions} == {storage.MentionStatus.ANALYZED}
            assert {m.touchpoint.name for m in mentions if m.touchpoint} == {"support"}
            alerts = session.query(models.Alert).all()
            assert all(a.status == storage.AlertStatus.SENT and a.slack_ts for a in alerts)
            # Topics are stored with their aspect sentiment, tagged with the taxonomy in effect.
            parcel = next(m for m in mentions if "lost my parcel" in (m.title or ""))
            topics = {
                row.topic_id: row.label
                for row in session.query(models.MentionTopic).filter_by(mention_id=parcel.id)
            }
            delivery = session.query(models.Topic).filter_by(name="delivery").one()
            assert topics.get(delivery.id) == storage.SentimentLabel.NEGATIVE
            assert {a.taxonomy_version for a in session.query(models.Analysis)} == {
                expected_taxonomy_version(app.settings)
            }

        run_once(app)

        assert len(slack.calls("chat.postMessage")) == len(NEGATIVE_TITLES)
        with app.sessions.begin() as session:
            assert session.query(models.Mention).count() == 5
            assert session.query(models.Analysis).count() == 5
        app.engine.dispose()
