"""Writing the commented example config that `vocwatch init` gives a new operator."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["EXAMPLE_CONFIG", "write_example_config"]

EXAMPLE_CONFIG = resources.files("vocwatch") / "templates" / "vocwatch.example.toml"


def write_example_config(path: Path) -> None:
    """Write the example, readable by its owner only: it is where a Slack token may end up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
