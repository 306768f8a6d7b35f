"""The long variants' switch: `VOCWATCH_LONG_TESTS=1 pytest tests/reliability` runs them at full size.

Default (CI) sizes keep tests/reliability + tests/security under 90 s on a 2-core machine; the long
sizes are the issue's (50 SIGKILLs per process, 100,000 mentions; `VOCWATCH_LOAD_MENTIONS` lowers the
latter on a small machine) and are run once for docs/reliability.md. The variables are read at import,
before the suite-wide `clean_environ` fixture hides every `VOCWATCH_*` variable from the tests.
"""

from __future__ import annotations

import os

import pytest

LONG = os.environ.get("VOCWATCH_LONG_TESTS") == "1"
# The load test's size in long runs (the 100,000 by default); a smaller machine may lower it.
LONG_LOAD_MENTIONS = int(os.environ.get("VOCWATCH_LOAD_MENTIONS", "100000"))


@pytest.fixture
def long_run() -> bool:
    """True when the long variants were asked for."""
    return LONG


@pytest.fixture
def load_mentions() -> int:
    """Mentions the load test pushes through the pipeline: 400 by default, the long size on request."""
    return LONG_LOAD_MENTIONS if LONG else 400
