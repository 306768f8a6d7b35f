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
from rich.markup import escape
from sqlalchemy.engine import make_url

import storage
from vocwatch import stages
from vocwatch.cli.errors import REPORTED, report
from vocwatch.config_file import write_example_config
from vocwatch.daemon.crawl import make_runspec, run_crawl, run_crawl_worker
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
        stages.sync_catalog(built.sessions, settings)
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
    url = make_url(built.settings.effective_database_url).render_as_string(hide_password=True)
    console.print(f"database ready: {url}")


@app.command()
def crawl(
    sources: Annotated[list[str] | None, typer.Argument(help="Source names; all enabled if none.")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Join each source's shared crawl round in Redis (crawl.redis_url): run it on several "
            "machines or processes to split the pages; a source already crawled this interval is skipped.",
        ),
    ] = False,
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
            if worker:
                outcome = run_crawl_worker(built.settings, name, configured[name])
            else:
                outcome = run_crawl(
                    make_runspec(built.settings, name, configured[name]),
                    timeout_s=built.settings.crawl.timeout_s,
                )
        if outcome.ok:
            console.print(f"[green]✓[/green] {name}: {outcome.describe()}", markup=True, highlight=False)
        else:
            failed += 1
            console.print(
                f"[red]✗[/red] {name}: {outcome.stderr_tail or f'exit status {outcome.returncode}'}"
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def analyze(
    retouch: Annotated[
        bool,
        typer.Option(
            "--retouch",
            help="Instead: move analyzed mentions to their strongest ruled topic's touchpoint.",
        ),
    ] = False,
) -> None:
    """Analyze every new mention: sentiment, touchpoint, and an outbox alert for strong negatives."""
    built = _state.app()
    if retouch:
        stages.sync_catalog(built.sessions, built.settings)
        with console.status("applying the topic rules ..."):
            read, moved = stages.retouch(built.sessions)
        console.print(f"read {read} analyzed mention(s), moved {moved} to a topic's touchpoint")
        return
    rules = stages.AlertRules.from_settings(built.settings)
    total = 0
    with console.status("loading the model ..."):
        analyzer = built.analyzer
    with console.status("analyzing ...") as status:
        while count := stages.analyze_pending(
            built.sessions, analyzer, rules, batch_size=built.settings.model.batch_size
        ):
            total += count
            status.update(f"analyzing ... {total} done")
    console.print(f"analyzed {total} mention(s)")


@alerts_app.command("dispatch")
def alerts_dispatch() -> None:
    """Post due alerts from the outbox to Slack (idempotent: an alert is posted once)."""
    built = _state.app()
    totals = stages.dispatch_alerts(built.dispatcher)
    console.print(f"sent {totals.sent}, retrying {totals.retrying}, failed {totals.failed}")
    if totals.ambiguous:
        console.print(
            f"{totals.ambiguous} alert(s) may or may not be in Slack: not re-sent, see the review queue"
        )


@app.command()
def check() -> None:
    """Check the Slack setup: token valid, scopes granted vs needed, channels found.

    Prints one line per problem with its fix and exits 1 if there is any (README: "Slack scopes").
    """
    from vocwatch.slackcheck import check_slack
    from vocwatch.wiring import make_slack_client

    settings = _state.settings()
    token = settings.slack.token
    client = make_slack_client(token.get_secret_value(), settings.slack.base_url) if token else None
    result = check_slack(settings, client)
    for line in result.lines():  # plain text: a fix may quote "[slack]", which Rich markup would eat
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if result.problems:
        raise typer.Exit(1)


@model_app.command("prepare")
def model_prepare() -> None:
    """Convert the bundled default model once into the data dir (later runs reuse it)."""
    import sentiment
    from sentiment.training import tuned_dir_of

    settings = _state.settings()
    with console.status("converting the default model (about 15 s, once per machine) ..."):
        path = sentiment.prepare_default_model(settings.models_dir)
    console.print(f"default model ready: {path}")
    tuned = tuned_dir_of(settings.model.heads_dir or sentiment.default_heads_dir())
    if tuned is not None:  # the fine-tuned top layers must fit this conversion: check now, not at first use
        encoder = sentiment.Encoder.load(settings.model.dir or path, tuned_dir=tuned)
        console.print(f"tuned layers {encoder.tuned.version if encoder.tuned else '?'} apply to it")


@app.command()
def train(
    data_dir: Annotated[
        Path, typer.Option(help="Labelled sets (JSONL train/dev splits), e.g. ../shared/data.")
    ],
    out: Annotated[Path, typer.Option(help="Heads directory to write; point model.heads_dir at it.")],
    with_corrections: Annotated[
        bool,
        typer.Option(
            "--with-corrections", help="Also learn from the labels CX staff corrected in the review UI."
        ),
    ] = False,
) -> None:
    """Refit the sentiment head on the model's features (cached in the data dir), optionally with corrections.

    With the shipped (fine-tuned) model the head reads the tuned layers; OUT then receives a complete heads
    directory (tuned layers, aspect head and the new sentiment head).
    """
    import sentiment
    from sentiment.training import train_sentiment_head, tuned_dir_of
    from vocwatch.cli.review import corrections_for_training

    settings = _state.settings()
    model_dir = settings.model.dir or sentiment.prepare_default_model(settings.models_dir)
    heads_dir = settings.model.heads_dir or sentiment.default_heads_dir()
    corrections = corrections_for_training(_state.app().sessions) if with_corrections else []
    if with_corrections and not corrections:
        raise VocwatchError(
            "no sentiment corrections yet",
            fix="correct some labels in the review UI (`vocwatch serve`) first",
        )
    with console.status("embedding the training sets (cached after the first run) ..."):
        report = train_sentiment_head(
            data_dir,
            model_dir,
            out,
            cache_dir=settings.data_dir / "embeddings",
            command=shlex.join(sys.argv),
            tuned_from=heads_dir if tuned_dir_of(heads_dir) is not None else None,
            corrections=corrections,
        )
    console.print(f"wrote head {report['version']} to {out / 'sentiment'}")
    if corrections:
        console.print(f"  learned from {len(corrections)} CX correction(s)")
    for name, figure in report["dev"].items():
        if isinstance(figure, float):
            console.print(f"  dev {name}: {figure:.3f}")
    before, after = (
        report["calibration"]["selection_slice"]["pooled"][k]["ece"] for k in ("before", "after")
    )
    console.print(f"  calibrated: ECE on the train selection slice {before:.3f} -> {after:.3f}")


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
    from vocwatch.stages.surveys import import_survey as run_import

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

    from vocwatch.stages.ledger import SourceStatus, format_ago, format_versus, source_ledger

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

    from vocwatch.daemon.scheduler import run_daemon

    built = _state.app()
    for name in ("vocwatch.daemon.scheduler", "vocwatch.daemon.leader"):
        logging.getLogger(name).setLevel(logging.DEBUG if _state.debug else logging.INFO)
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
        from vocwatch.demo.daemon import run_demo_daemon

        report = run_demo_daemon(_state.settings(), console=console, seconds=seconds)
        raise typer.Exit(0 if report.complete else 1)
    from vocwatch.demo.pipeline import run_demo

    run_demo(_state.settings(), console=console)


worker_app = typer.Typer(
    help="Scale-out workers: run any number of them, on any machines, against one PostgreSQL database.",
    no_args_is_help=True,
)
app.add_typer(worker_app, name="worker")
_EXIT_WHEN_IDLE = typer.Option("--exit-when-idle", help="Stop when there is no work instead of waiting.")


@worker_app.command("analyze")
def worker_analyze(exit_when_idle: Annotated[bool, _EXIT_WHEN_IDLE] = False) -> None:
    """Analyze new mentions in leased batches (FOR UPDATE SKIP LOCKED) until SIGTERM or Ctrl-C."""
    import threading

    from vocwatch.daemon.worker import run_analysis_worker, stop_on_signals

    built = _state.app()
    stop = threading.Event()
    with console.status("loading the model ..."):
        built.analyzer  # noqa: B018  # load before the first claim, so a lease is not spent loading
    with stop_on_signals(stop):
        totals = run_analysis_worker(built, stop=stop, exit_when_idle=exit_when_idle)
    console.print(f"analyzed {totals.done} mention(s) in {totals.batches} batch(es)")


@worker_app.command("dispatch")
def worker_dispatch(exit_when_idle: Annotated[bool, _EXIT_WHEN_IDLE] = False) -> None:
    """Deliver due Slack alerts until SIGTERM or Ctrl-C; several dispatchers never post an alert twice."""
    import threading

    from vocwatch.daemon.worker import run_dispatch_worker, stop_on_signals

    built = _state.app()
    stop = threading.Event()
    with stop_on_signals(stop):
        totals = run_dispatch_worker(built, stop=stop, exit_when_idle=exit_when_idle)
    console.print(f"sent {totals.done} alert(s)")


@app.command("eval")
def eval_(
    file: Annotated[
        Path | None, typer.Argument(help='JSONL of {"text","label"} or {"text","aspect","label"} lines.')
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Evaluate every dev split in --data-dir; write --out.")
    ] = False,
    from_corrections: Annotated[
        bool, typer.Option("--from-corrections", help="Evaluate on cases corrected in the review UI.")
    ] = False,
    data_dir: Annotated[Path, typer.Option(help="Labelled sets for --report.")] = Path("../shared/data"),
    out: Annotated[Path, typer.Option(help="Where --report writes.")] = Path("docs/accuracy.md"),
    require_beat_baselines: Annotated[
        bool,
        typer.Option(
            "--require-beat-baselines",
            help="With --report: exit non-zero if a trained baseline beats the model on any set.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Measure the configured model: accuracy, macro-F1, macro recall, per-class recall, confusion, ECE."""
    import sentiment
    from vocwatch.cli import evaluate
    from vocwatch.wiring import build_app

    if (file is not None) + report + from_corrections != 1:
        raise VocwatchError(
            "eval needs exactly one of FILE, --report, --from-corrections",
            fix="e.g. `vocwatch eval labelled.jsonl` or `vocwatch eval --report`",
        )
    if require_beat_baselines and not report:
        raise VocwatchError(
            "--require-beat-baselines applies to --report only",
            fix="`vocwatch eval --report --require-beat-baselines`",
        )
    if from_corrections:
        built = _state.app()
        with console.status("analyzing corrected cases ..."):
            result = evaluate.eval_corrections(built.sessions, built.analyzer)
        evaluate.print_corrections(console, result, as_json=as_json)
        return
    settings = _state.settings()
    analyzer = build_app(settings).analyzer
    if file is None:  # --report
        status = (
            f"evaluating every dev split in {data_dir}, fitting baselines on the train splits (minutes) ..."
        )
        with console.status(status):
            results = evaluate.write_report(
                analyzer,
                data_dir,
                out,
                command=shlex.join(["vocwatch", *sys.argv[1:]]),
                cache_dir=settings.data_dir / "embeddings",  # shared with `vocwatch train`
                heads_dir=settings.model.heads_dir or sentiment.default_heads_dir(),
            )
        console.print(f"wrote {out}")
        if require_beat_baselines:
            evaluate.require_beats_baselines(results, out)
        return
    scores, skipped = evaluate.eval_file(analyzer, file)
    evaluate.print_scores(console, scores, title=str(file), as_json=as_json)
    if skipped and not as_json:
        console.print(f"({skipped} `conflict` aspect label(s) left out)")


@app.command("digest")
def digest_cmd(
    week: Annotated[
        str | None, typer.Option("--week", help="ISO week, e.g. 2026-W47; default: the last finished week.")
    ] = None,
    to: Annotated[
        str, typer.Option("--to", help="Where the digest goes: slack, html (HTML + CSV files) or both.")
    ] = "both",
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the HTML and CSV; default <data_dir>/digests.")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Digest of the database `vocwatch demo` wrote, to a local fake Slack."),
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Allow the week under way: a preview marked partial; the complete digest still goes out.",
        ),
    ] = False,
) -> None:
    """The weekly digest per touchpoint: post it to Slack (once per week and channel) and write HTML + CSV."""
    if to not in ("slack", "html", "both"):
        raise VocwatchError(f"--to {to!r} is not one of slack, html, both", fix="use --to slack|html|both")
    if demo:
        from vocwatch.demo.digest import demo_digest

        demo_digest(_state.settings(), week=week, to=to, out_dir=out, console=console, partial=partial)  # type: ignore[arg-type]
        return
    from vocwatch.stages.digest import digest_command

    digest_command(_state.settings(), week=week, to=to, out_dir=out, console=console, partial=partial)  # type: ignore[arg-type]


users_app = typer.Typer(help="Accounts of the review UI (`vocwatch serve`).", no_args_is_help=True)
app.add_typer(users_app, name="users")
_DemoOption = Annotated[
    bool, typer.Option("--demo", help="Use the database that `vocwatch demo` wrote (to try the review UI).")
]


def _review_app(demo: bool) -> App:
    from vocwatch.cli.review import review_settings

    if not demo:
        return _state.app()
    built = build_app(review_settings(_state.settings(), demo=True))
    storage.upgrade(built.engine)
    return built


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        storage.UserRole, typer.Option(help="viewer reads; agent works cases; admin also manages users.")
    ] = storage.UserRole.AGENT,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin instead of prompting.")
    ] = False,
    demo: _DemoOption = False,
) -> None:
    """Add a review-UI account (the password is prompted for and stored as an argon2id hash)."""
    from vocwatch.cli.review import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = add_user(_review_app(demo), name, password, role)
    console.print(f"added {user.username} ({user.role.value})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: web.port).")] = None,
    demo: _DemoOption = False,
) -> None:
    """The CX review UI: queue, cases, corrections, dashboard. Stop it with Ctrl-C."""
    from vocwatch.cli.review import serve as serve_ui

    serve_ui(
        _review_app(demo),
        host=host,
        port=port,
        on_ready=lambda url: console.print(
            f"review UI on {url} (log in with an account from `vocwatch users add`)"
        ),
    )


@app.command()
def export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL file to write; stdout if not given.")
    ] = None,
    demo: _DemoOption = False,
) -> None:
    """Export CX-corrected labels as JSONL ({"text", "label", "topics", "touchpoint", ...}) for retraining."""
    from vocwatch.cli.review import export_corrections

    built = _review_app(demo)
    if out is None:
        export_corrections(built, sys.stdout)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        count = export_corrections(built, handle)
    err_console.print(f"wrote {count} correction(s) to {out}")


def main() -> None:
    """Console-script entry point: a package's error, or a database that is down or locked, becomes one
    line plus the fix (`vocwatch.cli.errors`), unless --debug; anything else is a bug and keeps its traceback.

    The lines are printed as text, not Rich markup: a message may quote "[sources.NAME]" or a customer's
    text, which markup would swallow or choke on.
    """
    try:
        app()
    except REPORTED as exc:
        if _state.debug:
            raise
        told = report(exc)
        err_console.print(f"[red]error:[/red] {escape(told.error)}", highlight=False)
        err_console.print(f"[yellow]fix:[/yellow] {escape(told.fix)}", highlight=False)
        sys.exit(1)
