"""One error story: every error a package raises on purpose is under its package's base error, lives in
its errors module, and reaches the operator as one line plus the fix (DESIGN.md: "Errors are one clear
line plus the fix (no traceback) unless --debug")."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.exc import OperationalError

import crawlers.errors
import notifier.errors
import sentiment.errors
import storage.errors
import vocwatch.errors
from vocwatch.cli.errors import PACKAGE_ERRORS, report

ROOT = Path(__file__).resolve().parents[3]
# The module, not the Typer `app` that `vocwatch.cli` exports under the same name.
cli = importlib.import_module("vocwatch.cli.app")
ERRORS_MODULES: dict[type[Exception], ModuleType] = {
    crawlers.errors.CrawlError: crawlers.errors,
    notifier.errors.NotifierError: notifier.errors,
    sentiment.errors.SentimentError: sentiment.errors,
    storage.errors.StorageError: storage.errors,
    vocwatch.errors.VocwatchError: vocwatch.errors,
}
# How the web UI answers a request (a redirect, a 403 page): exceptions for control flow, never shown to
# an operator, so they stand outside the error story (vocwatch.errors says so).
WEB_ANSWERS = {"LoginRequired", "Forbidden", "CsrfError"}
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _walk(base: type[Exception]) -> Iterator[type[Exception]]:
    yield base
    for sub in base.__subclasses__():
        yield from _walk(sub)


ALL_ERRORS = [error_class for base in PACKAGE_ERRORS for error_class in _walk(base)]


def test_the_cli_knows_one_base_per_package_and_each_has_an_errors_module() -> None:
    assert set(PACKAGE_ERRORS) == set(ERRORS_MODULES)
    for base, module in ERRORS_MODULES.items():
        defined = [
            value
            for _, value in inspect.getmembers(module, inspect.isclass)
            if value.__module__ == module.__name__ and issubclass(value, BaseException)
        ]
        assert base in defined
        for error_class in defined:
            assert issubclass(error_class, base), f"{error_class.__name__} is not under {base.__name__}"
            # The tree drawn in the module docstring names every class (and vocwatch.errors maps them all).
            assert error_class.__name__ in (module.__doc__ or ""), error_class.__name__
            assert error_class.__name__ in (vocwatch.errors.__doc__ or ""), error_class.__name__


@pytest.mark.parametrize("error_class", ALL_ERRORS, ids=lambda error_class: error_class.__name__)
def test_every_error_lives_in_its_packages_errors_module(error_class: type[Exception]) -> None:
    base = next(base for base in PACKAGE_ERRORS if issubclass(error_class, base))
    assert error_class.__module__ == ERRORS_MODULES[base].__name__


def test_no_public_error_class_outside_the_errors_modules() -> None:
    """Read from the source, so that a new error class is caught even where no test imports its module."""
    error_names = {error_class.__name__ for error_class in ALL_ERRORS}
    strays = []
    for package in ("crawlers", "notifier", "sentiment", "storage", "vocwatch"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "errors.py" and path.parent.name == package:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                    continue
                if node.name in WEB_ANSWERS:
                    continue
                bases = {base.id if isinstance(base, ast.Name) else ast.unparse(base) for base in node.bases}
                if bases & (error_names | BUILTIN_EXCEPTIONS):
                    strays.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert strays == [], "define errors in the package's errors.py, under its base error"


def _run_main(error: Exception, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """`main()` with a command that raises `error`: the console script's real error path, in process."""

    def fail() -> None:
        raise error

    monkeypatch.setattr(cli, "app", fail)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize("error_class", ALL_ERRORS, ids=lambda error_class: error_class.__name__)
def test_the_cli_prints_each_error_as_one_line_and_a_fix(
    error_class: type[Exception], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two lines and a "[bracket]" in the message: printed on one line, as text, not as Rich markup.
    error = error_class("source [sources.shop] failed\n  at page 2")
    lines = _run_main(error, monkeypatch, capsys).splitlines()
    fix = report(error).fix
    assert lines == ["error: source [sources.shop] failed at page 2", f"fix: {fix}"]
    assert fix.strip()


def test_a_vocwatch_error_brings_its_own_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = vocwatch.errors.VocwatchError("no sources configured", fix="add a [sources.NAME] table")
    assert _run_main(error, monkeypatch, capsys).splitlines() == [
        "error: no sources configured",
        "fix: add a [sources.NAME] table",
    ]


def test_a_locked_database_is_one_line_and_a_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    error_line, fix_line = _run_main(error, monkeypatch, capsys).splitlines()
    assert error_line == "error: database unavailable: OperationalError: database is locked"
    assert fix_line.startswith("fix: another process holds the SQLite write lock")


def test_debug_keeps_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise storage.errors.MigrationError("broken foreign keys")

    monkeypatch.setattr(cli, "app", fail)
    monkeypatch.setattr(cli._state, "debug", True)
    with pytest.raises(storage.errors.MigrationError):
        cli.main()


def test_a_bug_is_not_dressed_up_as_an_operator_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise ValueError("an argument out of range")

    monkeypatch.setattr(cli, "app", fail)
    with pytest.raises(ValueError, match="out of range"):
        cli.main()
