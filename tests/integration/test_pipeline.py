"""The thin path end to end through real parts: local site, Scrapy subprocess, SQLite, model, fake Slack."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.orm import Session

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


def expected_touchpoint(session: Session, mention: models.Mention) -> str:
    """The touchpoint rule of the mention's strongest ruled stored topic, else the source's ("support")."""
    ruled = (
        session.query(models.Touchpoint.name)
        .join(models.Topic, models.Topic.touchpoint_id == models.Touchpoint.id)
        .join(models.MentionTopic, models.MentionTopic.topic_id == models.Topic.id)
        .filter(models.MentionTopic.mention_id == mention.id)
        .order_by(models.MentionTopic.score.desc())
        .first()
    )
    return ruled[0] if ruled is not None else "support"


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
        # A lost parcel and a broken product are two stories: two incidents, each its own parent in #cx.
        assert [post.args["channel"] for post in posts] == ["#cx", "#cx"]
        assert not any(post.args.get("thread_ts") for post in posts)

        with app.sessions.begin() as session:
            mentions = session.query(models.Mention).all()
            assert len(mentions) == 5
            assert {m.status for m in mentions} == {storage.MentionStatus.ANALYZED}
            # Each mention sits at its strongest topic with a touchpoint rule, else at the source default.
            for mention in mentions:
                assert mention.touchpoint is not None
                assert mention.touchpoint.name == expected_touchpoint(session, mention), mention.title
            assert {m.touchpoint_origin for m in mentions} >= {storage.TouchpointOrigin.TOPIC}
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
