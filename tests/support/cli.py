"""`vocwatch(...)`: one `python -m vocwatch ...` command run to its end, as an operator runs it.

For daemons and workers that a test starts, watches and kills, use `tests.support.processes.Process`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["vocwatch"]


def vocwatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `cwd` with the test's environment plus `env`; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "vocwatch", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
