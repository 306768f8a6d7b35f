"""vocwatch's notifier: alert policy, Slack Block Kit messages and the outbox dispatcher.

This package surface holds only the pure parts (plain values in, plain values out), so importing
`notifier` never pulls in SQLAlchemy. The dispatcher needs `storage` and is imported from its module:
`from notifier.dispatcher import Dispatcher`.
"""

from notifier.blocks import MentionMessage, build_mention_blocks, build_mention_fallback
from notifier.escape import escape_and_truncate, escape_mrkdwn, is_linkable, safe_link, truncate
from notifier.policy import AlertDecision, Severity, decide_mention_alert, mention_dedup_key, severity_for

__all__ = [
    "AlertDecision",
    "MentionMessage",
    "Severity",
    "build_mention_blocks",
    "build_mention_fallback",
    "decide_mention_alert",
    "escape_and_truncate",
    "escape_mrkdwn",
    "is_linkable",
    "mention_dedup_key",
    "safe_link",
    "severity_for",
    "truncate",
]
