"""Scale-out fixtures: a real Redis (helpers: `tests.support.scaleout`, processes: `tests.support.processes`).

- `redis_url`  Redis at 127.0.0.1:6379 (TEST_REDIS_URL overrides); skipped with the reason when it is
               unreachable, except under CI=true, where the test fails (like PostgreSQL in tests/support/db).
"""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        reason = f"Redis unreachable at {url}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the scale-out tests must run)")
        pytest.skip(reason)
    return url
