"""`vocwatch demo`: the whole pipeline, offline, on sample feeds bundled with the package.

Nothing here is a shortcut: the feeds are served over HTTP from a local server, crawled by the real
spider in its own process, analyzed by the real default model, and alerted through the real outbox and
dispatcher — to Slack when a token is configured, otherwise to a local fake Slack Web API server.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

import storage
from vocwatch import stages
from vocwatch.daemon.crawl import make_runspec, run_crawl
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings, SlackSettings, SourceSettings
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.testing.localsite import LocalSite

__all__ = [
    "DEMO_FEEDS",
    "DemoReport",
    "demo_database",
    "demo_settings",
    "fake_slack_unless",
    "remove_database",
    "run_demo",
]

DEMO_FEEDS = resources.files("vocwatch.demo") / "data" / "feeds"
DEMO_SLACK_TOKEN = "xoxb-vocwatch-demo"  # noqa: S105 - the fake server accepts any token

# (source name, feed file, touchpoint the source's mentions belong to by default)
_DEMO_SOURCES = (
    ("support_forum", "support-forum.xml", "support"),
    ("app_news", "app-store-news.xml", "product"),
    ("shop_reviews_zh", "shop-reviews-zh.xml", "delivery"),
)


@dataclass(frozen=True)
class DemoReport:
    database: Path
    mentions: int
    alerts_sent: int
    slack_messages: list[str]
    wall_s: float


def run_demo(settings: Settings, *, console: Console) -> DemoReport:
    """Run the demo into a fresh SQLite database under `<data_dir>/demo/` and print what happened."""
    started = time.monotonic()
    database = demo_database(settings)
    remove_database(database)
    real_slack = settings.slack.token is not None
    with LocalSite(Path(str(DEMO_FEEDS))) as site, fake_slack_unless(real_slack) as fake:
        demo = demo_settings(settings, database, site, fake)
        from vocwatch.wiring import build_app

        app = build_app(demo, slack_base_url=fake.base_url if fake is not None else None)
        storage.upgrade(app.engine)
        stages.sync_catalog(app.sessions, demo)

        for name, source in demo.sources.items():
            with console.status(f"crawling {name} from {source.urls[0]} ..."):
                outcome = run_crawl(make_runspec(demo, name, source), timeout_s=demo.crawl.timeout_s)
            if not outcome.ok:
                raise VocwatchError(
                    f"demo crawl of {name} failed: {outcome.stderr_tail}", fix="rerun with --debug"
                )
            console.print(f"[green]✓[/green] crawled {name}")

        with console.status("loading the model (the first run converts it, about 15 s) ..."):
            analyzer = app.analyzer
        rules = stages.AlertRules.from_settings(demo)
        analyzed = 0
        with console.status("analyzing ..."):
            while count := stages.analyze_pending(
                app.sessions, analyzer, rules, batch_size=demo.model.batch_size
            ):
                analyzed += count
        console.print(f"[green]✓[/green] analyzed {analyzed} mentions")

        result = stages.dispatch_alerts(app.dispatcher)
        where = "Slack" if fake is None else f"the local fake Slack at {fake.base_url}"
        console.print(f"[green]✓[/green] posted {result.sent} alert(s) to {where}")
        messages = fake.posted_texts() if fake is not None else []
        for text in messages:
            console.print(
                f"  #{demo.slack.default_channel.lstrip('#')}  {text}", markup=False, highlight=False
            )

        with app.sessions.begin() as session:
            summary = storage.aggregates.touchpoint_summary(session)
        app.engine.dispose()

    console.print(_summary_table(summary))
    wall_s = time.monotonic() - started
    console.print(f"database: {database}")
    console.print(f"demo finished in {wall_s:.1f} s")
    return DemoReport(
        database=database,
        mentions=sum(row.mentions for row in summary),
        alerts_sent=result.sent,
        slack_messages=messages,
        wall_s=wall_s,
    )


def demo_database(settings: Settings) -> Path:
    """Where the demo keeps its database: `<data_dir>/demo/vocwatch-demo.db`."""
    return settings.data_dir / "demo" / "vocwatch-demo.db"


def demo_settings(
    settings: Settings,
    database: Path,
    site: LocalSite,
    fake: FakeSlackServer | None,
    *,
    extra_feeds: tuple[tuple[str, str, str], ...] = (),
) -> Settings:
    """The operator's settings, pointed at the demo database, the local feeds and (maybe) the fake Slack.

    `extra_feeds` adds (source name, path on the site, touchpoint) sources to the bundled ones."""
    sources = {
        name: SourceSettings(kind="rss", urls=[site.url(f"/{feed}")], touchpoint=touchpoint)
        for name, feed, touchpoint in (*_DEMO_SOURCES, *extra_feeds)
    }
    slack = settings.slack
    if fake is not None:
        slack = SlackSettings(
            token=SecretStr(DEMO_SLACK_TOKEN), base_url=fake.base_url, default_channel=slack.default_channel
        )
    crawl = settings.crawl.model_copy(update={"download_delay_s": 0.0, "lookback_days": 36500})
    return settings.model_copy(
        update={"database_url": f"sqlite:///{database}", "sources": sources, "slack": slack, "crawl": crawl}
    )


@contextlib.contextmanager
def fake_slack_unless(real_slack: bool) -> Iterator[FakeSlackServer | None]:
    if real_slack:
        yield None
        return
    with FakeSlackServer() as server:
        yield server


def remove_database(database: Path) -> None:
    """Each demo starts from an empty database, so its numbers are the same every run."""
    for path in (
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ):
        path.unlink(missing_ok=True)


def _summary_table(rows: list[storage.aggregates.TouchpointSummary]) -> Table:
    table = Table(title="Mentions per touchpoint")
    for column in ("stage", "touchpoint", "mentions", "% negative", "alerts sent"):
        table.add_column(column, justify="right" if column not in ("stage", "touchpoint") else "left")
    for row in rows:
        share = "–" if row.share_negative is None else f"{100 * row.share_negative:.0f}%"
        table.add_row(str(row.stage), row.touchpoint, str(row.mentions), share, str(row.alerts_sent))
    return table
