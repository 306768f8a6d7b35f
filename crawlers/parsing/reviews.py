"""schema.org Review / AggregateRating markup (JSON-LD, microdata, RDFa) → MentionItems (pure).

`extruct` reads the three syntaxes; this module turns its three output shapes into one (plain nested
dicts keyed by short schema.org property names) and then reads reviews from that. Why one shape: a
review page may mark the same reviews up twice (JSON-LD for Google, microdata in the template), and
the same field rules (author as a string or a Person, `reviewBody` or the older `description`, ratings
as strings) must apply whatever the syntax.

Ratings are normalised to 0..1 on the scale the page declares: the review's own `bestRating`/
`worstRating`, else the page's AggregateRating scale, else schema.org's default 1..5. Reviews rarely
carry an id, so the id is a hash of (page URL, author, date, text): stable across crawls, and the same
review marked up in two syntaxes is yielded once.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

import attrs
import extruct  # type: ignore[import-untyped]  # extruct ships no type hints
from scrapy.http import Response

from crawlers.items import MentionItem
from crawlers.parsing.dates import parse_date
from crawlers.parsing.links import join_url, link_of
from crawlers.parsing.profile import decode_page
from crawlers.parsing.ratings import RatingScale, normalise_rating
from crawlers.parsing.text import clean_text

__all__ = [
    "AggregateRating",
    "RatingScale",
    "ReviewPage",
    "normalise_rating",
    "parse_reviews",
    "read_reviews",
]

logger = logging.getLogger(__name__)

_SYNTAXES = ["json-ld", "microdata", "rdfa"]
_SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/")
_HTML_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_XML_INCOMPATIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # no XML text may hold these


@attrs.frozen
class AggregateRating:
    """The page-level summary: the mean rating (0..1) and how many ratings/reviews it is made of."""

    rating: float | None
    count: int | None
    scale: RatingScale


@attrs.frozen
class ReviewPage:
    items: tuple[MentionItem, ...]
    aggregate: AggregateRating | None = None
    next_url: str | None = None


def parse_reviews(response: Response, *, source: str) -> Iterator[MentionItem]:
    """Yield one MentionItem per review marked up on the page (none on a page without review markup)."""
    yield from read_reviews(response, source=source).items


def read_reviews(
    response: Response,
    *,
    source: str,
    next_selector: str | None = None,
    page_url: str | None = None,
    tz: tzinfo | str = "UTC",
    now: datetime | None = None,
) -> ReviewPage:
    """Read the page's reviews, its AggregateRating and the next page's URL.

    `page_url` is what review ids are hashed with and what items link to; it defaults to the page's
    canonical URL, else its URL. A spider following pagination passes the first page's URL, so a review
    that moves to page 2 when newer ones arrive keeps its id. `next_selector` is a CSS selector for the
    next page's link where the page has no `rel=next`. `tz` is the zone of dates printed without one.
    """
    page = decode_page(response)
    now = now or datetime.now(UTC)
    url = page_url or _canonical(page) or page.url
    # Control characters make extruct's microdata (lxml) pass fail, and extruct then raises KeyError.
    text = _XML_INCOMPATIBLE.sub("", page.text)
    data = _extract(text, page.url)
    ordered_roots: list[Any] = [*data.get("json-ld", []), *data.get("microdata", [])]
    rdfa_roots = _rdfa_nodes(data.get("rdfa", []))
    roots = [*ordered_roots, *rdfa_roots]
    # RDFa comes back as an RDF graph, which has no order: put its reviews back in page order.
    rdfa_reviews = [node for node in _walk(rdfa_roots) if _has_type(node, "Review")]
    rdfa_reviews.sort(key=lambda node: _position(page.text, node))
    reviews = [*(node for node in _walk(ordered_roots) if _has_type(node, "Review")), *rdfa_reviews]
    aggregates = [node for node in _walk(roots) if _has_type(node, "AggregateRating")]
    page_scale = _scale(aggregates[0], RatingScale()) if aggregates else RatingScale()
    items: list[MentionItem] = []
    seen: set[str] = set()
    for node in reviews:
        item = _to_item(node, source=source, page_url=url, scale=page_scale, tz=tz, now=now)
        if item.external_id and item.external_id in seen:
            continue  # the same review in two syntaxes (JSON-LD and microdata)
        seen.add(item.external_id)
        items.append(item)
    return ReviewPage(
        items=tuple(items),
        aggregate=_aggregate(aggregates[0], page_scale) if aggregates else None,
        next_url=_next_url(page, next_selector),
    )


def _extract(text: str, url: str) -> dict[str, Any]:
    """extruct's output per syntax. When one syntax's extractor fails (logged), `uniform=True` then raises
    KeyError looking for its output (extruct 0.18), which would lose the other syntaxes' reviews too: a
    microdata `href="http://[::1"` (urllib's ValueError) must not hide the page's JSON-LD. The syntaxes
    are then read one by one, each on its own."""
    options: dict[str, Any] = {"base_url": url, "uniform": True, "errors": "log"}
    try:
        data: dict[str, Any] = extruct.extract(text, syntaxes=_SYNTAXES, **options)
        return data
    except KeyError:
        data = {}
    for syntax in _SYNTAXES:
        with contextlib.suppress(KeyError):
            data.update(extruct.extract(text, syntaxes=[syntax], **options))
    return data


def _to_item(
    node: Mapping[str, Any],
    *,
    source: str,
    page_url: str,
    scale: RatingScale,
    tz: tzinfo | str,
    now: datetime,
) -> MentionItem:
    author = _name(node.get("author"))
    body = _string(node.get("reviewBody")) or _string(node.get("description"))
    text = _body_text(body)
    date_text = _string(node.get("datePublished")) or _string(node.get("dateCreated"))
    rating_node = _first(node.get("reviewRating"))
    rating = None
    if isinstance(rating_node, Mapping):
        rating = normalise_rating(_first(rating_node.get("ratingValue")), _scale(rating_node, scale))
    title = clean_text(_string(node.get("name")), is_html=False) or None
    own_id = _string(node.get("@id"))
    external_id = (
        own_id if own_id and not own_id.startswith("_:") else _review_hash(page_url, author, date_text, text)
    )
    return MentionItem(
        source=source,
        external_id=external_id if text else "",  # a review without text is malformed: counted, not stored
        url=join_url(page_url, _string(node.get("url"))) or page_url,  # the review's own link, else the page
        text=text,
        raw=json.dumps(node, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        title=title,
        author=author,
        published_at=parse_date(date_text, now=now, tz=tz),
        rating=rating,
    )


def _body_text(body: str) -> str:
    """Review bodies are plain text with real line breaks ("\\r\\n" in JSON-LD), but WordPress plugins
    entity-encode them and some sites embed tags: tags mean HTML; bare entities are only decoded, so the
    line breaks survive."""
    if _HTML_TAG.search(body):
        return clean_text(body, is_html=True)
    return clean_text(html.unescape(body), is_html=False)


def _review_hash(url: str, author: str | None, date: str, text: str) -> str:
    key = json.dumps([url, author or "", date, text], ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a JSON-LD "\\ud800" escape gives a lone surrogate, which must not crash the page.
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _aggregate(node: Mapping[str, Any], scale: RatingScale) -> AggregateRating:
    count = None
    for field in ("reviewCount", "ratingCount"):
        try:
            count = int(float(_string(node.get(field))))
            break
        except ValueError:
            continue
    rating = normalise_rating(_first(node.get("ratingValue")), scale)
    return AggregateRating(rating=rating, count=count, scale=scale)


def _scale(node: Mapping[str, Any], default: RatingScale) -> RatingScale:
    def number(field: str, fallback: float) -> float:
        try:
            return float(_string(node.get(field)))
        except ValueError:
            return fallback

    return RatingScale(best=number("bestRating", default.best), worst=number("worstRating", default.worst))


def _name(value: Any) -> str | None:
    """author is a string, a Person/Organization ({"name": ...}), or a list of either."""
    value = _first(value)
    if isinstance(value, Mapping):
        value = _first(value.get("name"))
    text = clean_text(value, is_html=False) if isinstance(value, str) else ""
    return text or None


def _string(value: Any) -> str:
    value = _first(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _first(value: Any) -> Any:
    while isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping) and "@value" in value:
        return value["@value"]
    return value


def _has_type(node: Mapping[str, Any], wanted: str) -> bool:
    types = node.get("@type")
    # "Review", "schema:Review" and "https://schema.org/Review" all name the same type
    names = [
        _short(t).removeprefix("schema:")
        for t in (types if isinstance(types, list) else [types])
        if isinstance(t, str)
    ]
    if wanted == "Review":  # UserReview, CriticReview, EmployerReview ... are Reviews too
        return any(t.endswith("Review") for t in names)
    return wanted in names


def _walk(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every dict in a JSON-LD tree (arrays, @graph and nesting such as Recipe.review included)."""
    if isinstance(value, Mapping):
        yield value
        for child in value.values():
            yield from _walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child)


def _rdfa_nodes(graph: list[Any]) -> list[dict[str, Any]]:
    """extruct's RDFa is an expanded, flattened JSON-LD graph (full property IRIs, `{"@id": ...}`
    references, `[{"@value": ...}]` literals); rebuild the nested shorthand the other syntaxes give."""
    by_id = {node["@id"]: node for node in graph if isinstance(node, Mapping) and "@id" in node}

    def build(node: Mapping[str, Any], visiting: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not str(node.get("@id", "_:")).startswith("_:"):  # blank node ids are random per parse
            out["@id"] = node["@id"]
        if types := node.get("@type"):
            out["@type"] = [_short(t) for t in types]
        for key, values in node.items():
            if key.startswith("@") or not isinstance(values, list):
                continue
            resolved = []
            for value in values:
                ref = value.get("@id") if isinstance(value, Mapping) and "@value" not in value else None
                if ref is not None and ref in by_id and ref not in visiting:
                    resolved.append(build(by_id[ref], visiting | {ref}))
                elif isinstance(value, Mapping) and isinstance(value.get("@value"), str):
                    # pyRdfa returns the element's source text: its line breaks are HTML whitespace
                    resolved.append({**value, "@value": _HTML_SPACE.sub(" ", value["@value"]).strip()})
                else:
                    resolved.append(value)
            out[_short(key)] = resolved
        return out

    # Only the roots: nodes nobody refers to (a review inside a Product is reached through it).
    referenced = {
        value["@id"]
        for node in by_id.values()
        for key, values in node.items()
        if not key.startswith("@") and isinstance(values, list)
        for value in values
        if isinstance(value, Mapping) and "@id" in value
    }
    return [build(node, frozenset({node_id})) for node_id, node in by_id.items() if node_id not in referenced]


def _position(html: str, node: Mapping[str, Any]) -> int:
    """Where a review starts in the page source: the first place one of its texts appears (the first
    words, matched across any whitespace, since the graph's literals have it collapsed)."""
    found = []
    for field in ("reviewBody", "description", "name", "author"):
        value = _first(node.get(field))
        if isinstance(value, Mapping):
            value = _first(value.get("name"))
        words = str(value).split()[:4] if isinstance(value, str) else []
        if words and (match := re.search(r"\s+".join(map(re.escape, words)), html)):
            found.append(match.start())
    return min(found, default=len(html))


def _short(iri: str) -> str:
    for prefix in _SCHEMA_PREFIXES:
        if iri.startswith(prefix):
            return iri.removeprefix(prefix)
    return iri


def _canonical(page: Response) -> str | None:
    href = page.css('link[rel="canonical"]::attr(href)').get()
    return join_url(page, href.strip()) if href and href.strip() else None


def _next_url(page: Response, selector: str | None) -> str | None:
    """`<link rel=next>` / `<a rel=next>`, else the configured selector's first href."""
    href = page.xpath(
        '//link[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
        ' | //a[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
    ).get()
    if not href and selector:
        found = page.css(selector)
        href = link_of(found[0]) if found else None
    return join_url(page, href.strip()) if href and href.strip() else None
