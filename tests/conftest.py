"""Test-wide wiring: fixture modules, a clean environment, and the markers.

Each kind of real part (database, local site, fake Slack, model, browser, processes) has its fixtures in
`tests/support/<part>.py`, and every helper shared by more than one test module lives in `tests/support/`
too: test modules import from `tests.support` only, never from one another or from a conftest.py.

Markers are mostly not written by hand: `pytest_collection_modifyitems` below derives them from where a
test lives and from the fixtures it uses, so a new test file gets them without anyone remembering.

    directory          tests/integration -> integration;  tests/integration/sentiment -> slow;
                       tests/e2e -> integration, e2e, slow;  tests/reliability -> integration, slow
    fixture used       default_model_dir -> model;  browser (page, browser_context) -> browser;
                       postgres_admin_url (every database on the shared server) -> postgres;
                       a database, local site, fake Slack or `processes` -> integration;
                       `processes` (several `vocwatch` processes side by side) -> slow

The `db_url` / `db_engine` fixtures' `postgresql` parameter carries `postgres` itself (tests/support/db.py).
Written by hand, next to the test, stay only the marks no rule can see: `slow` on the fuzzers, the
property tests, the daemon and kill-loop tests elsewhere, and `postgres` on a test that starts its own
server; `timing` on the few tests that assert wall-clock bounds. `slow` means: seconds per test, or
several processes; everything else runs in well under one.

`make fast` deselects slow, model, browser and postgres (about a minute and a half on 2 cores). `make test`
runs everything: all but `timing` on pytest-xdist workers, a test module per worker at a time (`--dist
loadfile`: module-scoped fixtures such as a browser or a fuzzing run are made once), modules with slow
tests first; then the `timing` tests, beside nothing but each other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# An xdist worker shares the cores with the others: torch (and every `vocwatch` subprocess, which inherits
# this) runs one thread, as `tests.support.processes` does for workers. With a thread per core in each of
# several processes, OpenMP's spinning threads burned ~40% more CPU for the same tests. Set here, before
# tests.support.models imports torch; a single-process run keeps torch's default.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

pytest_plugins = [
    "tests.support.db",
    "tests.support.sites",
    "tests.support.fake_slack",
    "tests.support.models",
    "tests.support.browser",
    "tests.support.processes",
]

TESTS_DIR = Path(__file__).resolve().parent

# Keyed by a directory under tests/; a test gets the marks of every key its path starts with.
DIRECTORY_MARKS: dict[str, tuple[str, ...]] = {
    "integration": ("integration",),
    "integration/sentiment": ("slow",),  # real encoders: training, fine-tuning, MiniLM, `vocwatch eval`
    "e2e": ("integration", "e2e", "slow"),  # `vocwatch` subprocesses, each paying for its imports
    "reliability": ("integration", "slow"),  # faults, kill loops, load
}

FIXTURE_MARKS: dict[str, tuple[str, ...]] = {
    "default_model_dir": ("model",),
    "browser": ("browser", "integration"),
    "postgres_admin_url": ("postgres", "integration"),
    "sqlite_template": ("integration",),
    "db_backend": ("integration",),
    "local_site": ("integration",),
    "plain_site": ("integration",),
    "fake_slack": ("integration",),
    "processes": ("integration", "slow"),
}


def marks_for(path: Path, fixturenames: list[str]) -> set[str]:
    """The markers a test at `path` using `fixturenames` (the whole closure) gets from the rules above."""
    names: set[str] = set()
    resolved = path.resolve()
    parts = resolved.relative_to(TESTS_DIR).parts if resolved.is_relative_to(TESTS_DIR) else ()
    for depth in range(1, len(parts)):
        names.update(DIRECTORY_MARKS.get("/".join(parts[:depth]), ()))
    for fixture in fixturenames:
        names.update(FIXTURE_MARKS.get(fixture, ()))
    return names


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(marks_for(item.path, list(getattr(item, "fixturenames", ()))) - present):
            item.add_marker(name)
    if "PYTEST_XDIST_WORKER" in os.environ:
        # Longest first: modules holding slow tests go out to the workers before the quick ones, so that
        # no worker begins a minutes-long module while the others run out of work. (Every worker sorts
        # alike; a module's tests stay together and in order.)
        slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: item.path not in slow_modules)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop `VOCWATCH_*` variables of the developer's shell from leaking into a test's settings."""
    for name in list(os.environ):
        if name.startswith("VOCWATCH_"):
            monkeypatch.delenv(name)
    yield
