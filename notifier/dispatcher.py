"""The outbox dispatcher: deliver pending alerts to Slack exactly once, surviving crashes and rate limits.

Delivery is split into transactions so that a process killed at any moment neither loses an alert nor
posts it twice:

1. **Claim** (one transaction): due `pending` alerts are locked, marked `sending` and committed *before*
   Slack is called. Every claimed row now says "a post may be in flight".
2. **Post**: `chat.postMessage` with `metadata = {"event_type": "vocwatch_alert", "event_payload":
   {"dedup_key": ...}}`, so the message itself carries the alert's identity.
3. **Record** (one transaction per alert): `sent` with the Slack `ts` and channel ID, or back to `pending`
   with a `next_attempt_at`, or `failed` with the reason.

Incident threads (issue 6) use the same three steps. An outbox row says what to do (`action`):
`post` a new message (an incident's parent records its `ts` and channel ID on the incident in the same
transaction as `sent`), `reply` in the incident's thread (`thread_ts` = the parent's `ts`; such rows are
not even claimed before the parent is in Slack), or `update` the parent with `chat.update` (idempotent:
the latest state simply overwrites the message). A batch that sends a parent claims again, so the
parent's waiting replies follow in the same run.

A crash between 1 and 3 leaves the alert in `sending`. `reconcile_sending()` (run at start-up and then
periodically) looks for each such alert's message in the channel history by its metadata: found → `sent`
with that `ts` (no repost); not found → `pending` again, so it is sent exactly once more. Thread replies
are looked up in their thread (`conversations.replies`); a stuck `update` is simply queued again, since
repeating `chat.update` with the same content changes nothing, unless a later update of the incident
exists: then it is superseded (marked sent), as re-sending it would put an older state over a newer one.

Review-UI case actions (`kind = case_update`) are replies in the thread of their mention's alert: in the
incident's thread when the mention belongs to one (queued as `reply` on that incident), otherwise under the
mention's own message. The latter are queued as `post` rows (so they are claimable without an incident)
only once that message has a `ts`, and become thread replies here, when claimed (`_snapshot`); a crash
mid-send is reconciled from that thread like any other reply.

Reconciling reads Slack back, which needs the history scopes (and, for channels configured by name, the
read scopes: `notifier.scopes.dispatch_scopes`). So before its first claim or reconciliation the
dispatcher asks `auth.test` for the token's scopes (`check_scopes`); when any it requires is missing it
raises `MissingScopesError` and claims nothing, so the alerts stay queued until an operator grants them.
If Slack cannot be asked right then, it goes on, and asks again next time. A reconciliation that cannot
read Slack (a scope revoked meanwhile: `missing_scope`, or `not_in_channel`, ...) never concludes "not
posted": the alerts become `ambiguous` instead (and the scopes are checked again before the next batch).
With `reconcile=False` (no history scopes wanted) Slack is never read back: an alert whose outcome is
unknown (left `sending` by a crash, or a connection lost after sending) becomes `ambiguous` at once.
An `ambiguous` alert is never sent again by itself: it is in Slack once or not at all, and its mention's
review case (opened if needed, reason `slack_unknown`) asks a person to check the channel.

Failures are sorted by what retrying can achieve (`notifier.slackapi.classify_error`, which the digest
shares; the same module reads channel histories and threads and resolves channel names for reconciling):

- **rate limited** (HTTP 429): back to `pending` at now + `Retry-After`; the dispatcher never sleeps on it
  (the composition root may add `RateLimitErrorRetryHandler(max_retry_count=1)` to the client, which
  absorbs a single short wait). Later alerts of the same channel in the batch wait too, without a request.
  A rate limit is not the alert's fault, so it does not use up one of its attempts.
- **transient** (5xx, connection errors, Slack's `internal_error`-style codes): exponential backoff, then
  `failed` after `max_attempts`.
- **permanent** (`channel_not_found`, `invalid_auth`, `not_in_channel`, ...): `failed` at once with the
  error as the reason, logged once per channel and error in a batch; other channels are not held up.
  `invalid_blocks` first retries once as plain text (the fallback `text`), because a readable alert
  beats no alert; only if that fails too is the alert `failed`.
"""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, sessionmaker

from notifier import scopes as slack_scopes
from notifier import slackapi
from notifier.errors import MissingScopesError
from notifier.policy import ReviewReason
from notifier.slackapi import ErrorKind
from storage import alerts as outbox
from storage import cases as case_rows
from storage import incidents as incident_rows
from storage.enums import AlertAction, AlertKind, AlertStatus, Severity
from storage.models import Alert

__all__ = [
    "METADATA_EVENT_TYPE",
    "DeliveryFailure",
    "DispatchResult",
    "Dispatcher",
    "ReconcileResult",
]

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "vocwatch_alert"

_REASON_LIMIT = 500


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeliveryFailure:
    """An alert that was marked `failed`: what the caller needs for an ops message.

    `needs_operator` is true for configuration problems (a missing channel, a revoked token, a missing
    scope) that will fail every alert to that channel until someone fixes the setup.
    """

    alert_id: int
    channel: str
    error: str
    needs_operator: bool = False


@dataclass(frozen=True)
class DispatchResult:
    """Counts of one `dispatch_due` run; `retried` = transient failures, `rate_limited` = deferred by 429,
    `ambiguous` = outcome unknown and not to be re-sent (reconciliation off)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    failures: tuple[DeliveryFailure, ...] = ()
    ambiguous: int = 0


@dataclass(frozen=True)
class ReconcileResult:
    """Counts of one `reconcile_sending` run.

    `confirmed`: found in Slack, now `sent`. `requeued`: not found, back to `pending`. `unresolved`: the
    lookup itself failed transiently; left in `sending` for the next run. `ambiguous`: Slack could not be
    read (or reconciliation is off): never re-sent, a person checks.
    """

    confirmed: int = 0
    requeued: int = 0
    unresolved: int = 0
    ambiguous: int = 0


@dataclass(frozen=True)
class _Outgoing:
    """Plain values of a claimed alert, so no ORM row is used outside its transaction."""

    id: int
    dedup_key: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    claimed_at: datetime | None
    action: AlertAction = AlertAction.POST
    incident_id: int | None = None
    parent_ts: str | None = None  # the incident's parent message, for replies and updates
    parent_channel_id: str | None = None


@dataclass(frozen=True)
class _Sent:
    ts: str
    channel_id: str
    note: str | None = None


@dataclass(frozen=True)
class _RateLimited:
    until: datetime


@dataclass(frozen=True)
class _Transient:
    error: str


@dataclass(frozen=True)
class _Permanent:
    error: str
    needs_operator: bool = False  # a channel or token problem (`ErrorKind.SETUP`), not this alert's


@dataclass(frozen=True)
class _Ambiguous:
    """The request may have reached Slack (reset or timeout after sending, an unreadable reply): the
    alert stays `sending` so that `reconcile_sending` looks for it in the channel before any re-post."""

    error: str


_Outcome = _Sent | _RateLimited | _Transient | _Permanent | _Ambiguous


@dataclass(frozen=True)
class _Unreadable:
    """A reconciliation lookup that cannot succeed (no scope, not in the channel): it proves nothing."""

    reason: str


# Lookup errors that do prove the message is not there: a channel or thread that does not exist (a post
# to it fails the same way, so a re-send cannot duplicate anything).
_ABSENT_ERRORS = frozenset({"channel_not_found", "thread_not_found"})


@dataclass
class _Tally:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    ambiguous: int = 0
    failures: list[DeliveryFailure] = field(default_factory=list)

    def result(self) -> DispatchResult:
        return DispatchResult(
            claimed=self.claimed,
            sent=self.sent,
            retried=self.retried,
            rate_limited=self.rate_limited,
            failed=len(self.failures),
            failures=tuple(self.failures),
            ambiguous=self.ambiguous,
        )


class Dispatcher:
    """Delivers the alerts outbox to Slack; one instance per process, called by the scheduler's jobs.

    `client` is a ready `slack_sdk.WebClient` (token, base URL and retry handlers are the composition
    root's choice); `sessions` commits each step in its own transaction; `clock` returns aware UTC
    datetimes (tests pass a controllable one). Backoff for transient failures is `backoff_base_s ×
    2^(attempt-1)`, capped at `backoff_max_s`. `stuck_after_s` is how long an alert must have been in
    `sending` before `reconcile_sending` touches it, so that it never races a live dispatcher that is
    posting right now; `history_margin_s` widens the history search for clock skew between us and Slack.
    `reconcile=False` never reads Slack back (an unknown outcome becomes `ambiguous`); `required_scopes`
    are the token scopes checked before the first claim (default: `notifier.scopes.dispatch_scopes` of
    `reconcile`, channel lookups by name included).
    """

    def __init__(
        self,
        client: WebClient,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = _utc_now,
        max_attempts: int = 6,
        backoff_base_s: float = 30.0,
        backoff_max_s: float = 3600.0,
        default_retry_after_s: float = 60.0,
        stuck_after_s: float = 120.0,
        history_margin_s: float = 600.0,
        history_max_pages: int = slackapi.MAX_PAGES,
        text_fallback_on_invalid_blocks: bool = True,
        reconcile: bool = True,
        required_scopes: Collection[str] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # slack_sdk's ConnectionErrorRetryHandler (on by default) re-sends a post whose connection reset
        # after sending, which duplicates the message; ambiguous failures are settled here instead.
        client.retry_handlers = [
            handler
            for handler in client.retry_handlers
            if not isinstance(handler, ConnectionErrorRetryHandler)
        ]
        self._client = client
        self._sessions = sessions
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._default_retry_after_s = default_retry_after_s
        self._stuck_after_s = stuck_after_s
        self._history_margin_s = history_margin_s
        self._history_max_pages = history_max_pages
        self._text_fallback = text_fallback_on_invalid_blocks
        self._reconcile = reconcile
        self._required_scopes = tuple(
            required_scopes
            if required_scopes is not None
            else slack_scopes.dispatch_scopes(reconcile=reconcile, channel_names=True)
        )
        self._scopes_verified = False
        # Channel name -> ID, learned from successful posts; reconciliation needs IDs for history.
        self._channel_ids: dict[str, str] = {}

    # -- the token's scopes ------------------------------------------------------------------------------

    @property
    def required_scopes(self) -> tuple[str, ...]:
        return self._required_scopes

    def check_scopes(self) -> slack_scopes.SlackIdentity:
        """Ask `auth.test` who the token is and which scopes it has; raises `MissingScopesError` when a
        required one is missing. Slack's own errors (`SlackApiError`, `OSError`) propagate."""
        identity = slack_scopes.identify(self._client)
        missing = slack_scopes.missing_scopes(self._required_scopes, identity.scopes)
        if missing:
            self._scopes_verified = False
            why = "to find an alert in Slack before sending it again" if self._reconcile else "to post"
            raise MissingScopesError(
                f"the Slack token lacks scope(s) {', '.join(missing)} needed {why}; not dispatching",
                missing=missing,
            )
        if identity.scopes is None:
            logger.warning("Slack did not list the token's scopes (no x-oauth-scopes header); not checked")
        self._scopes_verified = True
        return identity

    def _require_scopes(self) -> None:
        """Before the first claim or reconciliation: refuse (MissingScopesError) without the scopes."""
        if self._scopes_verified:
            return
        try:
            self.check_scopes()
        except (SlackApiError, OSError, http.client.HTTPException) as err:
            # Slack cannot say now: go on (posts report their own errors, a lookup that cannot read Slack
            # never re-sends) and ask again before the next batch.
            reason = slackapi.error_code(err) if isinstance(err, SlackApiError) else type(err).__name__
            logger.warning("cannot check the Slack token's scopes now (%s); will check again", reason)

    # -- delivery ----------------------------------------------------------------------------------------

    def dispatch_due(self, limit: int = 50) -> DispatchResult:
        """Claim up to `limit` due alerts, post them, and record each outcome; returns the counts.

        Raises `MissingScopesError`, claiming nothing, while the token lacks a required scope.
        """
        self._require_scopes()
        tally = _Tally()
        deferred: dict[str, datetime] = {}  # channel -> rate-limited until
        logged: set[tuple[str, str]] = set()
        while tally.claimed < limit:
            claimed = self._claim(limit - tally.claimed)
            tally.claimed += len(claimed)
            parents_sent = False
            for alert in claimed:
                until = deferred.get(alert.channel)
                outcome: _Outcome = _RateLimited(until) if until is not None else self._post(alert)
                if isinstance(outcome, _RateLimited):
                    deferred[alert.channel] = outcome.until
                self._record(alert, outcome, tally, logged)
                parents_sent |= isinstance(outcome, _Sent) and _opens_thread(alert)
            if not parents_sent:  # only a new parent makes more alerts claimable in this run
                break
        if tally.claimed:
            logger.info(
                "dispatched alerts: claimed=%d sent=%d retried=%d rate_limited=%d failed=%d",
                tally.claimed,
                tally.sent,
                tally.retried,
                tally.rate_limited,
                len(tally.failures),
            )
        return tally.result()

    def _claim(self, limit: int) -> list[_Outgoing]:
        """Transaction 1: lock due alerts and commit them as `sending` before anything is posted."""
        now = self._clock()
        with self._sessions.begin() as session:
            rows = outbox.claim_due(session, now=now, limit=limit)
            for row in rows:
                outbox.mark_sending(row, now=now)
            return [_snapshot(row) for row in rows]

    def _post(self, alert: _Outgoing) -> _Outcome:
        """One Slack call (post, reply or update); each failure becomes an outcome, never stops the batch."""
        try:
            return self._send(alert, blocks=alert.blocks or None)
        except SlackApiError as err:
            if slackapi.error_code(err) in slackapi.BLOCK_ERRORS and alert.blocks and self._text_fallback:
                reason = _reason(err)
                logger.warning(
                    "alert %d: Slack rejected its blocks (%s); sending plain text", alert.id, reason
                )
                try:
                    sent = self._send(alert, blocks=None)
                except SlackApiError as again:
                    return self._classify(again)
                except OSError as again:
                    return _Transient(f"connection error: {again}")
                return _Sent(sent.ts, sent.channel_id, note=f"sent as plain text: {reason}")
            return self._classify(err)
        except OSError as err:  # URLError, timeouts, refused or reset connections
            if _never_sent(err):
                return _Transient(f"connection error: {err}")
            return _Ambiguous(f"connection error after sending: {err}")
        except http.client.HTTPException as err:  # a reply cut off or malformed: the post may have landed
            return _Ambiguous(f"broken reply: {type(err).__name__}")
        except _NoParentError:
            return _Permanent("incident parent message has no Slack ts")
        except Exception as err:  # a bug or an unexpected SDK error: retry with backoff, but say so
            logger.exception("alert %d: unexpected error while posting", alert.id)
            return _Transient(f"unexpected error: {type(err).__name__}: {err}")

    def _send(self, alert: _Outgoing, *, blocks: list[dict[str, Any]] | None) -> _Sent:
        """One Slack call for the row's action: a new message, a thread reply, or a parent update."""
        if alert.action == AlertAction.UPDATE:
            if alert.parent_ts is None or alert.parent_channel_id is None:
                raise _NoParentError(alert.id)
            # No metadata: the parent keeps the dedup key of its own alert, which reconciliation reads.
            response = self._client.chat_update(
                channel=alert.parent_channel_id, ts=alert.parent_ts, text=alert.text, blocks=blocks or []
            )
            return _Sent(ts=str(response["ts"]), channel_id=str(response["channel"]))
        thread: dict[str, Any] = {}
        channel = alert.channel
        if alert.action == AlertAction.REPLY:
            if alert.parent_ts is None or alert.parent_channel_id is None:
                raise _NoParentError(alert.id)
            channel, thread = alert.parent_channel_id, {"thread_ts": alert.parent_ts}
        response = self._client.chat_postMessage(
            channel=channel,
            text=alert.text,
            blocks=blocks,
            **thread,
            metadata={
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"dedup_key": alert.dedup_key, "alert_id": alert.id},
            },
            # A customer's URL must not pull its own preview (images, titles) into our channel.
            unfurl_links=False,
            unfurl_media=False,
        )
        channel_id = str(response["channel"])
        self._channel_ids[alert.channel] = channel_id
        return _Sent(ts=str(response["ts"]), channel_id=channel_id)

    def _classify(self, err: SlackApiError) -> _Outcome:
        kind = slackapi.classify_error(err)
        status = int(err.response.status_code)
        error = slackapi.error_code(err)
        if kind is ErrorKind.RATE_LIMITED:
            delay = slackapi.retry_after_s(err.response.headers, default=self._default_retry_after_s)
            return _RateLimited(self._clock() + timedelta(seconds=delay))
        if kind is ErrorKind.TRANSIENT:
            return _Transient(f"HTTP {status}: {error}"[:_REASON_LIMIT] if status >= 500 else error)
        if kind is ErrorKind.UNREADABLE:  # a proxy's page or a cut-off reply: did Slack store it?
            return _Ambiguous(f"HTTP {status}: unreadable reply"[:_REASON_LIMIT])
        return _Permanent(_reason(err), needs_operator=kind is ErrorKind.SETUP)

    def _record(
        self, alert: _Outgoing, outcome: _Outcome, tally: _Tally, logged: set[tuple[str, str]]
    ) -> None:
        """Transaction 2 (per alert): store what happened to this one post."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(Alert, alert.id, with_for_update=True, populate_existing=True)
            if row is None:
                logger.warning("alert %d vanished while it was being sent", alert.id)
                return
            if isinstance(outcome, _Sent):
                # Recorded whatever the row says now: the message exists in Slack, so it is sent.
                outbox.mark_sent(row, ts=outcome.ts, channel_id=outcome.channel_id, now=now)
                row.last_error = outcome.note
                if _opens_thread(alert) and alert.incident_id is not None:
                    incident_rows.mark_parent_sent(
                        session, alert.incident_id, ts=outcome.ts, channel_id=outcome.channel_id
                    )
                tally.sent += 1
                return
            if row.status != AlertStatus.SENDING:
                logger.warning("alert %d changed to %s while being sent; leaving it", alert.id, row.status)
                return
            if isinstance(outcome, _RateLimited):
                outbox.mark_retry(row, error="ratelimited", next_attempt_at=outcome.until)
                row.attempts = max(row.attempts - 1, 0)  # Slack's limit, not this alert's failure
                tally.rate_limited += 1
                logger.info("alert %d rate limited; next attempt at %s", alert.id, outcome.until.isoformat())
            elif isinstance(outcome, _Ambiguous) and not self._reconcile:
                self._mark_ambiguous(session, row, f"{outcome.error}; reconciliation is off", now=now)
                tally.ambiguous += 1
            elif isinstance(outcome, _Ambiguous) and row.attempts < self._max_attempts:
                row.last_error = outcome.error  # still `sending`: reconcile_sending settles it
                tally.retried += 1
                logger.warning("alert %d: %s; will check Slack before any re-post", alert.id, outcome.error)
            elif isinstance(outcome, _Transient) and row.attempts < self._max_attempts:
                retry_at = now + self._backoff(row.attempts)
                outbox.mark_retry(row, error=outcome.error, next_attempt_at=retry_at)
                tally.retried += 1
                logger.warning(
                    "alert %d: %s (attempt %d of %d); retrying at %s",
                    alert.id,
                    outcome.error,
                    row.attempts,
                    self._max_attempts,
                    retry_at.isoformat(),
                )
            else:
                error = outcome.error
                if isinstance(outcome, _Transient | _Ambiguous):
                    error = f"{error} (gave up after {row.attempts} attempts)"
                outbox.mark_failed(row, error=error)
                tally.failures.append(
                    DeliveryFailure(
                        alert_id=alert.id,
                        channel=alert.channel,
                        error=error,
                        needs_operator=isinstance(outcome, _Permanent) and outcome.needs_operator,
                    )
                )
                key = (alert.channel, error.split(":", 1)[0])
                if key not in logged:  # one line per channel and error, not one per alert
                    logged.add(key)
                    logger.error("alert %d to %s failed permanently: %s", alert.id, alert.channel, error)

    def _backoff(self, attempts: int) -> timedelta:
        exponent = min(max(attempts - 1, 0), 30)  # keeps 2**n finite long before any cap matters
        return timedelta(seconds=min(self._backoff_base_s * 2**exponent, self._backoff_max_s))

    # -- crash recovery ----------------------------------------------------------------------------------

    def reconcile_sending(self) -> ReconcileResult:
        """Settle alerts left in `sending` by a crash: found in Slack → `sent`; not found → `pending`.

        Only alerts claimed more than `stuck_after_s` ago are looked at. Each channel's history is read
        once (with `include_all_metadata`), from the earliest claim minus `history_margin_s`, and matched
        on the `dedup_key` in the message metadata. A history that cannot be read, or reconciliation
        switched off, makes them `ambiguous` instead. Raises `MissingScopesError` like `dispatch_due`.
        """
        self._require_scopes()
        now = self._clock()
        with self._sessions.begin() as session:
            rows = outbox.list_stuck_sending(
                session, claimed_before=now - timedelta(seconds=self._stuck_after_s)
            )
            stuck = [_snapshot(row) for row in rows]
        confirmed = requeued = unresolved = ambiguous = 0
        groups: dict[tuple[str, str | None], list[_Outgoing]] = {}  # (channel, thread) -> alerts
        for alert in stuck:
            if alert.action == AlertAction.UPDATE:
                if self._settle(alert, None):  # chat.update is idempotent: just do it again
                    requeued += 1
                continue
            if not self._reconcile:
                reason = "interrupted while sending; reconciliation is off, so Slack was not asked"
                ambiguous += self._settle_ambiguous(alert, reason)
                continue
            thread = alert.parent_ts if alert.action == AlertAction.REPLY else None
            channel = alert.parent_channel_id or alert.channel if thread else alert.channel
            groups.setdefault((channel, thread), []).append(alert)
        for (channel, thread), alerts in groups.items():
            found = self._posted_in(channel, alerts) if thread is None else self._replied_in(channel, thread)
            for alert in alerts:
                if found is None:
                    unresolved += 1
                    continue
                if isinstance(found, _Unreadable):
                    ambiguous += self._settle_ambiguous(alert, found.reason)
                    continue
                posted = found.get(alert.dedup_key)
                if self._settle(alert, posted):
                    if posted is not None:
                        confirmed += 1
                    else:
                        requeued += 1
        if stuck:
            logger.info(
                "reconciled alerts left in sending: confirmed=%d requeued=%d unresolved=%d ambiguous=%d",
                confirmed,
                requeued,
                unresolved,
                ambiguous,
            )
        return ReconcileResult(
            confirmed=confirmed, requeued=requeued, unresolved=unresolved, ambiguous=ambiguous
        )

    def _posted_in(self, channel: str, alerts: list[_Outgoing]) -> dict[str, _Sent] | _Unreadable | None:
        """dedup_key -> posted message for our alerts in `channel`; None when Slack could not be asked now.

        A channel that does not exist returns an empty mapping: the alerts are re-sent, and the post itself
        then reports the problem. Any other permanent error (no scope to read it, not in the channel) is
        `_Unreadable`: not finding the message there proves nothing.
        """
        try:
            channel_id = self._resolve_channel_id(channel)
            if channel_id is None:
                logger.warning(
                    "channel %s not found in Slack; re-queueing its alerts left in sending", channel
                )
                return {}
            earliest = min((a.claimed_at for a in alerts if a.claimed_at is not None), default=None)
            oldest = None if earliest is None else earliest - timedelta(seconds=self._history_margin_s)
            history = slackapi.channel_history(
                self._client, channel_id, oldest=oldest, max_pages=self._history_max_pages
            )
            return _alerts_by_dedup_key(history, channel_id)
        except SlackApiError as err:
            if isinstance(self._classify(err), _Permanent):
                if slackapi.error_code(err) in _ABSENT_ERRORS:
                    logger.warning(
                        "channel %s not found in Slack; re-queueing its alerts left in sending", channel
                    )
                    return {}
                return self._unreadable(err, f"history of {channel}")
            logger.warning(
                "cannot read history of %s now (%s); will retry", channel, slackapi.error_code(err)
            )
            return None
        except OSError as err:
            logger.warning("cannot read history of %s now (%s); will retry", channel, err)
            return None

    def _replied_in(self, channel_id: str, thread_ts: str) -> dict[str, _Sent] | _Unreadable | None:
        """dedup_key -> reply for our alerts in one thread; None when Slack could not be asked now, and
        `_Unreadable` when it cannot be read at all (as `_posted_in`)."""
        try:
            replies = slackapi.thread_replies(
                self._client, channel_id, thread_ts, max_pages=self._history_max_pages
            )
            return _alerts_by_dedup_key(replies, channel_id)
        except SlackApiError as err:
            if isinstance(self._classify(err), _Permanent):
                if slackapi.error_code(err) in _ABSENT_ERRORS:
                    logger.warning("thread %s in %s not found in Slack", thread_ts, channel_id)
                    return {}
                return self._unreadable(err, f"thread {thread_ts} in {channel_id}")
            return None
        except OSError:
            return None

    def _unreadable(self, err: SlackApiError, what: str) -> _Unreadable:
        """A lookup Slack refuses for good: nothing may be concluded; a missing scope is checked again."""
        error = slackapi.error_code(err)
        data = err.response.data
        needed = data.get("needed") if isinstance(data, dict) else None
        if error == "missing_scope":
            self._scopes_verified = False  # the next batch asks auth.test again, and stops if still missing
        reason = f"cannot read the {what}: {error}" + (f" (needs {needed})" if needed else "")
        logger.error("%s; its alerts left in sending are not sent again", reason)
        return _Unreadable(reason[:_REASON_LIMIT])

    def _resolve_channel_id(self, channel: str) -> str | None:
        """conversations.history needs an ID; alerts may name their channel (`#cx-alerts`)."""
        if channel not in self._channel_ids:
            found = slackapi.resolve_channel_id(self._client, channel, max_pages=self._history_max_pages)
            if found is None:
                return None
            self._channel_ids[channel] = found
        return self._channel_ids[channel]

    def _settle(self, alert: _Outgoing, posted: _Sent | None) -> bool:
        """Record a reconciliation verdict, unless another process settled the alert meanwhile."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(Alert, alert.id, with_for_update=True, populate_existing=True)
            # Same claim as the one judged: with several dispatchers, another may have settled it and
            # claimed it afresh while this one read Slack; that new attempt is not ours to requeue.
            if row is None or row.status != AlertStatus.SENDING or row.claimed_at != alert.claimed_at:
                return False
            if posted is not None:
                outbox.mark_sent(row, ts=posted.ts, channel_id=posted.channel_id, now=now)
                if _opens_thread(alert) and alert.incident_id is not None:
                    incident_rows.mark_parent_sent(
                        session, alert.incident_id, ts=posted.ts, channel_id=posted.channel_id
                    )
                logger.info("alert %d was already in Slack (ts %s); marked sent", alert.id, posted.ts)
            elif alert.action == AlertAction.UPDATE and _newer_update_queued(session, row):
                # A later update of the incident (queued or sent) carries a newer state; sending this
                # one again could put its older state back over it.
                outbox.mark_sent(
                    row, ts=alert.parent_ts or "", channel_id=alert.parent_channel_id or "", now=now
                )
                row.last_error = "superseded by a newer update of the incident"
                logger.info("alert %d: a newer update of its incident supersedes it", alert.id)
            else:
                outbox.mark_retry(
                    row, error="not found in Slack after an interrupted send", next_attempt_at=now
                )
                logger.info("alert %d was not in Slack; queued to send again", alert.id)
            return True

    def _settle_ambiguous(self, alert: _Outgoing, reason: str) -> bool:
        """Mark an alert left in `sending` `ambiguous`, unless another process settled it meanwhile."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(Alert, alert.id, with_for_update=True, populate_existing=True)
            if row is None or row.status != AlertStatus.SENDING or row.claimed_at != alert.claimed_at:
                return False
            self._mark_ambiguous(session, row, reason, now=now)
            return True

    def _mark_ambiguous(self, session: Session, row: Alert, reason: str, *, now: datetime) -> None:
        """The alert may be in Slack or not: never send it again; a person looks (its mention's case)."""
        outbox.mark_ambiguous(row, error=reason[:_REASON_LIMIT])
        case_id = None
        if row.mention_id is not None:
            case_id = case_rows.flag_for_review(
                session,
                mention_id=row.mention_id,
                reason=ReviewReason.SLACK_UNKNOWN,
                note=(
                    f"vocwatch cannot tell whether its Slack message about this mention ({row.kind}, to "
                    f"{row.channel}) was posted: {reason}. It was not sent again, so it is in Slack once or "
                    f"not at all: check {row.channel} and post it by hand if it is missing."
                ),
                severity=Severity.WARNING,
                now=now,
            )
        logger.error(
            "alert %d (%s to %s) may or may not be in Slack (%s): marked ambiguous, not sent again; %s",
            row.id,
            row.kind,
            row.channel,
            reason,
            f"review case {case_id}" if case_id is not None else "check the channel",
        )


def _newer_update_queued(session: Session, row: Alert) -> bool:
    """Whether the incident of update `row` has a later update row (updates coalesce into the latest)."""
    later = select(Alert.id).where(
        Alert.incident_id == row.incident_id, Alert.action == AlertAction.UPDATE, Alert.id > row.id
    )
    return session.scalar(later.limit(1)) is not None


class _NoParentError(Exception):
    """A reply or update whose incident has no parent `ts` (claim_due should never hand one out)."""


def _opens_thread(alert: _Outgoing) -> bool:
    """A `post` that belongs to an incident is that incident's parent message."""
    return alert.action == AlertAction.POST and alert.incident_id is not None


def _snapshot(row: Alert) -> _Outgoing:
    action = AlertAction(row.action)
    incident = row.incident
    parent_ts = incident.slack_ts if incident is not None else None
    parent_channel_id = incident.slack_channel_id if incident is not None else None
    session = object_session(row)
    if row.kind == AlertKind.CASE_UPDATE and incident is None and row.mention_id is not None and session:
        # A case action on a standalone alert: a reply under the mention's own message (module docstring).
        thread = outbox.slack_thread_for_mention(session, row.mention_id)
        action = AlertAction.REPLY
        parent_ts = thread.ts if thread is not None else None
        parent_channel_id = thread.channel_id if thread is not None else None
    return _Outgoing(
        id=row.id,
        dedup_key=row.dedup_key,
        channel=row.channel,
        text=row.text,
        blocks=list(row.blocks or []),
        claimed_at=row.claimed_at,
        action=action,
        incident_id=row.incident_id,
        parent_ts=parent_ts,
        parent_channel_id=parent_channel_id,
    )


def _never_sent(err: OSError) -> bool:
    """True when the connection failed before the request left (refused, DNS): a plain retry is safe."""
    reason = getattr(err, "reason", err)  # urllib wraps socket errors in URLError(reason)
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _reason(err: SlackApiError) -> str:
    """Slack's error with its first detail, cut to what an outbox row and a log line should hold."""
    return slackapi.error_reason(err)[:_REASON_LIMIT]


def _alerts_by_dedup_key(messages: Iterable[Mapping[str, Any]], channel_id: str) -> dict[str, _Sent]:
    """Map each vocwatch alert's dedup key to its message, for messages of a history or a thread."""
    found: dict[str, _Sent] = {}
    for message in messages:
        payload = slackapi.metadata_payload(message, METADATA_EVENT_TYPE)
        key = payload.get("dedup_key") if payload is not None else None
        if key and str(key) not in found:
            found[str(key)] = _Sent(ts=str(message["ts"]), channel_id=channel_id)
    return found
