"""The `vocwatch` command: one small function per command, the behaviour lives in jobs/wiring/packages.

Errors the operator can act on are printed as one line plus the fix; `--debug` shows the traceback.
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import storage
from vocwatch import jobs
from vocwatch.config_file import write_example_config
from vocwatch.crawl import make_runspec, run_crawl
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings, default_config_path, load_settings
from vocwatch.wiring import App, build_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="vocwatch — hear what customers say about your brand, per touchpoint, in Slack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
alerts_app = typer.Typer(help="The Slack alert outbox.", no_args_is_help=True)
model_app = typer.Typer(help="The offline sentiment model.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
app.add_typer(model_app, name="model")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class _State:
    config: Path
    debug: bool

    def settings(self) -> Settings:
        return load_settings(self.config)

    def app(self) -> App:
        settings = self.settings()
        built = build_app(settings)
        storage.upgrade(built.engine)
        jobs.sync_catalog(built.sessions, settings)
        return built


DEFAULT_CONFIG = default_config_path()
_state = _State(config=DEFAULT_CONFIG, debug=False)


@app.callback()
def _root(
    config: Annotated[
        Path, typer.Option("--config", "-c", envvar="VOCWATCH_CONFIG", help="Path of vocwatch.toml.")
    ] = DEFAULT_CONFIG,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    _state.config = config
    _state.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def init(force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False) -> None:
    """Write a commented example vocwatch.toml (if none exists) and create or upgrade the database."""
    path = _state.config
    if path.exists() and not force:
        console.print(f"keeping existing config {path}")
    else:
        write_example_config(path)
        console.print(f"wrote example config {path}")
    built = _state.app()
    console.print(f"database ready: {built.settings.effective_database_url}")


@app.command()
def crawl(
    sources: Annotated[list[str] | None, typer.Argument(help="Source names; all enabled if none.")] = None,
) -> None:
    """Crawl sources now, each in its own process, and store what is new."""
    built = _state.app()
    configured = built.settings.sources
    names = sources or [name for name, src in configured.items() if src.enabled]
    unknown = [name for name in names if name not in configured]
    if unknown:
        raise VocwatchError(f"unknown source(s): {', '.join(unknown)}", fix="see [sources.*] in the config")
    if not names:
        raise VocwatchError("no sources configured", fix="add a [sources.NAME] table to the config")
    failed = 0
    for name in names:
        with console.status(f"crawling {name} ..."):
            outcome = run_crawl(
                make_runspec(built.settings, name, configured[name]), timeout_s=built.settings.crawl.timeout_s
            )
        if outcome.ok:
            console.print(f"[green]✓[/green] {name}")
        else:
            failed += 1
            console.print(
                f"[red]✗[/red] {name}: {outcome.stderr_tail or f'exit status {outcome.returncode}'}"
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def analyze() -> None:
    """Analyze every new mention: sentiment, touchpoint, and an outbox alert for strong negatives."""
    built = _state.app()
    rules = jobs.AlertRules.from_settings(built.settings)
    total = 0
    with console.status("loading the model ..."):
        analyzer = built.analyzer
    with console.status("analyzing ...") as status:
        while count := jobs.analyze_pending(
            built.sessions, analyzer, rules, batch_size=built.settings.model.batch_size
        ):
            total += count
            status.update(f"analyzing ... {total} done")
    console.print(f"analyzed {total} mention(s)")


@alerts_app.command("dispatch")
def alerts_dispatch() -> None:
    """Post due alerts from the outbox to Slack (idempotent: an alert is posted once)."""
    built = _state.app()
    totals = jobs.dispatch_alerts(built.dispatcher)
    console.print(f"sent {totals.sent}, retrying {totals.retrying}, failed {totals.failed}")


@model_app.command("prepare")
def model_prepare() -> None:
    """Convert the bundled default model once into the data dir (later runs reuse it)."""
    import sentiment

    settings = _state.settings()
    with console.status("converting the default model (about 15 s, once per machine) ..."):
        path = sentiment.prepare_default_model(settings.models_dir)
    console.print(f"default model ready: {path}")


@app.command()
def train(
    data_dir: Annotated[
        Path, typer.Option(help="Labelled sets (JSONL train/dev splits), e.g. ../shared/data.")
    ],
    out: Annotated[Path, typer.Option(help="Heads directory to write; point model.heads_dir at it.")],
) -> None:
    """Refit the sentiment head on frozen model features; embeddings are cached in the data dir."""
    import sentiment
    from sentiment.training import train_sentiment_head

    settings = _state.settings()
    model_dir = settings.model.dir or sentiment.prepare_default_model(settings.models_dir)
    with console.status("embedding the training sets (cached after the first run) ..."):
        report = train_sentiment_head(
            data_dir, model_dir, out, cache_dir=settings.data_dir / "embeddings", command=shlex.join(sys.argv)
        )
    console.print(f"wrote head {report['version']} to {out / 'sentiment'}")
    for name, figure in report["dev"].items():
        if isinstance(figure, float):
            console.print(f"  dev {name}: {figure:.3f}")


@app.command("import-survey")
def import_survey(
    file: Annotated[Path, typer.Argument(help="CSV or JSON export of NPS/CSAT/CES answers.")],
    source: Annotated[str, typer.Option(help="Survey source to import into (created if new).")] = "survey",
    format: Annotated[
        str | None, typer.Option("--format", help="csv or json; default: from the file extension.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="FIELD=COLUMN, e.g. nps='How likely are you to recommend us?' (repeatable)."),
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone of dates written without one.")] = "UTC",
) -> None:
    """Import survey answers: scores for the digest, comments as mentions to analyze.

    Bad rows are reported with their line and skipped; importing the same file again adds nothing.
    """
    from vocwatch.surveys import import_survey as run_import

    if format not in (None, "csv", "json"):
        raise VocwatchError(f"unknown format {format!r}", fix="use --format csv or --format json")
    columns = dict(_field_assignment(item) for item in column or [])
    built = _state.app()
    report = run_import(
        built.sessions,
        file,
        source_name=source,
        format="json" if format == "json" else "csv" if format == "csv" else None,
        columns=columns,
        timezone=timezone,
    )
    console.print(
        f"{report.rows} answer(s) read: {report.scores_new} new score(s), "
        f"{report.scores_duplicate} already imported, {report.mentions_new} new comment(s) to analyze",
        soft_wrap=True,
    )
    for problem in report.problems:
        err_console.print(f"[yellow]skipped[/yellow] {file.name} {problem}", highlight=False)


def _field_assignment(item: str) -> tuple[str, str]:
    field, sep, name = item.partition("=")
    if not sep or not field.strip() or not name.strip():
        raise VocwatchError(f"--column {item!r} is not FIELD=COLUMN", fix="e.g. --column nps=Score")
    return field.strip(), name.strip()


@app.command()
def sources() -> None:
    """The coverage ledger: per source, last success, volume vs usual, error rate, status ok/degraded/dark.

    Exits with status 2 when a source is dark, so a cron job or a health check can alert on silence.
    """
    from datetime import UTC, datetime

    from rich.table import Table

    from vocwatch.ledger import SourceStatus, format_ago, format_versus, source_ledger

    built = _state.app()
    now = datetime.now(UTC)
    colours = {SourceStatus.OK: "green", SourceStatus.DEGRADED: "yellow", SourceStatus.DARK: "red"}
    table = Table(title="Coverage ledger")
    for header in (
        "source",
        "kind",
        "status",
        "last success",
        "24 h (usual)",
        "7 d (usual)",
        "errors",
        "last stop",
    ):
        table.add_column(header)
    table.add_column("why", overflow="fold")
    rows = source_ledger(built.sessions, now=now)
    for src, health in rows:
        table.add_row(
            src.name,
            src.kind,
            f"[{colours[health.status]}]{health.status}[/]",
            format_ago(health.last_success_at, now),
            format_versus(health.items_24h, health.usual_24h),
            format_versus(health.items_7d, health.usual_7d),
            "—" if health.error_rate is None else f"{health.error_rate:.0%}",
            health.last_stop_reason or "—",
            health.reason,
        )
    console.print(table)
    if any(health.status is SourceStatus.DARK for _, health in rows):
        raise typer.Exit(2)


@app.command()
def run() -> None:
    """The daemon: crawl each source on its schedule, analyze, alert, check spikes and source health.

    Runs until SIGTERM or Ctrl-C, then finishes the running batch and exits 0. Logs one JSON line per
    job run on stderr. Run only one daemon per database.
    """
    import logging

    from vocwatch.scheduler import run_daemon

    built = _state.app()
    logging.getLogger("vocwatch.scheduler").setLevel(logging.DEBUG if _state.debug else logging.INFO)
    console.print("vocwatch daemon running; stop it with Ctrl-C or SIGTERM")
    raise typer.Exit(run_daemon(built))


@app.command()
def demo(
    daemon: Annotated[
        bool,
        typer.Option(
            "--daemon",
            help="Run the real scheduler (`vocwatch run`) on the demo data plus a live burst and a blocked "
            "source, until Slack has an incident, a spike alert and a source-health alert.",
        ),
    ] = False,
    seconds: Annotated[
        float, typer.Option("--seconds", min=1.0, help="With --daemon: stop after this many seconds.")
    ] = 120.0,
) -> None:
    """Offline, end to end: serve sample feeds locally, crawl, analyze, alert a local fake Slack."""
    if daemon:
        from vocwatch.demo_live import run_demo_daemon

        report = run_demo_daemon(_state.settings(), console=console, seconds=seconds)
        raise typer.Exit(0 if report.complete else 1)
    from vocwatch.demo import run_demo

    run_demo(_state.settings(), console=console)


def main() -> None:
    """Console-script entry point: VocwatchError becomes one line plus the fix, unless --debug."""
    try:
        app()
    except VocwatchError as exc:
        if _state.debug:
            raise
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        if exc.fix:
            err_console.print(f"[yellow]fix:[/yellow] {exc.fix}", highlight=False)
        sys.exit(1)
