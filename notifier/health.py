"""Source-health alerts: tell ops once when a source goes dark or degrades, and once when it recovers.

The coverage ledger (`vocwatch/stages/ledger.py`) judges every source ok / degraded / dark on each check.
Alerting on the *state* would ping every check while a source is down; alerting on *transitions* of the
announced state pings once per episode:

    announced ok       + now degraded → "degraded"     + now dark → "dark"
    announced degraded + now dark     → "dark" (it got worse: people need to know)
    announced degraded + now ok       → "recovered"
    announced dark     + now degraded → nothing (still not healthy; the "recovered" comes at ok)
    announced dark     + now ok       → "recovered"

The announced state is the status in the source's latest health alert (none yet: ok). Each alert's dedup
key carries a sequence number (`health:<source id>:<n>:<status>`), so the same transition can never be
enqueued twice, even by two checks racing, and the next transition gets a fresh key.

Pure: statuses in, decisions and Block Kit out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from notifier.escape import code_span, escape_and_truncate

__all__ = [
    "HealthTransition",
    "announced_status",
    "build_health_blocks",
    "build_health_fallback",
    "health_dedup_key",
    "next_health_transition",
    "parse_health_dedup_key",
]

OK, DEGRADED, DARK = "ok", "degraded", "dark"
_STATUSES = (OK, DEGRADED, DARK)
_PREFIX = "health"
_REASON_LIMIT = 500


@dataclass(frozen=True)
class HealthTransition:
    """An alert to send: `status` is the new announced status ("recovered" is announced as ok)."""

    status: str  # "degraded", "dark" or "ok"
    sequence: int

    @property
    def recovered(self) -> bool:
        return self.status == OK


def next_health_transition(announced: str, current: str, *, sequence: int) -> HealthTransition | None:
    """The alert owed when a source judged `current` was last announced as `announced`; None if none.

    `sequence` is the number of the last health alert of this source (0 when it never had one).
    """
    for value in (announced, current):
        if value not in _STATUSES:
            raise ValueError(f"unknown source status {value!r}")
    worse = {OK: 0, DEGRADED: 1, DARK: 2}
    if current == announced:
        return None
    if current == OK or worse[current] > worse[announced]:
        return HealthTransition(status=current, sequence=sequence + 1)
    return None  # dark → degraded: still unhealthy, wait for ok


def health_dedup_key(source_id: int, transition: HealthTransition) -> str:
    return f"{_PREFIX}:{source_id}:{transition.sequence}:{transition.status}"


def parse_health_dedup_key(key: str) -> tuple[int, str] | None:
    """(sequence, announced status) of a health alert's dedup key; None for any other key."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != _PREFIX or parts[3] not in _STATUSES or not parts[2].isdigit():
        return None
    return int(parts[2]), parts[3]


def announced_status(latest_key: str | None) -> tuple[int, str]:
    """(sequence, status) announced by the latest health alert; (0, "ok") before the first one."""
    parsed = parse_health_dedup_key(latest_key) if latest_key else None
    return parsed if parsed is not None else (0, OK)


def _headline(source: str, transition: HealthTransition) -> str:
    name = code_span(source, 200)
    if transition.recovered:
        return f":white_check_mark: *Source recovered:* {name} is being heard again"
    if transition.status == DARK:
        return f":red_circle: *Source dark:* {name}: we hear nothing from it"
    return f":large_yellow_circle: *Source degraded:* {name}: we hear less than we should"


def build_health_blocks(
    source: str, kind: str, transition: HealthTransition, reason: str
) -> list[dict[str, Any]]:
    """Block Kit for one health alert. `reason` is the ledger's one-line verdict (it may quote a URL or an
    error message from the site, so it is escaped like customer text)."""
    detail = escape_and_truncate(" ".join(reason.split()), _REASON_LIMIT)
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=_headline(source, transition), verbatim=True)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"kind {code_span(kind, 50)} · {detail} · see `vocwatch sources`",
                    verbatim=True,
                )
            ]
        ),
    ]
    return [block.to_dict() for block in blocks]


def build_health_fallback(source: str, transition: HealthTransition, reason: str) -> str:
    name = code_span(source, 200)
    word = "recovered" if transition.recovered else transition.status
    return f"Source {word}: {name} ({escape_and_truncate(' '.join(reason.split()), _REASON_LIMIT)})"
