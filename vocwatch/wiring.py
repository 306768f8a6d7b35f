"""The composition root: the one place that turns Settings into engines, clients and models.

Everything below this module gets objects and plain values, never Settings, so each package can be
tested and reused on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import sentiment
import storage
from notifier.dispatcher import Dispatcher
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings
from vocwatch.slackcheck import dispatch_scopes
from vocwatch.topics import taxonomy

__all__ = ["App", "build_app", "make_slack_client"]


def make_slack_client(token: str, base_url: str) -> WebClient:
    """A WebClient that retries 5xx and one 429 before the outbox takes over.

    A rate limit still there after one retry is left to the dispatcher, which reschedules the alert
    (next_attempt_at) instead of sleeping the daemon. Connection errors are NOT retried here: a reset
    after the request left may mean Slack stored the message, and a blind re-post would duplicate it;
    the dispatcher checks the channel first (notifier.dispatcher, "ambiguous" failures).
    """
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class App:
    """The wired application: a database, and the model and Slack client built only when first needed."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    slack_base_url: str | None = field(default=None)
    """Overrides `slack.base_url` (the demo points it at its local fake Slack server)."""

    @cached_property
    def analyzer(self) -> sentiment.Analyzer:
        """The model is loaded lazily: `vocwatch crawl` or `serve` never pay for it."""
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # the CLI shows progress
        model_dir = self.settings.model.dir or sentiment.prepare_default_model(self.settings.models_dir)
        if not model_dir.is_dir():
            raise VocwatchError(
                f"model.dir {model_dir} is not a directory",
                fix="point model.dir at a transformers model directory, or leave it empty for the default",
            )
        model = self.settings.model
        return sentiment.load_analyzer(
            model_dir,
            heads_dir=model.heads_dir,
            batch_size=model.batch_size,
            taxonomy=taxonomy(self.settings),
            classifier=model.classifier,
            backend=model.backend,
        )

    @cached_property
    def slack(self) -> WebClient:
        token = self.settings.slack.token
        if token is None:
            raise VocwatchError("slack.token is not set", fix="set VOCWATCH_SLACK__TOKEN or [slack] token")
        return make_slack_client(
            token.get_secret_value(), self.slack_base_url or self.settings.slack.base_url
        )

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Reconciles after a crash unless `slack.reconcile = false`; refuses to dispatch without the
        scopes this config needs (`vocwatch.slackcheck.dispatch_scopes`)."""
        return Dispatcher(
            self.slack,
            self.sessions,
            reconcile=self.settings.slack.reconcile,
            required_scopes=dispatch_scopes(self.settings),
        )


def build_app(settings: Settings, *, slack_base_url: str | None = None) -> App:
    """Open the database (creating the SQLite data dir if needed); nothing heavy is loaded yet."""
    engine = storage.make_engine(settings.effective_database_url)
    return App(
        settings=settings,
        engine=engine,
        sessions=storage.make_session_factory(engine),
        slack_base_url=slack_base_url,
    )
