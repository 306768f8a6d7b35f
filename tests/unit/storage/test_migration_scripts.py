"""The shipped migration scripts, read as files: one linear history with date-prefixed names."""

from __future__ import annotations

import re

from alembic.script import ScriptDirectory

from storage.migrate import MIGRATIONS_DIR, alembic_config, head_revision


def test_history_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    assert head_revision() == scripts.get_current_head()
    assert all(len(script.nextrev) <= 1 for script in scripts.walk_revisions())


def test_script_names_start_with_their_date() -> None:
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py") if p.name != "__init__.py")
    assert names
    for name in names:
        assert re.fullmatch(r"\d{8}_\d{4}_[0-9a-f]{12}_[a-z0-9_]+\.py", name), name


def test_scripts_import_nothing_from_vocwatch() -> None:
    """A script must keep working after the models change, so it only uses sqlalchemy and alembic."""
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        imports = re.findall(r"^(?:from|import) (\S+)", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        assert {name.split(".")[0] for name in imports} <= {
            "__future__",
            "collections",
            "sqlalchemy",
            "alembic",
        }
