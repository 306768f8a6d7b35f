"""How a mention's author is stored: as sent, as a keyed pseudonym, or not at all (`crawl.author_privacy`).

A pseudonym is `sha256:` + the first 16 hex digits of HMAC-SHA256(key, author). The key is a secret of the
installation, so the same author gets the same token on every run (a CX lead can still see that one
person posted ten times) while nobody holding a list of handles can recompute the tokens to reverse them.

Only the `author` field is changed: `raw` keeps what the source sent (its author fields included, in a
different place for each kind and format), so that parsing can be replayed; `raw` is not shown in Slack,
digests or the CLI, only to whoever can read the database.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

import attrs

__all__ = ["AuthorPolicy", "AuthorPrivacy"]


class AuthorPrivacy(StrEnum):
    KEEP = "keep"
    HASH = "hash"
    DROP = "drop"


@attrs.frozen(kw_only=True)
class AuthorPolicy:
    """What `crawlers.pipelines.to_new_mention` does with an author; `key` is required for HASH."""

    privacy: AuthorPrivacy = AuthorPrivacy.KEEP
    key: bytes | None = attrs.field(default=None, repr=False)  # never in a log line

    def __attrs_post_init__(self) -> None:
        if self.privacy is AuthorPrivacy.HASH and not self.key:
            raise ValueError("author privacy 'hash' needs a key (crawl.author_hash_key)")

    def apply(self, author: str | None) -> str | None:
        if author is None or self.privacy is AuthorPrivacy.KEEP:
            return author
        if self.privacy is AuthorPrivacy.DROP:
            return None
        assert self.key is not None
        digest = hmac.new(self.key, author.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"sha256:{digest[:16]}"
