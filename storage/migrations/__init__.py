"""Alembic migration environment and scripts, shipped with the package (see storage.migrate)."""
