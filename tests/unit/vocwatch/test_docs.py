"""The operator's documentation, checked against the code it describes.

A command, setting or source param added without documenting it fails here, so README.md and the
commented config that `vocwatch init` writes cannot drift from the CLI, `Settings` and the source kinds.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from crawlers.registry import SOURCE_KINDS
from vocwatch.cli import app
from vocwatch.config_file import write_example_config
from vocwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Tables of named entries ([sources.NAME], [topics.NAME], [touchpoints.NAME]) are documented by their
# fields, checked below, not by every possible name.
NAMED_TABLES = {"sources", "topics", "touchpoints"}
COMPUTED_DEFAULTS = {"data_dir"}  # the platform's user data dir


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Every leaf command of the Typer app as "vocwatch a b"."""
    children = getattr(command, "commands", None)
    if not children:
        yield " ".join(("vocwatch", *prefix))
        return
    for name, child in children.items():
        yield from _command_paths(child, (*prefix, name))


@pytest.mark.parametrize("path", sorted(_command_paths(typer.main.get_command(app))))
def test_every_cli_command_is_in_the_readme(path: str) -> None:
    assert re.search(rf"(?<![\w-]){re.escape(path)}\b", README), f"README.md does not show `{path}`"


def _example_config(tmp_path: Path) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The config `vocwatch init` writes: its live values, and every `key = value` line per table,
    commented out or not (a commented line documents a key whose default is empty or computed)."""
    path = tmp_path / "vocwatch.toml"
    write_example_config(path)
    text = path.read_text(encoding="utf-8")
    shown: dict[str, dict[str, str]] = {"": {}}
    table = ""
    for line in text.splitlines():
        bare = line.lstrip("# ").rstrip()
        header = re.fullmatch(r"\[\[?([\w.]+)\]\]?", bare)
        if header:
            table = header.group(1)
            shown.setdefault(table, {})
            if bare.startswith("[["):  # an array of tables documents the list-valued key itself
                parent, _, key = table.rpartition(".")
                shown.setdefault(parent, {}).setdefault(key, "[]")
            continue
        assignment = re.match(r"(\w+)\s*=\s*(.+)", bare)
        if assignment:
            shown.setdefault(table, {}).setdefault(assignment.group(1), assignment.group(2))
    return tomllib.loads(text), shown


def _leaf_settings() -> Iterator[tuple[str, str, Any]]:
    """(table, key, default) for every setting outside the named tables; "" is the top level."""
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if name in NAMED_TABLES:
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for key, sub in annotation.model_fields.items():
                yield name, key, sub.default
        else:
            yield "", name, field.default


def _as_toml(value: Any) -> Any:
    """A default as the TOML file would spell it."""
    if isinstance(value, Path):
        return str(value)
    return value


def test_every_setting_is_in_the_example_config_with_its_default(tmp_path: Path) -> None:
    """A live `key = value` line must show the default; a commented one is an example for a key whose
    default is "not set" (or computed per machine, like data_dir)."""
    live, shown = _example_config(tmp_path)
    missing, wrong = [], []
    for table, key, default in _leaf_settings():
        name = f"{table}.{key}".lstrip(".")
        values = live.get(table, {}) if table else live
        if key in values:
            if values[key] != _as_toml(default):
                wrong.append(f"{name} = {values[key]!r}, but the default is {default!r}")
        elif key not in shown.get(table, {}):
            missing.append(name)
        elif not (_not_set(default) or name in COMPUTED_DEFAULTS):
            wrong.append(f"{name} is only shown commented out, but its default is {default!r}")
    assert not missing, f"settings missing from vocwatch/templates/vocwatch.example.toml: {missing}"
    assert not wrong, f"the example config misstates defaults: {wrong}"


def _not_set(default: Any) -> bool:
    return default is None or default is PydanticUndefined or default in ([], (), {}, "")


@pytest.mark.parametrize("table", ["topics", "touchpoints"])
def test_every_key_of_a_named_table_is_in_the_example_config(tmp_path: Path, table: str) -> None:
    _, shown = _example_config(tmp_path)
    keys = {key for name, values in shown.items() if name.startswith(f"{table}.") for key in values}
    for key in _entry_model(table).model_fields:
        assert key in keys, f"no [{table}.NAME] example in the config shows `{key}`"


def _entry_model(table: str) -> type[BaseModel]:
    """The model of one entry of a named table (`dict[str, TopicSettings]` -> TopicSettings)."""
    entry = Settings.model_fields[table].annotation.__args__[1]  # type: ignore[union-attr]
    assert isinstance(entry, type) and issubclass(entry, BaseModel)
    return entry


def test_every_source_table_key_is_in_the_readme() -> None:
    sources_section = README.split("## Sources", 1)[1].split("\n## ", 1)[0]
    for key in _entry_model("sources").model_fields:
        assert f"`{key}`" in sources_section, f"README's Sources section does not name `{key}`"


def _readme_kind_rows() -> dict[str, str]:
    rows = re.findall(r"(?m)^\| `(\w+)` \|(.*)$", README)
    return {kind: rest for kind, rest in rows}


@pytest.mark.parametrize("kind", sorted(SOURCE_KINDS))
def test_every_source_kind_and_param_is_in_the_readme_table(kind: str) -> None:
    row = _readme_kind_rows().get(kind)
    assert row is not None, f"README's source table has no row for `{kind}`"
    params_column = row.split("|")[2]
    for name, field in SOURCE_KINDS[kind].params_model.model_fields.items():
        assert f"`{name}`" in params_column, f"README's `{kind}` row does not name its param `{name}`"
        shown = _readme_default(field.default)
        if shown is not None:
            assert f"`{name}` ({shown})" in params_column, (
                f"README's `{kind}` row does not give `{name}`'s default as `{name}` ({shown})"
            )


def _readme_default(default: Any) -> str | None:
    """How the README's table writes a default: (true), (100), (us), (story, comment); None: no default."""
    if _not_set(default):
        return None
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, list | tuple):
        return ", ".join(str(item) for item in default)
    return str(default)
