"""Errors raised by the sentiment package.

    SentimentError              base: catch this at the composition root and print one line plus the fix
    ├── ModelNotFoundError      a model or heads directory is missing or incomplete
    ├── ModelFormatError        a file exists but is not what we can read (bad container, head, shapes)
    └── TrainSplitError         a train split a trained baseline cannot be fitted on honestly

Invalid arguments (a wrong shape, an empty batch) stay `ValueError`/`TypeError`: they are bugs in the
caller, not something an operator can fix. The package cannot import `vocwatch` (it stands alone), so the
CLI writes the fix it shows for each of these (`vocwatch.cli.errors`).
"""

from __future__ import annotations


class SentimentError(Exception):
    """Base class for every error the sentiment package raises on purpose."""


class ModelNotFoundError(SentimentError):
    """A model directory, tokenizer or head file is missing."""


class ModelFormatError(SentimentError):
    """A model or head file exists but its content is not what this version can read."""


class TrainSplitError(SentimentError):
    """A train split a baseline cannot be fitted on honestly (too few rows of a class to cross-validate)."""
