"""Errors raised by the sentiment package.

    SentimentError              base: catch this at the composition root and print one line plus the fix
    ├── ModelNotFoundError      a model or heads directory is missing or incomplete
    └── ModelFormatError        a file exists but is not what we can read (bad container, head, shapes)

The package cannot import `vocwatch` (it stands alone), so the CLI maps these onto its own error type.
"""

from __future__ import annotations


class SentimentError(Exception):
    """Base class for every error the sentiment package raises on purpose."""


class ModelNotFoundError(SentimentError):
    """A model directory, tokenizer or head file is missing."""


class ModelFormatError(SentimentError):
    """A model or head file exists but its content is not what this version can read."""
