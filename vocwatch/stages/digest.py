"""The weekly digest, composed: read a week from storage, build it, write HTML + CSV, post it to Slack.

Posting is once per (week, channel) and crash-safe, like the alert outbox. The `digests` row is created
and marked claimed (committed) BEFORE Slack is called; the message `ts` is committed as soon as Slack
answers, then the chart's file ID with `sent`. A run that finds a `pending` row claimed earlier does not
blindly post again: it first looks for the message (by its metadata) and the chart (by its file name)
in the channel history, and only posts what is missing. A `sent` row means there is nothing to do, so a
restarted scheduler or a second `vocwatch digest` never posts the same week twice.

Only a week that is over has a complete digest. A week that is not over is refused unless the caller
asks for a partial digest (`vocwatch digest --partial`): its data is cut at the current minute, it says
"partial: up to <time>" in Slack, HTML and CSV, and its record is an edition of its own
(`partial@<time>`), so it never counts as the week's digest: the weekly job (or a later complete
`vocwatch digest`) still posts the week once it is over. A week that has not started is refused.

An empty week (no mentions, no survey answers) still gets its HTML and CSV, but nothing is posted unless
`[digest] post_empty` is on; its record is marked `skipped`, so the weekly job does not try it again,
while a later run that finds something to post (data imported since) still posts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from rich.console import Console
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

import storage
import storage.digests as queries
from notifier import digest as render
from notifier import slackapi
from notifier.digest import format as render_format
from notifier.digest import slack as digest_slack
from notifier.digest.build import rank_topics
from notifier.digest.week import IsoWeek
from storage.enums import DigestStatus, JourneyStage
from storage.models import Digest
from vocwatch.errors import VocwatchError
from vocwatch.settings import DigestSettings, Settings
from vocwatch.stages.ledger import RunRecord, assess_source
from vocwatch.wiring import App

__all__ = [
    "DigestFiles",
    "DigestRun",
    "PostOutcome",
    "Target",
    "compose_digest",
    "digest_command",
    "due_week",
    "load_week",
    "options_of",
    "partial_until",
    "post_digest",
    "run_digest",
    "scheduled_digest",
    "write_files",
]

logger = logging.getLogger(__name__)

Target = Literal["slack", "html", "both"]
_STAGE_ORDER = {str(stage): position for position, stage in enumerate(JourneyStage)}
_LEDGER_WEEKS = 5  # the coverage ledger's weekly baseline reads the 4 weeks before the week, plus the week
_HISTORY_MARGIN = timedelta(minutes=10)  # clock skew between us and Slack when searching the history


@dataclass(frozen=True)
class DigestFiles:
    """Where the reports of one week were written (the CLI prints them; the daemon logs nothing else)."""

    html: Path
    csv: Path


@dataclass(frozen=True)
class PostOutcome:
    """What `post_digest` did: `posted`, `already_sent`, `in_progress` (another process is posting it),
    `empty` (nothing to report and empty weeks are not posted: nothing sent) or `failed`; `reconciled`
    counts steps found in Slack instead of being posted again."""

    status: Literal["posted", "already_sent", "in_progress", "empty", "failed"]
    channel: str
    ts: str | None = None
    chart_file_id: str | None = None
    reconciled: int = 0
    error: str | None = None


def options_of(settings: DigestSettings) -> render.DigestOptions:
    """The `[digest]` knobs as the plain values the pure digest code takes (it never sees Settings)."""
    return render.DigestOptions(
        min_mentions=settings.min_mentions,
        mix_shift_threshold=settings.mix_shift_threshold,
        top_topics=settings.top_topics,
        quotes_per_topic=settings.quotes_per_topic,
    )


def load_week(
    session: Session, week: IsoWeek, settings: DigestSettings, *, until: datetime | None = None
) -> render.WeekData:
    """Everything the digest of `week` shows, from stored data only (same data → same digest).

    `until` (a partial digest of a week that is not over) cuts the week's data there: what is counted,
    quoted and judged is what was known by then.
    """
    tz = settings.timezone
    weeks = [week.minus(back) for back in range(settings.trend_weeks)]
    ranges = [w.bounds(tz) for w in weeks]
    start, end = ranges[0]
    if until is not None:
        ranges[0] = (start, min(end, until))
    cutoff = ranges[0][1]
    options = options_of(settings)
    topics = [render.TopicCount(*cell) for cell in queries.topic_cells(session, ranges[:2])]
    top = rank_topics(topics, options.top_topics)
    quotes = {
        topic: [render.Quote(*quote) for quote in rows]
        for topic, rows in queries.list_quotes(
            session, start, cutoff, top, per_topic=options.quotes_per_topic
        ).items()
    }
    models, taxonomies = queries.count_versions(session, start, cutoff)
    return render.WeekData(
        week=str(week),
        start=start,
        end=end,
        timezone=tz,
        touchpoints=sorted(queries.list_journey(session), key=lambda t: (_STAGE_ORDER.get(t[1], 99), t[0])),
        sentiment=[
            render.SentimentCell(*cell)
            for cell in queries.sentiment_cells(session, ranges, churn_threshold=settings.churn_threshold)
        ],
        surveys=[render.SurveyCell(*cell) for cell in queries.survey_cells(session, ranges[:2])],
        topics=topics,
        quotes=quotes,
        incidents=[
            render.IncidentLine(*line)
            for line in queries.list_week_incidents(session, start, cutoff, limit=options.incidents)
        ],
        coverage=_coverage(session, cutoff),
        held_back=queries.count_held_back(session, start, cutoff),
        model_versions=models,
        taxonomy_version=", ".join(f"{v} ({n})" for v, n in sorted(taxonomies.items()))
        or f"{queries.taxonomy_version(session)} (configured; not recorded on analyses)",
        trend_weeks=[str(w) for w in weeks],
        partial_until=None if until is None else cutoff,
    )


def _coverage(session: Session, end: datetime) -> list[render.CoverageLine]:
    """Each enabled crawled source judged by the coverage ledger as of the week's end."""
    runs: dict[tuple[str, str], list[RunRecord]] = {}
    for name, kind, enabled, run in queries.list_runs_between(
        session, end - timedelta(weeks=_LEDGER_WEEKS), end
    ):
        if not enabled or kind == "survey":
            continue
        records = runs.setdefault((name, kind), [])
        if run is not None:
            records.append(RunRecord.of(run))
    lines = []
    for (name, kind), records in runs.items():
        health = assess_source(records, now=end)
        lines.append(
            render.CoverageLine(
                source=name,
                kind=kind,
                status=str(health.status),
                items=health.items_7d,
                usual=health.usual_7d,
                reason=health.reason,
            )
        )
    return lines


def compose_digest(
    sessions: sessionmaker[Session], week: IsoWeek, settings: DigestSettings, *, until: datetime | None = None
) -> tuple[render.WeeklyDigest, bytes]:
    """The digest of `week` and its chart PNG; with `until`, the partial digest of the data up to then."""
    with sessions() as session:
        queries.begin_snapshot(session)
        data = load_week(session, week, settings, until=until)
    digest = render.build_digest(data, options_of(settings))
    return digest, render.render_chart(digest)


def write_files(digest: render.WeeklyDigest, chart_png: bytes, out_dir: Path) -> DigestFiles:
    """`digest-<week>.html` (self-contained) and `digest-<week>.csv`, written atomically; a partial
    digest writes `digest-<week>-partial.*`, so it is never taken for the week's report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{digest.week}-partial" if digest.is_partial else f"digest-{digest.week}"
    files = DigestFiles(html=out_dir / f"{stem}.html", csv=out_dir / f"{stem}.csv")
    _write_atomically(files.html, render.render_html(digest, chart_png))
    _write_atomically(files.csv, render.render_csv(digest))
    return files


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def due_week(now: datetime, settings: DigestSettings) -> IsoWeek | None:
    """The week the daemon should post now: the week that just ended, once it is Monday `post_hour`
    local time or later; None before that on a Monday (the digest of two weeks ago is already done)."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    if local.weekday() == 0 and local.hour < settings.post_hour:
        return None
    return IsoWeek.last_complete(now, settings.timezone)


def post_digest(
    sessions: sessionmaker[Session],
    client: WebClient,
    digest: render.WeeklyDigest,
    chart_png: bytes,
    *,
    channel: str,
    now: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=10),
    post_empty: bool = True,
) -> PostOutcome:
    """Post the digest and its chart to `channel` once; see the module docstring for the protocol.

    A `pending` row claimed less than `stale_after` ago belongs to a process that may be posting right
    now: it is left alone (`in_progress`) instead of being raced. A partial digest is recorded as an
    edition of its own, never as the week's digest. An empty digest is not posted unless `post_empty`:
    its row is marked `skipped` (`empty`), unless part of it is in Slack already (then it is finished).
    """
    now = now or datetime.now(UTC)
    if digest.partial_until is None:
        edition, key = queries.FINAL_EDITION, f"{digest.week}:{channel}"
    else:
        edition = queries.partial_edition(digest.partial_until)
        key = f"{digest.week}:{channel}:{edition}"
    with sessions.begin() as session:
        row = queries.get_digest_for_update(
            session, week=digest.week, channel=channel, now=now, edition=edition
        )
        if row.status == DigestStatus.SENT:
            return PostOutcome("already_sent", channel, row.slack_ts, row.chart_file_id)
        previous_claim = row.claimed_at
        if previous_claim is not None and now - previous_claim < stale_after:
            return PostOutcome("in_progress", channel, row.slack_ts, row.chart_file_id)
        if digest.is_empty and not post_empty and row.slack_ts is None:
            queries.mark_digest_skipped(row)
            return PostOutcome("empty", channel)
        row.claimed_at, row.attempts, row.status = now, row.attempts + 1, DigestStatus.PENDING
        digest_id, ts, channel_id, chart_id = row.id, row.slack_ts, row.slack_channel_id, row.chart_file_id
    oldest = (previous_claim or now) - _HISTORY_MARGIN
    reconciled = 0
    try:
        if ts is None or channel_id is None:
            found = None
            if previous_claim is not None:  # an earlier attempt may have posted before it died
                known = channel_id or slackapi.resolve_channel_id(client, channel)
                if known is not None:
                    found = digest_slack.find_digest_message(client, channel_id=known, key=key, oldest=oldest)
            reconciled += found is not None
            posted = found or digest_slack.post_digest_message(
                client,
                channel=channel,
                key=key,
                text=render.build_digest_fallback(digest),
                blocks=render.build_digest_blocks(digest),
            )
            ts, channel_id = posted.ts, posted.channel_id
            with sessions.begin() as session:
                queries.mark_digest_posted(_row(session, digest_id), ts=ts, channel_id=channel_id)
        if chart_id is None:
            chart_id = (
                digest_slack.find_chart(client, channel_id=channel_id, key=key, oldest=oldest)
                if previous_claim is not None
                else None
            )
            reconciled += chart_id is not None
            chart_id = chart_id or digest_slack.upload_chart(
                client,
                channel_id=channel_id,
                key=key,
                png=chart_png,
                title=f"Negative share per touchpoint · {render_format.week_title(digest)}",
                comment=f"Chart of the weekly customer-voice digest {render_format.week_title(digest)}",
            )
        with sessions.begin() as session:
            queries.mark_digest_sent(_row(session, digest_id), chart_file_id=chart_id, now=now)
    except (SlackApiError, OSError) as err:
        error, permanent = _describe(err)
        with sessions.begin() as session:
            queries.mark_digest_error(_row(session, digest_id), error=error, permanent=permanent)
            # Not in flight any more: the next run may retry at once (after reconciling).
            _row(session, digest_id).claimed_at = now - stale_after
        logger.warning("digest %s to %s failed: %s", digest.week, channel, error)
        return PostOutcome("failed", channel, ts, chart_id, reconciled, error)
    return PostOutcome("posted", channel, ts, chart_id, reconciled)


def _row(session: Session, digest_id: int) -> Digest:
    row = session.get(Digest, digest_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise VocwatchError(f"digest row {digest_id} vanished while posting")
    return row


def _describe(err: SlackApiError | OSError) -> tuple[str, bool]:
    """The error as one line, and whether retrying cannot fix it (a missing channel, a bad token)."""
    if isinstance(err, OSError):
        return f"connection error: {err}", False
    permanent = slackapi.classify_error(err) is slackapi.ErrorKind.SETUP
    return f"Slack error: {slackapi.error_code(err)}", permanent


@dataclass(frozen=True)
class DigestRun:
    """One digest run: the digest itself, the files written (if asked) and the Slack outcome (if asked)."""

    digest: render.WeeklyDigest
    files: DigestFiles | None
    post: PostOutcome | None


def partial_until(
    week: IsoWeek, settings: DigestSettings, *, now: datetime, partial: bool
) -> datetime | None:
    """None for a week that is over (its digest is complete); for the week under way, with `partial`,
    the minute its partial digest is cut at. Refuses (`VocwatchError`) a week that has not started, and
    the week under way without `partial`: its digest would say less than the week's and, posted as the
    week's, would stop the complete one from going out."""
    tz = settings.timezone
    if week.is_over(now, tz):
        return None
    start, end = week.bounds(tz)
    current = IsoWeek.containing(now.astimezone(ZoneInfo(tz)).date())
    if not week.has_started(now, tz):
        raise VocwatchError(
            f"week {week} has not started yet (it starts {_local_time(start, tz)})",
            fix=f"pass a week that is over, e.g. --week {IsoWeek.last_complete(now, tz)} "
            f"(the week under way, {current}, only with --partial)",
        )
    if not partial:
        raise VocwatchError(
            f"week {week} is not over yet (it ends {_local_time(end, tz)})",
            fix="pass --partial to post a preview marked partial (the week's complete digest still goes "
            f"out after it ends), or wait until {_local_time(end, tz)}",
        )
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def _local_time(moment: datetime, tz: str) -> str:
    """ "Mon 14 Dec 2026 00:00 UTC": a time as the operator reads it in the digest's zone."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {tz}"


def run_digest(
    app: App,
    week: IsoWeek,
    *,
    to: Target = "both",
    out_dir: Path | None = None,
    now: datetime | None = None,
    partial: bool = False,
) -> DigestRun:
    """Compose the digest of `week`, then write the reports and/or post it, as `to` says.

    A week that is not over is refused unless `partial` (see `partial_until`); a week that is over
    always gets its complete digest, `partial` or not.
    """
    settings = app.settings
    now = now or datetime.now(UTC)
    until = partial_until(week, settings.digest, now=now, partial=partial)
    digest, chart = compose_digest(app.sessions, week, settings.digest, until=until)
    files = None
    if to in ("html", "both"):
        files = write_files(
            digest, chart, out_dir or settings.digest.out_dir or settings.data_dir / "digests"
        )
    post = None
    if to in ("slack", "both"):
        channel = settings.digest.channel or settings.slack.default_channel
        post = post_digest(
            app.sessions,
            app.slack,
            digest,
            chart,
            channel=channel,
            now=now,
            post_empty=settings.digest.post_empty,
        )
    return DigestRun(digest=digest, files=files, post=post)


def scheduled_digest(app: App, *, now: datetime) -> dict[str, int]:
    """The daemon's weekly job: once the week has ended (and it is Monday `post_hour` local time or
    later), post its digest and write its reports, unless that week's digest is already in Slack.

    Checked often (every `check_every_s`) and idempotent, so a daemon that was down on Monday morning
    posts the digest when it comes back, and a restarted one posts nothing twice. A week that ended
    before the first mention was collected is not posted: nothing was being monitored then. A partial
    digest posted during the week does not count; an empty week (with `post_empty` off) gets its
    reports, is recorded as skipped and is not tried again.
    """
    settings = app.settings
    week = due_week(now, settings.digest)
    channel = settings.digest.channel or settings.slack.default_channel
    if week is None:
        return {"due": 0}
    with app.sessions() as session:
        if queries.is_digest_done(session, week=str(week), channel=channel):
            return {"due": 0}
        if not queries.heard_before(session, week.bounds(settings.digest.timezone)[1]):
            return {"due": 0, "before_first_mention": 1}
    result = run_digest(app, week, to="both", now=now)
    post = result.post
    if post is not None and post.status == "failed":
        raise VocwatchError(f"digest {week} to {channel} failed: {post.error}")
    outcome = {"due": 1, "posted": int(post is not None and post.status == "posted")}
    if post is not None and post.status == "empty":
        outcome["empty"] = 1
    return outcome


def digest_command(
    settings: Settings,
    *,
    week: str | None,
    to: Target,
    out_dir: Path | None,
    console: Console,
    partial: bool = False,
    slack_base_url: str | None = None,
    slack_name: str = "Slack",
) -> DigestRun:
    """`vocwatch digest`: the week's digest from the operator's database, reported on `console`.

    The week under way is refused unless `partial` (`--partial`: a preview, marked so); see `run_digest`.
    `slack_base_url` points the Slack client elsewhere (the demo's local fake Slack, named `slack_name`
    in what is printed); `vocwatch digest --demo` does that in `vocwatch.demo.digest`.
    """
    from vocwatch.wiring import build_app

    now = datetime.now(UTC)
    tz = settings.digest.timezone
    try:
        chosen = IsoWeek.parse(week) if week else IsoWeek.last_complete(now, tz)
    except ValueError as err:
        raise VocwatchError(str(err), fix="pass --week like 2026-W47") from None
    if to in ("slack", "both") and settings.slack.token is None:
        raise VocwatchError(
            "slack.token is not set", fix="set VOCWATCH_SLACK__TOKEN or [slack] token, or use --to html"
        )
    app = build_app(settings, slack_base_url=slack_base_url)
    try:
        storage.upgrade(app.engine)
        result = run_digest(app, chosen, to=to, out_dir=out_dir, now=now, partial=partial)
    finally:
        app.engine.dispose()
    if partial and not result.digest.is_partial:
        console.print(
            f"week {chosen} is over: this is its complete digest (--partial is for the week under way)"
        )
    _report(result, console, slack_name)
    return result


def _report(result: DigestRun, console: Console, slack_name: str) -> None:
    digest = result.digest
    console.print(
        f"digest {render_format.week_title(digest)}: {render_format.overall(digest)}", highlight=False
    )
    if (partial := render_format.partial_text(digest)) is not None:
        console.print(partial, highlight=False)
    if result.files is not None:
        console.print(f"wrote {result.files.html}")
        console.print(f"wrote {result.files.csv}")
    post = result.post
    if post is None:
        return
    if post.status == "posted":
        what = "posted a partial digest" if digest.is_partial else "posted"
        console.print(f"{what} to {post.channel} on {slack_name} (ts {post.ts}, chart {post.chart_file_id})")
    elif post.status == "empty":
        console.print(
            f"nothing posted to {post.channel}: no mentions or survey answers were stored for {digest.week} "
            "(set [digest] post_empty = true to post empty weeks too)",
            markup=False,
            highlight=False,
        )
    elif post.status == "already_sent":
        console.print(f"already posted to {post.channel} (ts {post.ts}); nothing sent again")
    elif post.status == "in_progress":
        console.print(f"another process is posting this digest to {post.channel}; try again in a few minutes")
    else:
        raise VocwatchError(
            f"posting the digest to {post.channel} failed: {post.error}", fix="rerun the command"
        )
