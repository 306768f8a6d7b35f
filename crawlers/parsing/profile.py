"""Rule-driven parsing for sites without an API (Chinese forums and shops): CSS/XPath rules → MentionItems.

A `profile` source describes a page with selectors from the config instead of code: one selector for
the repeated item (a post, a review) and, relative to it, selectors for its text, author, date, rating,
link/id and title, plus one for the next page. A selector may end in `::text`/`::attr(x)` (CSS) or
`/text()`/`/@x` (XPath) to take strings; when it selects elements, their HTML is rendered as text the
way `crawlers.parsing.text` renders any HTML, so `<br>` and paragraphs survive.

Encodings: these sites still serve GBK, GB18030 and Big5, often mislabelled or unlabelled. The body is
decoded by `decode_page`: the Content-Type charset, then a BOM, then `<meta charset>` (each must decode
the whole body strictly, see `crawlers.parsing.encoding`), then statistical detection
(charset-normalizer). Scrapy's own fallback would guess cp1252 and turn an undeclared GBK page into
mojibake. Dates are read by `crawlers.parsing.dates` relative to the crawl time in the site's timezone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
from charset_normalizer import from_bytes
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints
from parsel import Selector, SelectorList
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scrapy.http import HtmlResponse, Response
from w3lib.encoding import resolve_encoding

from crawlers.items import MentionItem
from crawlers.parsing.dates import DEFAULT_TIMEZONE, parse_date, parse_timezone
from crawlers.parsing.encoding import detect_encoding
from crawlers.parsing.links import join_url, link_of
from crawlers.parsing.ratings import RatingScale, normalise_rating
from crawlers.parsing.text import html_to_text, normalise_whitespace

__all__ = ["ProfilePage", "ProfileRules", "decode_page", "parse_profile", "read_profile"]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class ProfileRules(BaseModel):
    """The selectors and options of one `profile` source (its `params` in vocwatch.toml).

    [sources.acme_forum.params]
    item = "div.post"
    text = "div.content"
    author = "span.user::text"
    date = "span.time::text"
    next_page = "a.next::attr(href)"
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    selector_type: Literal["css", "xpath"] = "css"
    item: str = Field(min_length=1)  # one match per mention
    text: str = Field(min_length=1)  # relative to the item, as are the fields below
    title: str | None = None
    author: str | None = None
    date: str | None = None
    rating: str | None = None  # the first number in the matched text ("4.5分", "评分：4")
    link: str | None = None  # the item's own URL (an href); also its id when `id` is not set
    id: str | None = None
    next_page: str | None = None  # relative to the page; an element's href or a string
    best_rating: float = 5.0
    worst_rating: float = 1.0
    timezone: str = DEFAULT_TIMEZONE  # the zone the site prints its times in
    encoding: str | None = None  # forces the page encoding where a site lies about it

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None and resolve_encoding(value) is None:
            raise ValueError(f"unknown encoding {value!r}")
        return value

    @model_validator(mode="after")
    def _selectors_compile(self) -> ProfileRules:
        """A broken selector is a config error at load time, not an empty crawl later."""
        probe = Selector(text="<html></html>")
        for name in ("item", "text", "title", "author", "date", "rating", "link", "id", "next_page"):
            rule = getattr(self, name)
            if rule is None:
                continue
            try:
                probe.css(rule) if self.selector_type == "css" else etree.XPath(rule)
            except Exception as exc:  # cssselect and lxml raise several unrelated types
                raise ValueError(f"{name}: invalid {self.selector_type} selector {rule!r}: {exc}") from None
        if self.best_rating <= self.worst_rating:
            raise ValueError("best_rating must be greater than worst_rating")
        return self


@attrs.frozen
class ProfilePage:
    items: tuple[MentionItem, ...]
    next_url: str | None = None
    encoding: str | None = None


def decode_page(response: Response, *, encoding: str | None = None) -> HtmlResponse:
    """The response as an HtmlResponse decoded with the right encoding (see the module docstring)."""
    if encoding is None:
        content_type = response.headers.get("Content-Type")
        encoding = detect_encoding(response.body, content_type.decode("latin-1") if content_type else None)
    if encoding is None:
        best = from_bytes(response.body).best()
        encoding = best.encoding if best is not None else "utf-8"
    resolved = resolve_encoding(encoding) or encoding
    return HtmlResponse(url=response.url, body=response.body, encoding=resolved, request=response.request)


def parse_profile(response: Response, *, source: str, rules: ProfileRules) -> Iterator[MentionItem]:
    yield from read_profile(response, source=source, rules=rules).items


def read_profile(
    response: Response,
    *,
    source: str,
    rules: ProfileRules,
    page_url: str | None = None,
    now: datetime | None = None,
) -> ProfilePage:
    """Read every item the rules select, and the next page's URL.

    `page_url` (default: the page's URL) is hashed into the id of items that have neither an `id` nor a
    `link`; a spider passes the first page's URL so that an item keeps its id when it moves to page 2.
    Items are yielded as found, even without text or id, for the validator to count and drop.
    """
    page = decode_page(response, encoding=rules.encoding)
    now = now or datetime.now(UTC)
    tz = parse_timezone(rules.timezone)
    items = []
    for node in _select(page.selector, rules.item, rules):
        text = _joined(_select(node, rules.text, rules))
        author = _value(node, rules.author, rules)
        date_text = _value(node, rules.date, rules)
        link = _href(node, rules.link, rules)
        joined = join_url(page, link) if link else None  # None too for a link that is not a URL
        url = joined or page.url
        own_id = _value(node, rules.id, rules) or joined
        items.append(
            MentionItem(
                source=source,
                external_id=(own_id or _item_hash(page_url or page.url, author, date_text, text))
                if text
                else "",
                url=url,
                text=text,
                raw=node.get(),
                title=_value(node, rules.title, rules),
                author=author,
                published_at=parse_date(date_text, now=now, tz=tz),
                rating=_rating(_value(node, rules.rating, rules), rules),
            )
        )
    next_link = _href(page.selector, rules.next_page, rules)
    return ProfilePage(
        items=tuple(items),
        next_url=join_url(page, next_link) if next_link else None,
        encoding=page.encoding,
    )


def _select(node: Selector, rule: str, rules: ProfileRules) -> SelectorList[Selector]:
    return node.css(rule) if rules.selector_type == "css" else node.xpath(rule)


def _text_of(match: Selector) -> str:
    """A string match (::text, @attr) is normalised; an element is rendered as text."""
    if isinstance(match.root, str):
        return normalise_whitespace(match.root)
    return html_to_text(match.get())


def _joined(matches: SelectorList[Selector]) -> str:
    return normalise_whitespace("\n".join(text for m in matches if (text := _text_of(m))))


def _value(node: Selector, rule: str | None, rules: ProfileRules) -> str | None:
    if rule is None:
        return None
    return next((text for m in _select(node, rule, rules) if (text := _text_of(m))), None)


def _href(node: Selector, rule: str | None, rules: ProfileRules) -> str | None:
    """A link rule may select a string (`::attr(href)`) or the `<a>` itself, whose href is taken
    (`links.link_of`); the first non-blank one wins."""
    if rule is None:
        return None
    for match in _select(node, rule, rules):
        value = link_of(match)
        if value and value.strip():
            return value.strip()
    return None


def _rating(value: str | None, rules: ProfileRules) -> float | None:
    match = _NUMBER.search(value or "")
    if match is None:
        return None
    return normalise_rating(match.group(), RatingScale(best=rules.best_rating, worst=rules.worst_rating))


def _item_hash(url: str, author: str | None, date: str | None, text: str) -> str:
    key: list[Any] = [url, author or "", date or "", text]
    return "sha256:" + hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
