"""Is the Slack setup right? What `vocwatch check` reports, and the scopes the dispatcher is built with.

The scopes a configuration needs follow from what it uses (`notifier.scopes`): `chat:write` always;
`files:write` when the daemon posts the weekly digest (its chart); `channels:history` and
`groups:history` unless `slack.reconcile = false` (finding an interrupted alert in Slack before sending it
again); `channels:read` and `groups:read` besides when a channel is configured by name (reconciling needs
its ID). The dispatcher refuses to dispatch without its scopes (`notifier.dispatcher`); this module says
which, and what to do about it, in vocwatch's own terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from notifier import scopes as slack_scopes
from notifier import slackapi
from notifier.errors import MissingScopesError
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings

__all__ = [
    "ChannelCheck",
    "Problem",
    "SlackCheck",
    "check_slack",
    "configured_channels",
    "dispatch_scopes",
    "dispatch_stopped",
    "needed_scopes",
    "scopes_problem",
]

SCOPES_FIX = (
    "add them to the Slack app (api.slack.com/apps → OAuth & Permissions → Bot Token Scopes) and "
    "reinstall it to the workspace"
)
RECONCILE_OFF_FIX = (
    "or set slack.reconcile = false (an alert whose delivery is unknown then goes to the review queue "
    "instead of being looked for in Slack)"
)
_TOKEN_FIX = "set slack.token (or VOCWATCH_SLACK__TOKEN) to the app's Bot User OAuth Token (xoxb-...)"  # noqa: S105
_READ_SCOPES = frozenset((*slack_scopes.HISTORY_SCOPES, *slack_scopes.CHANNEL_LOOKUP_SCOPES))


def configured_channels(settings: Settings) -> list[str]:
    """Every channel the config names, once each, in the order an operator reads them."""
    named: list[str | None] = [
        settings.slack.default_channel,
        settings.slack.ops_channel,
        settings.spikes.channel,
        settings.digest.channel,
    ]
    for route in settings.alerts.routes:
        named.extend(route.channels)
    return list(dict.fromkeys(channel for channel in named if channel))


def _by_name(settings: Settings) -> bool:
    return any(not slackapi.is_channel_id(channel) for channel in configured_channels(settings))


def dispatch_scopes(settings: Settings) -> tuple[str, ...]:
    """The scopes the alert dispatcher of this config checks for before it dispatches."""
    return slack_scopes.dispatch_scopes(reconcile=settings.slack.reconcile, channel_names=_by_name(settings))


def needed_scopes(settings: Settings) -> dict[str, str]:
    """Scope -> what it is for, for everything this config posts or reads."""
    return slack_scopes.needed_scopes(
        reconcile=settings.slack.reconcile,
        channel_names=_by_name(settings),
        digest_chart=settings.digest.enabled,
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the setup, and what to do about it: printed as one line."""

    what: str
    fix: str

    def line(self) -> str:
        return f"problem: {self.what} — fix: {self.fix}"


def scopes_problem(settings: Settings, missing: Iterable[str]) -> Problem:
    """The problem "these scopes are missing", with the fix (turning reconciliation off, if that helps)."""
    missing = list(missing)
    fix = SCOPES_FIX
    if settings.slack.reconcile and _READ_SCOPES.intersection(missing):
        fix = f"{fix}, {RECONCILE_OFF_FIX}"
    return Problem(f"the Slack token lacks scope(s) {', '.join(missing)}", fix)


def dispatch_stopped(settings: Settings, error: MissingScopesError) -> VocwatchError:
    """The dispatcher's refusal, as vocwatch reports it: what is missing, and the fix in config terms."""
    return VocwatchError(str(error), fix=scopes_problem(settings, error.missing).fix)


@dataclass(frozen=True)
class ChannelCheck:
    """A configured channel: its ID when Slack listed it, and whether the bot is in it."""

    channel: str
    channel_id: str | None
    is_member: bool | None


@dataclass
class SlackCheck:
    """What `check_slack` found; `problems` empty means the setup is right."""

    identity: slack_scopes.SlackIdentity | None = None
    needed: dict[str, str] = field(default_factory=dict)
    channels: list[ChannelCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report, one line per item; the problems last, each with its fix."""
        out: list[str] = []
        if self.identity is not None:
            who = self.identity
            out.append(f"Slack workspace {who.team} ({who.team_id}), bot user {who.user} ({who.user_id})")
        if self.needed:
            granted = self.identity.scopes if self.identity is not None else None
            out.append("scopes this config needs:")
            width = max(len(scope) for scope in self.needed)
            for scope, why in self.needed.items():
                mark = "?" if granted is None else "✓" if scope in granted else "✗"
                out.append(f"  {mark} {scope:<{width}}  {why}")
        if self.channels:
            out.append("channels:")
            for channel in self.channels:
                if channel.channel_id is None:
                    out.append(f"  ✗ {channel.channel}  not found")
                else:
                    member = "" if channel.is_member is not False else "  (the bot is not a member)"
                    mark = "✓" if channel.is_member is not False else "✗"
                    out.append(f"  {mark} {channel.channel} → {channel.channel_id}{member}")
        out.extend(f"note: {note}" for note in self.notes)
        out.extend(problem.line() for problem in self.problems)
        if not self.problems:
            out.append("Slack setup OK")
        return out


def check_slack(settings: Settings, client: WebClient | None) -> SlackCheck:
    """Token (auth.test), scopes granted vs needed, configured channels; `client` None: no token set."""
    result = SlackCheck(needed=needed_scopes(settings))
    if client is None:
        result.problems.append(Problem("slack.token is not set", _TOKEN_FIX))
        return result
    try:
        result.identity = identity = slack_scopes.identify(client)
    except SlackApiError as err:
        error = slackapi.error_code(err)
        if slackapi.classify_error(err) is slackapi.ErrorKind.SETUP:
            result.problems.append(Problem(f"Slack refused the token ({error})", _TOKEN_FIX))
        else:
            result.problems.append(
                Problem(f"Slack's auth.test failed ({error})", "retry later; check slack.base_url")
            )
        return result
    except OSError as err:
        result.problems.append(
            Problem(
                f"cannot reach Slack at {settings.slack.base_url} ({err})",
                "check slack.base_url and the network",
            )
        )
        return result
    if identity.scopes is None:
        result.problems.append(
            Problem(
                "Slack did not say which scopes the token has (no x-oauth-scopes header)",
                "use the Bot User OAuth Token (xoxb-...) of a Slack app, not a legacy token",
            )
        )
    missing = slack_scopes.missing_scopes(result.needed, identity.scopes)
    if missing:
        result.problems.append(scopes_problem(settings, missing))
    _check_channels(settings, client, identity, result)
    return result


def _check_channels(
    settings: Settings, client: WebClient, identity: slack_scopes.SlackIdentity, result: SlackCheck
) -> None:
    """Each configured channel must exist and have the bot in it (posting and reading history need it)."""
    granted = identity.scopes
    types = [
        kind
        for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read"))
        if granted is None or scope in granted
    ]
    if not types:
        result.notes.append("channels not checked: listing them needs channels:read")
        return
    try:
        listed = list(slackapi.list_channels(client, types=",".join(types)))
    except (SlackApiError, OSError) as err:
        reason = slackapi.error_code(err) if isinstance(err, SlackApiError) else str(err)
        result.notes.append(f"channels not checked: conversations.list failed ({reason})")
        return
    by_id: dict[str, Mapping[str, Any]] = {str(c.get("id")): c for c in listed}
    by_name: dict[str, Mapping[str, Any]] = {str(c.get("name")): c for c in listed}
    private_listed = "private_channel" in types
    for channel in configured_channels(settings):
        found = by_id.get(channel) if slackapi.is_channel_id(channel) else by_name.get(channel.lstrip("#"))
        if found is None:
            result.channels.append(ChannelCheck(channel, None, None))
            hint = "" if private_listed else " (private channels were not listed: no groups:read)"
            result.problems.append(
                Problem(
                    f"channel {channel} not found in the workspace{hint}",
                    "create it or correct its name in the config; a private channel needs the bot invited",
                )
            )
            continue
        is_member = found.get("is_member")
        member = bool(is_member) if is_member is not None else None
        result.channels.append(ChannelCheck(channel, str(found.get("id")), member))
        if member is False:
            result.problems.append(
                Problem(
                    f"the bot is not a member of {channel}",
                    f"invite it: type /invite @{identity.user or 'the bot'} in {channel}",
                )
            )
