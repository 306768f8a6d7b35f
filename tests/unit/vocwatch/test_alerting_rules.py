"""`[alerts]` settings become the plain knobs of the alert policy (AlertRules.from_settings)."""

from __future__ import annotations

import pytest

from notifier.routing import RouteMode
from storage.enums import Severity
from vocwatch.errors import VocwatchError
from vocwatch.settings import load_settings
from vocwatch.stages.alerting import AlertRules


def test_alert_settings_fill_every_knob() -> None:
    settings = load_settings(
        None,
        slack={"default_channel": "#cx"},
        alerts={
            "warning_at": 0.5,
            "critical_at": 0.9,
            "topic_weights": {"billing": 1.3},
            "route_mode": "all",
            "routes": [{"channels": ["#pr"], "min_severity": "critical", "languages": ["de"]}],
            "incident_window_minutes": 30,
            "incident_quiet_minutes": 10,
            "incident_resolve_minutes": 60,
            "max_pings_per_hour": 4,
            "max_pings_per_day": 0,
            "review_base_url": "https://vocwatch.example",
        },
    )
    rules = AlertRules.from_settings(settings)
    assert rules.channel == "#cx"
    assert (rules.severity.warning_at, rules.severity.critical_at) == (0.5, 0.9)
    assert rules.severity.topic_weights == {"billing": 1.3}
    assert rules.route_mode is RouteMode.ALL
    assert rules.routes[0].channels == ("#pr",)
    assert rules.routes[0].min_severity is Severity.CRITICAL
    assert rules.routes[0].languages == ("de",)
    assert (rules.incidents.window_s, rules.incidents.quiet_after_s, rules.incidents.resolve_after_s) == (
        1800.0,
        600.0,
        3600.0,
    )
    assert (rules.budget.per_hour, rules.budget.per_day) == (4, 0)
    assert rules.review_base_url == "https://vocwatch.example"


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"warning_at": 0.9, "critical_at": 0.5}, "warning_at"),
        ({"routes": [{"channels": []}]}, "alerts.routes.0.channels"),
        ({"routes": [{"channels": ["#x"], "min_severity": "loud"}]}, "min_severity"),
        ({"route_mode": "some"}, "route_mode"),
        ({"incident_quiet_minutes": 100, "incident_resolve_minutes": 10}, "incident_quiet_minutes"),
        ({"max_pings_per_hour": -1}, "max_pings_per_hour"),
    ],
)
def test_bad_alert_settings_name_the_key(alerts: dict[str, object], message: str) -> None:
    with pytest.raises(VocwatchError, match=message):
        load_settings(None, alerts=alerts)
