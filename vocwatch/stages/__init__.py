"""The pipeline stages: plain functions the CLI, the daemon and the workers call, and nothing else.

Each stage follows one pattern: its queries live in `storage.<x>`, its pure decisions in `notifier.<x>`
(or `sentiment` for the model), and the stage here reads its input rows, applies the decision and commits
its output with the state change in ONE transaction, so a crash loses nothing and a rerun picks up where
it stopped (DESIGN.md, "Flow").

    catalog   config -> touchpoints, topics, sources rows
    analyze   new mentions -> analyses, touchpoints, alerts (via alerting), review cases
    alerting  one analysed mention -> severity, routing, incident, budget, outbox alert
    dispatch  outbox -> Slack
    spikes    negative volume vs its baseline -> spike alerts
    health    coverage ledger -> source-health alerts
    digest    a week of rows -> HTML, CSV and one Slack post (imported on use: it loads matplotlib)
    surveys   a survey export -> survey answers

The light stages are re-exported here, so callers write `stages.analyze_pending(...)`.
"""

from vocwatch.stages.alerting import AlertRules, refresh_incident_states
from vocwatch.stages.analyze import analyze_leased, analyze_pending, retouch
from vocwatch.stages.catalog import sync_catalog
from vocwatch.stages.dispatch import DispatchTotals, dispatch_alerts
from vocwatch.stages.health import HealthTotals, check_source_health
from vocwatch.stages.spikes import SpikeTotals, check_spikes

__all__ = [
    "AlertRules",
    "DispatchTotals",
    "HealthTotals",
    "SpikeTotals",
    "analyze_leased",
    "analyze_pending",
    "check_source_health",
    "check_spikes",
    "dispatch_alerts",
    "refresh_incident_states",
    "retouch",
    "sync_catalog",
]
