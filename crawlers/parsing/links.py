"""Links found in a page or feed, resolved against it (pure).

A page's links are its author's text: `http://[::1`, or a host that NFKC-normalises into `/` or `@`,
makes urllib raise ValueError, and one such link must not lose every other item on the page.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import Response

__all__ = ["join_url"]


def join_url(base: Response | str, link: str) -> str | None:
    """`link` resolved against the response (its `<base href>` included) or a URL; None when it is not
    a URL at all."""
    try:
        return base.urljoin(link) if isinstance(base, Response) else urljoin(base, link)
    except ValueError:
        return None
