"""`vocwatch` CLI subprocesses for tests that run it as an operator does (workers, daemons, commands).

- `Process(config, "worker", "analyze", log=...)`  `python -m vocwatch --config CONFIG ...` with its output
  in a file, one torch thread, and no `VOCWATCH_*` variables from the test's environment.
- `processes`  a list a test appends its Process objects to; each still running is killed at teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["Process", "processes"]


class Process:
    """One `python -m vocwatch ...` subprocess with its output in a file."""

    def __init__(self, config: Path, *args: str, log: Path) -> None:
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOCWATCH_")}
        # One torch thread per worker process, as docs/scaling.md advises: workers side by side with a
        # thread per core each oversubscribe the cores (docs/benchmarks.md: x0.67 against x1.57).
        env["OMP_NUM_THREADS"] = "1"
        self._output = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vocwatch", "--config", str(config), *args],
            stdout=self._output,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout_s: float) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self._output.flush()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def close(self) -> None:
        """Kill it if it still runs, and close its log."""
        self.kill()
        self._output.close()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.close()
