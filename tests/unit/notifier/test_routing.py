"""Routing rules: conditions, first-match vs all-matches, and the default channel."""

from __future__ import annotations

import pytest

from notifier.routing import RouteMode, RouteRule, RouteTarget, route_channels, severity_rank
from storage.enums import Severity

RULES = (
    RouteRule(channels=("#pr-war-room",), min_severity=Severity.CRITICAL),
    RouteRule(channels=("#billing",), topics=("billing", "refunds")),
    RouteRule(channels=("#delivery-de",), touchpoints=("delivery",), languages=("de",)),
    RouteRule(channels=("#app", "#billing"), sources=("appstore",)),
)


def target(**kwargs: object) -> RouteTarget:
    values: dict[str, object] = {"severity": Severity.WARNING, **kwargs}
    return RouteTarget(**values)  # type: ignore[arg-type]


def test_no_rule_matches_goes_to_the_default() -> None:
    assert route_channels(target(topics=("price",)), RULES, default_channel="#cx") == ("#cx",)


def test_first_match_wins() -> None:
    got = route_channels(
        target(severity=Severity.CRITICAL, topics=("billing",)), RULES, default_channel="#cx"
    )
    assert got == ("#pr-war-room",)


def test_all_matches_collects_channels_in_rule_order_without_duplicates() -> None:
    got = route_channels(
        target(severity=Severity.CRITICAL, topics=("refunds",), source="appstore"),
        RULES,
        default_channel="#cx",
        mode=RouteMode.ALL,
    )
    assert got == ("#pr-war-room", "#billing", "#app")


def test_every_condition_of_a_rule_must_hold() -> None:
    assert route_channels(target(touchpoint="delivery", language="en"), RULES, default_channel="#cx") == (
        "#cx",
    )
    assert route_channels(target(touchpoint="delivery", language="DE"), RULES, default_channel="#cx") == (
        "#delivery-de",
    )


def test_unknown_language_never_matches_a_language_rule() -> None:
    assert route_channels(target(touchpoint="delivery"), RULES, default_channel="#cx") == ("#cx",)


def test_min_severity_is_a_lower_bound() -> None:
    rule = RouteRule(channels=("#loud",), min_severity=Severity.WARNING)
    assert rule.matches(target(severity=Severity.CRITICAL))
    assert rule.matches(target(severity=Severity.WARNING))
    assert not rule.matches(target(severity=Severity.INFO))


def test_rule_without_conditions_matches_everything() -> None:
    assert RouteRule(channels=("#all",)).matches(target())


def test_bad_rules_and_defaults_are_rejected() -> None:
    with pytest.raises(ValueError):
        RouteRule(channels=())
    with pytest.raises(ValueError):
        RouteRule(channels=(" ",))
    with pytest.raises(ValueError):
        route_channels(target(), (), default_channel="")
    with pytest.raises(ValueError):
        severity_rank("loud")
