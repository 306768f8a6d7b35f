"""A private Redis for fault tests: this test alone kills and restarts it.

The Redis on 127.0.0.1:6379 is shared; a test that kills its Redis must own one. `private_redis()` runs
`redis-server` as a child process on a free loopback port, keeping nothing on disk (`--save ""`,
`--appendonly no`): like a cache server configured without persistence, a restart comes back EMPTY,
which is the case the crawl frontier must survive. `kill()` is SIGKILL (no goodbye to clients);
`start()` brings it back on the same port.

Without a `redis-server` binary the tests that need it are skipped with that reason, except under
CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import redis

from tests.support.service_postgres import free_port

__all__ = ["PrivateRedis", "private_redis"]


class PrivateRedis:
    """`url`, `kill()`, `start()`, `running()`; the server log is in `log`."""

    def __init__(self, binary: str, *, port: int, log: Path) -> None:
        self.binary = binary
        self.port = port
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout_s: float = 20) -> None:
        """Start (empty) and wait until it answers PING."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
            )
        deadline = time.monotonic() + timeout_s
        while not self.running():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not start: {self.log.read_text(errors='replace')[-500:]}"
                )
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, and everything it held is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=20)

    def running(self) -> bool:
        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the Redis fault tests must run)")
    pytest.skip(reason)


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """A started private Redis for the block (log in `directory`), killed at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("no redis-server binary to start a private Redis")
    server = PrivateRedis(binary, port=free_port(), log=directory / "redis.log")
    try:
        try:
            server.start()
        except (RuntimeError, OSError) as error:
            _unavailable(f"could not start a private Redis: {error}")
        yield server
    finally:
        server.kill()
