"""Test-wide wiring: fixture modules, a clean environment, and the markers' skip rules.

Each package's fixtures live in `tests/support/<part>.py` so that one file owns one kind of real part
(database, local site, fake Slack, model) and the test modules only say what they exercise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.support.db",
    "tests.support.sites",
    "tests.support.fake_slack",
    "tests.support.models",
    "tests.support.browser",
    "tests.support.processes",
]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop `VOCWATCH_*` variables of the developer's shell from leaking into a test's settings."""
    for name in list(os.environ):
        if name.startswith("VOCWATCH_"):
            monkeypatch.delenv(name)
    yield
