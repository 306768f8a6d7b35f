"""The `vocwatch` command (Typer): `app` holds the commands, `main` is the console script.

`app.py` has one small function per command; `evaluate.py` and `review.py` compose what the `eval`
and review-UI commands need; `errors.py` turns any package's error into one line plus the fix. The
behaviour lives in `vocwatch.stages`, `vocwatch.daemon` and the packages.
"""

from vocwatch.cli.app import app, main

__all__ = ["app", "main"]
