"""The Slack OAuth scopes vocwatch's calls need, and the ones a token was granted.

Slack names a token's granted scopes in the `x-oauth-scopes` header of every answer; `identify` reads
it from `auth.test`, which needs no scope itself, so even a token that can do nothing else says what it
lacks. `needed_scopes` says which scopes a configuration uses, and why, so that an operator is told
before the first alert rather than by the first crash: without the history scopes the dispatcher
cannot look in Slack for an alert whose delivery a crash interrupted, and re-sending it blindly could
post it twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

__all__ = [
    "CHANNEL_LOOKUP_SCOPES",
    "HISTORY_SCOPES",
    "POST_SCOPE",
    "SCOPE_USES",
    "UPLOAD_SCOPE",
    "SlackIdentity",
    "dispatch_scopes",
    "granted_scopes",
    "identify",
    "missing_scopes",
    "needed_scopes",
]

POST_SCOPE = "chat:write"
UPLOAD_SCOPE = "files:write"
# conversations.history and conversations.replies: public channels, private channels.
HISTORY_SCOPES = ("channels:history", "groups:history")
# conversations.list (public_channel, private_channel): the ID of a channel configured by name.
CHANNEL_LOOKUP_SCOPES = ("channels:read", "groups:read")

SCOPE_USES: Mapping[str, str] = {
    POST_SCOPE: "post alerts, thread replies and incident updates (chat.postMessage, chat.update)",
    UPLOAD_SCOPE: "upload the weekly digest's chart (files.getUploadURLExternal, "
    "files.completeUploadExternal)",
    "channels:history": "look in a public channel's history and threads for an alert whose delivery a crash "
    "interrupted, before sending it again (conversations.history, conversations.replies)",
    "groups:history": "the same in private channels",
    "channels:read": "find the ID of a public channel configured by name (conversations.list)",
    "groups:read": "the same for private channels",
}
"""Every scope vocwatch may need, with what it is for (README's scope table says the same)."""

_SCOPES_HEADER = "x-oauth-scopes"


def dispatch_scopes(*, reconcile: bool, channel_names: bool) -> tuple[str, ...]:
    """What the alert dispatcher calls need: posting, plus reading Slack back when it reconciles.

    `channel_names`: some alert channel is configured by name, so reconciliation must look its ID up.
    """
    scopes = [POST_SCOPE]
    if reconcile:
        scopes += HISTORY_SCOPES
        if channel_names:
            scopes += CHANNEL_LOOKUP_SCOPES
    return tuple(scopes)


def needed_scopes(*, reconcile: bool, channel_names: bool, digest_chart: bool) -> dict[str, str]:
    """Scope -> what it is for, for one configuration: the dispatcher's, plus the digest chart upload."""
    scopes = list(dispatch_scopes(reconcile=reconcile, channel_names=channel_names))
    if digest_chart:
        scopes.insert(1, UPLOAD_SCOPE)
    return {scope: SCOPE_USES[scope] for scope in scopes}


@dataclass(frozen=True)
class SlackIdentity:
    """Who the token is (auth.test) and what it may do; `scopes` is None when Slack did not say."""

    team: str
    team_id: str
    user: str
    user_id: str
    bot_id: str | None
    url: str
    scopes: frozenset[str] | None


def identify(client: WebClient) -> SlackIdentity:
    """`auth.test`: the workspace, the bot user and the granted scopes (`x-oauth-scopes`).

    Raises slack_sdk's `SlackApiError` for a refused token (`invalid_auth`, ...) and `OSError` when
    Slack cannot be reached.
    """
    response = client.auth_test()
    return SlackIdentity(
        team=str(response.get("team") or ""),
        team_id=str(response.get("team_id") or ""),
        user=str(response.get("user") or ""),
        user_id=str(response.get("user_id") or ""),
        bot_id=str(response["bot_id"]) if response.get("bot_id") else None,
        url=str(response.get("url") or ""),
        scopes=granted_scopes(response.headers),
    )


def granted_scopes(headers: Mapping[str, Any]) -> frozenset[str] | None:
    """The scopes in an `x-oauth-scopes` header (any case; slack_sdk may hand lists), or None without one."""
    for name, value in headers.items():
        if name.lower() != _SCOPES_HEADER:
            continue
        raw = value[0] if isinstance(value, list | tuple) and value else value
        return frozenset(scope.strip() for scope in str(raw).split(",") if scope.strip())
    return None


def missing_scopes(needed: Iterable[str], granted: frozenset[str] | None) -> list[str]:
    """The needed scopes not granted, in the order needed; none when the grant is unknown (None)."""
    if granted is None:
        return []
    return [scope for scope in dict.fromkeys(needed) if scope not in granted]
