"""Links found in a page or feed, resolved against it (pure).

A page's links are its author's text: `http://[::1`, or a host that NFKC-normalises into `/` or `@`,
makes urllib raise ValueError, and one such link must not lose every other item on the page.
"""

from __future__ import annotations

from urllib.parse import urljoin

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints
from parsel import Selector
from scrapy.http import Response

__all__ = ["join_url", "link_of"]


def join_url(base: Response | str, link: str) -> str | None:
    """`link` resolved against the response (its `<base href>` included) or a URL; None when it is not
    a URL at all."""
    try:
        return base.urljoin(link) if isinstance(base, Response) else urljoin(base, link)
    except ValueError:
        return None


def link_of(match: Selector) -> str | None:
    """The link one selected node stands for: a selected string (`::attr(href)`, `@href`) as it is, an
    element's `href`; None for anything else (an XPath number or boolean such as `count(//a)`).

    `root.get`, not `match.attrib`: attrib reads every attribute, and lxml raises on an attribute name with
    a control character that its HTML parser let through.
    """
    root = match.root
    if isinstance(root, str):
        return root
    if isinstance(root, etree._Element):
        value: str | None = root.get("href")
        return value
    return None
