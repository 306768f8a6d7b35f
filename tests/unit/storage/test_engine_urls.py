"""URL handling of make_engine; creating a PostgreSQL engine does not connect."""

from __future__ import annotations

import storage


def test_bare_postgresql_url_gets_psycopg3() -> None:
    engine = storage.make_engine("postgresql://postgres@127.0.0.1:5432/vocwatch")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_in_memory_sqlite_needs_no_directory() -> None:
    engine = storage.make_engine("sqlite://")
    engine.dispose()
