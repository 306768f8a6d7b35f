"""`vocwatch digest --demo`: the weekly digest of the database `vocwatch demo` wrote.

Without a Slack token it posts to a local fake Slack, the way `vocwatch demo` posts its alerts, and prints
what arrived there; the HTML and CSV go next to the demo database.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from vocwatch.demo.pipeline import demo_database, fake_slack_unless
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings
from vocwatch.stages.digest import DigestRun, Target, digest_command

__all__ = ["demo_digest"]


def demo_digest(
    settings: Settings,
    *,
    week: str | None,
    to: Target,
    out_dir: Path | None,
    console: Console,
    partial: bool = False,
) -> DigestRun:
    """The digest of the demo database, to the fake Slack unless a real token is configured."""
    database = demo_database(settings)
    if not database.exists():
        raise VocwatchError(f"no demo database at {database}", fix="run `vocwatch demo` first")
    console.print(f"digest of the demo database {database}")
    settings = settings.model_copy(update={"database_url": f"sqlite:///{database}"})
    out_dir = out_dir or database.parent / "digests"
    wants_slack = to in ("slack", "both")
    with fake_slack_unless(settings.slack.token is not None or not wants_slack) as fake:
        if fake is None:
            return digest_command(
                settings, week=week, to=to, out_dir=out_dir, console=console, partial=partial
            )
        settings = settings.model_copy(
            update={"slack": settings.slack.model_copy(update={"token": SecretStr("xoxb-vocwatch-demo")})}
        )
        result = digest_command(
            settings,
            week=week,
            to=to,
            out_dir=out_dir,
            console=console,
            partial=partial,
            slack_base_url=fake.base_url,
            slack_name=f"the local fake Slack at {fake.base_url}",
        )
        channel = result.post.channel if result.post is not None else ""
        for text in fake.posted_texts():
            console.print(f"  {channel}  {text}", markup=False, highlight=False)
        for shared in fake.files:
            size = len(shared.content or b"")
            console.print(
                f"  {channel}  [file] {shared.filename} ({size} bytes)", markup=False, highlight=False
            )
        return result
