"""A private PostgreSQL server for fault tests: this test alone starts, restarts and stops it.

The server on 127.0.0.1:5432 is shared by the whole suite (and by people); a test that restarts a
server must own it. `private_postgres()` runs `initdb` into a fresh temporary directory, starts the
server with `pg_ctl` on a free loopback port with trust authentication, and removes everything when the
block ends. PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` user
(`runuser -u postgres --`), which owns the directory.

When no server binaries are installed (`initdb`, `pg_ctl`: Debian's /usr/lib/postgresql/<v>/bin, or on
PATH; TEST_POSTGRES_BINDIR overrides), the tests that need it are skipped with that reason, except under
CI=true, where they fail: CI must not pass by skipping the restart test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

import storage

__all__ = ["PrivatePostgres", "find_postgres_bindir", "free_port", "private_postgres"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def find_postgres_bindir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`, newest Debian version first; None if there is none."""
    override = os.environ.get("TEST_POSTGRES_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


class PrivatePostgres:
    """One throwaway cluster: `admin_url`, `create_database()`, and `stop()` / `start()` / `restart()`."""

    def __init__(self, bindir: Path, base: Path, *, port: int, run_as: str | None) -> None:
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.log = base / "server.log"
        self.port = port
        self._run_as = run_as

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, timeout_s: float = 60) -> None:
        command = [str(self.bindir / program), *args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        if completed.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({completed.returncode}): "
                f"{completed.stderr.strip() or completed.stdout.strip()}"
            )

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, *, mode: str = "fast") -> None:
        """`fast` ends every session (clients see "terminating connection due to administrator command"),
        then shuts down cleanly; `immediate` is a crash (recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, *, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "restart")

    def running(self) -> bool:
        try:
            with psycopg.connect(self._conninfo("postgres"), connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, *, migrate: bool = True) -> str:
        """A new database on this server (migrated to head by Alembic unless told not to); its URL."""
        name = f"vw_fault_{secrets.token_hex(4)}"
        with psycopg.connect(self._conninfo("postgres"), autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = self.url(name)
        if migrate:
            engine = storage.make_engine(url)
            try:
                storage.upgrade(engine)
            finally:
                engine.dispose()
        return url

    def _conninfo(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL restart test must run)")
    pytest.skip(reason)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster for the block; skips (fails under CI=true) when one cannot be made."""
    bindir = find_postgres_bindir()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries (initdb, pg_ctl) to start a private cluster")
    run_as: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root without a `postgres` user to run a private PostgreSQL as")
        run_as = "postgres"
    base = Path(tempfile.mkdtemp(prefix="vw_fault_"))
    if run_as is not None:
        shutil.chown(base, user=run_as)
    server = PrivatePostgres(bindir, base, port=free_port(), run_as=run_as)
    try:
        try:
            server.init()
            server.start()
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
            _unavailable(f"could not start a private PostgreSQL from {bindir}: {error}")
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):  # removed below either way
                server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
