"""docker-compose.yml and the Dockerfile, checked without Docker: the compose file parses, its services
depend on services that exist, every `vocwatch` command it runs is a real CLI command with real options,
and every VOCWATCH_* variable it sets names a real setting."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import BaseModel

from vocwatch.cli import app
from vocwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
VOCWATCH_CALL = re.compile(r"vocwatch((?:\s+[-\w]+)+)")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _vocwatch_calls(service: dict[str, Any]) -> list[list[str]]:
    """The argument lists of the `vocwatch` invocations a service runs (entrypoint + command)."""
    entrypoint = service.get("entrypoint")
    if entrypoint is None:  # the image's ENTRYPOINT ["vocwatch"]
        return [list(service.get("command", ["--help"]))]
    if entrypoint[:2] == ["sh", "-c"]:
        return [shlex.split(match) for match in VOCWATCH_CALL.findall(entrypoint[2])]
    assert entrypoint[0] == "vocwatch", entrypoint
    return [entrypoint[1:] + list(service.get("command", []))]


def _resolve(args: list[str]) -> tuple[Any, list[str]]:
    """Walk the Typer command tree along `args`; returns the command and its remaining options.

    (Groups are recognised by their `commands`: Typer may carry its own copy of click's classes.)
    """
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        found = command.commands.get(rest[0])
        assert found is not None, f"`vocwatch {' '.join(args)}`: no command {rest[0]!r}"
        command, rest = found, rest[1:]
    return command, rest


def _setting_exists(variable: str) -> bool:
    """VOCWATCH_SECTION__FIELD (env_nested_delimiter "__") names a field of Settings."""
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("VOCWATCH_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if depth < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_compose_file_has_the_scale_out_services_and_their_dependencies_exist() -> None:
    compose = _compose()
    services: dict[str, Any] = compose["services"]
    assert {"postgres", "redis", "migrate", "scheduler", "crawler", "analyzer", "dispatcher", "web"} <= set(
        services
    )
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    for volume in ("pgdata", "models"):
        assert volume in compose["volumes"]


@pytest.mark.parametrize("service", ["migrate", "scheduler", "crawler", "analyzer", "dispatcher", "web"])
def test_every_vocwatch_command_in_the_compose_file_is_a_real_command(service: str) -> None:
    calls = _vocwatch_calls(_compose()["services"][service])
    assert calls, service
    for args in calls:
        command, options = _resolve(args)
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for option in (o for o in options if o.startswith("-")):
            assert option in known, f"`vocwatch {' '.join(args)}`: unknown option {option}"


def test_every_vocwatch_variable_in_the_compose_file_is_a_setting() -> None:
    services = _compose()["services"]
    variables = {key for service in services.values() for key in service.get("environment", {})}
    vocwatch_vars = {v for v in variables if v.startswith("VOCWATCH_") and v != "VOCWATCH_CONFIG"}
    assert "VOCWATCH_DATABASE_URL" in vocwatch_vars and "VOCWATCH_CRAWL__REDIS_URL" in vocwatch_vars
    unknown = sorted(v for v in vocwatch_vars if not _setting_exists(v))
    assert not unknown


def test_dockerfile_installs_the_scale_out_extras_and_runs_vocwatch() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "torch==2.13.0" in dockerfile.split("pip install '.[")[0]  # the CPU wheel before the package
    assert "'.[postgres,redis]'" in dockerfile
    assert 'ENTRYPOINT ["vocwatch"]' in dockerfile
    for copied in re.findall(r"^COPY (\S+) \S+$", dockerfile, flags=re.MULTILINE):
        assert (ROOT / copied).exists(), copied
