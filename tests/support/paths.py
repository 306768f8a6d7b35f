"""Where things are: the repository root (cwd of subprocesses), `tests/data`, and the shared fixtures."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "REPO_ROOT", "SHARED_FIXTURES"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "tests" / "data"
# Recorded API responses shared with the other projects of the workspace (../shared/fixtures).
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
