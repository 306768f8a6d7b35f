"""Routing: which Slack channel(s) an alert goes to, from `[[alerts.routes]]` rules in the config.

A rule matches when EVERY condition it sets holds (an unset condition matches anything); within one
condition any listed value is enough:

- `touchpoints` — the mention's touchpoint is one of these;
- `topics` — at least one of the mention's topics is one of these;
- `sources` — the mention's source is one of these;
- `languages` — the mention's language is one of these (a mention of unknown language never matches);
- `min_severity` — the alert's level is at least this (info < warning < critical).

`mode = "first"` (the default): the first matching rule wins, like a firewall; order rules from the most
specific to the most general. `mode = "all"`: every matching rule contributes its channels (deduplicated,
in rule order), e.g. billing to #billing-team AND everything critical to #pr-war-room. In both modes an
alert no rule matches goes to the default channel, so nothing is lost to a routing gap.

Pure: names and levels in, channel names out.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from storage.enums import Severity

__all__ = ["RouteMode", "RouteRule", "RouteTarget", "route_channels", "severity_rank"]

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class RouteMode(enum.StrEnum):
    FIRST = "first"
    ALL = "all"


def severity_rank(level: str) -> int:
    """info 0 < warning 1 < critical 2; raises on an unknown level so a config typo is loud."""
    return _RANK[Severity(level)]


@dataclass(frozen=True)
class RouteRule:
    """One `[[alerts.routes]]` entry; empty tuples / None mean "any"."""

    channels: tuple[str, ...]
    touchpoints: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    min_severity: Severity | None = None

    def __post_init__(self) -> None:
        if not self.channels or any(not channel.strip() for channel in self.channels):
            raise ValueError("a route needs at least one non-empty channel")

    def matches(self, target: RouteTarget) -> bool:
        if self.touchpoints and target.touchpoint not in self.touchpoints:
            return False
        if self.topics and not set(self.topics) & set(target.topics):
            return False
        if self.sources and target.source not in self.sources:
            return False
        if self.languages and (target.language or "").lower() not in {x.lower() for x in self.languages}:
            return False
        return self.min_severity is None or severity_rank(target.severity) >= severity_rank(self.min_severity)


@dataclass(frozen=True)
class RouteTarget:
    """What routing looks at for one alert."""

    severity: Severity
    touchpoint: str | None = None
    topics: tuple[str, ...] = ()
    source: str | None = None
    language: str | None = None


def route_channels(
    target: RouteTarget,
    rules: Sequence[RouteRule],
    *,
    default_channel: str,
    mode: RouteMode = RouteMode.FIRST,
) -> tuple[str, ...]:
    """The channels of the first (or all) matching rules; `(default_channel,)` when none matches."""
    if not default_channel.strip():
        raise ValueError("default_channel must not be empty")
    channels: list[str] = []
    for rule in rules:
        if not rule.matches(target):
            continue
        channels.extend(channel for channel in rule.channels if channel not in channels)
        if mode is RouteMode.FIRST:
            break
    return tuple(channels) or (default_channel,)
