"""The config file on disk: the commented example `vocwatch init` writes, and who else can read it.

`vocwatch.toml` is where a Slack token, source credentials or a database password end up. It is written
readable by its owner only; a file that holds secrets and that other users can read or change (copied
with a default umask, or checked out from a repository) is warned about each time settings are loaded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EXAMPLE_CONFIG", "exposed_secrets_warning", "secret_keys", "write_example_config"]

# Keys whose value is a secret wherever they appear, and URL keys that are secret when they carry a password.
_SECRET_NAMES = frozenset(
    {
        "token",
        "password",
        "secret",
        "secret_key",
        "session_secret",
        "api_key",
        "client_secret",
        "author_hash_key",
    }
)
_SECRET_TABLES = frozenset({"credentials"})  # every value inside is a secret
_URL_NAMES = frozenset({"database_url", "redis_url"})

EXAMPLE_CONFIG = resources.files("vocwatch") / "templates" / "vocwatch.example.toml"


def write_example_config(path: Path) -> None:
    """Write the example, readable by its owner only: it is where a Slack token may end up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def secret_keys(document: Mapping[str, Any]) -> list[str]:
    """Dotted paths of the non-empty secrets in a parsed config (`slack.token`, `sources.x.credentials`)."""
    return list(_secret_keys(document, ()))


def _secret_keys(table: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterator[str]:
    for key, value in table.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            if key in _SECRET_TABLES and value:
                yield ".".join(path)
            else:
                yield from _secret_keys(value, path)
        elif (key in _SECRET_NAMES and value) or (key in _URL_NAMES and _has_password(value)):
            yield ".".join(path)


def _has_password(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def exposed_secrets_warning(path: Path, document: Mapping[str, Any]) -> str | None:
    """A one-line warning when `path` holds secrets and users other than its owner may read or change it.

    POSIX permissions only (on other systems there is nothing to check this way). The warning names the
    secret keys, never their values.
    """
    if os.name != "posix":
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    keys = secret_keys(document)
    if not keys:
        return None
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return (
        f"{path} holds secrets ({shown}) and other users can access it (mode {mode:03o}): "
        f"run `chmod 600 {path}`"
    )
