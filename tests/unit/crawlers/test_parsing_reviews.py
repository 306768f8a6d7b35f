"""Reviews parser over saved pages (JSON-LD @graph, microdata, RDFa, none), plus the real recorded pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest
from scrapy.http import Response

from crawlers.parsing.ratings import RatingScale, normalise_rating
from crawlers.parsing.reviews import read_reviews
from tests.support.pagecases import cases, load_case, to_jsonable

SHARED_REVIEWS = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "reviews"


@pytest.mark.parametrize("case", cases("reviews"), ids=lambda p: p.name)
def test_review_page_output_matches_expected(case: Path) -> None:
    response, params, now, expected = load_case(case)

    page = read_reviews(response, source="test", next_selector=params.get("next_page"), now=now)

    assert {
        "next_url": page.next_url,
        "aggregate": attrs.asdict(page.aggregate) if page.aggregate else None,
        "items": [to_jsonable(item) for item in page.items],
    } == expected


def test_jsonld_review_fields_are_exact() -> None:
    response, _, now, _ = load_case(cases("reviews")[0])

    first, second = read_reviews(response, source="acme", now=now).items

    assert first.external_id == "https://shop.example/kettle-k2#review-981"  # its own @id
    assert first.url == "https://shop.example/kettle-k2"  # the canonical URL, not ?sort=newest
    assert first.text == "Water leaks from the base & the lid won't close.\nReturned it."
    assert (first.author, first.title, first.rating) == ("Mia K.", "Leaks after a week", 0.2)  # 2 on 0..10
    assert first.published_at == datetime(2026, 10, 2, tzinfo=UTC)
    assert second.external_id.startswith("sha256:")  # no @id: hashed (url, author, date, text)
    assert second.published_at == datetime(2026, 9, 14, 6, 30, tzinfo=UTC)


def test_review_id_hash_is_stable_and_uses_the_given_page_url() -> None:
    response, _, now, _ = load_case(cases("reviews")[0])

    again = read_reviews(response, source="acme", now=now).items[1].external_id
    other = read_reviews(response, source="acme", now=now, page_url="https://x.example/").items[1]

    assert again == read_reviews(response, source="acme", now=now).items[1].external_id
    assert other.external_id != again
    assert other.url == "https://x.example/"


def test_same_review_in_two_syntaxes_is_yielded_once() -> None:
    review = {
        "@type": "Review",
        "author": "Ann",
        "datePublished": "2026-01-02",
        "reviewBody": "Fine.",
        "reviewRating": {"ratingValue": "4"},
    }
    body = (
        f'<html><head><script type="application/ld+json">{json.dumps(review)}</script></head><body>'
        '<div itemscope itemtype="https://schema.org/Review"><span itemprop="author">Ann</span>'
        '<meta itemprop="datePublished" content="2026-01-02"><p itemprop="reviewBody">Fine.</p></div>'
        "</body></html>"
    ).encode()

    items = read_reviews(Response("https://s.example/p", body=body), source="t").items

    assert [(i.author, i.text, i.rating) for i in items] == [("Ann", "Fine.", 0.75)]


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        ("4", RatingScale(), 0.75),
        (4.5, RatingScale(), 0.875),
        ("8,5", RatingScale(best=10, worst=0), 0.85),  # a decimal comma
        ("6", RatingScale(), None),  # off the scale
        ("five", RatingScale(), None),
        (None, RatingScale(), None),
        ("3", RatingScale(best=1, worst=1), None),  # a broken scale
    ],
)
def test_normalise_rating(value: object, scale: RatingScale, expected: float | None) -> None:
    assert normalise_rating(value, scale) == expected


@pytest.mark.skipif(not SHARED_REVIEWS.is_dir(), reason="../shared/fixtures/reviews is not present")
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("jsonld_iamafoodblog_recipe_reviews.html", 9),
        ("microdata_williams-sonoma_product_reviews.html", 8),
        ("microdata_monsterpetsupplies_product_reviews.html", 0),
        ("rdfa_schemaorg_eg-0010_product_reviews.html", 2),
    ],
)
def test_real_recorded_review_pages_parse(name: str, count: int) -> None:
    response = Response("https://recorded.example/page", body=(SHARED_REVIEWS / name).read_bytes())

    items = read_reviews(response, source="t").items

    assert len(items) == count
    assert all(item.text and item.external_id and item.rating is not None for item in items)
    assert all(0.0 <= (item.rating or 0) <= 1.0 and item.published_at is not None for item in items)


@pytest.mark.skipif(not SHARED_REVIEWS.is_dir(), reason="../shared/fixtures/reviews is not present")
def test_real_recorded_first_reviews_have_the_documented_values() -> None:
    def first(name: str) -> tuple[str | None, float | None, str | None, str | None, str]:
        response = Response("https://recorded.example/page", body=(SHARED_REVIEWS / name).read_bytes())
        item = read_reviews(response, source="t").items[0]
        day = item.published_at.date().isoformat() if item.published_at else None
        return item.author, item.rating, day, item.title, item.text

    blog = first("jsonld_iamafoodblog_recipe_reviews.html")
    assert blog[:4] == ("JimmyC", 1.0, "2025-08-21", None)
    assert blog[4].startswith("Love your recipes!\nCan you relink")
    assert first("microdata_williams-sonoma_product_reviews.html")[:4] == (
        "Donnagar10",
        0.0,
        "2022-10-30",
        "Chocolate Cake?",
    )
    rdfa = first("rdfa_schemaorg_eg-0010_product_reviews.html")
    assert rdfa == (
        "Ellie",
        0.0,
        "2011-04-01",
        "Not a happy camper",
        "The lamp burned out and now I have to replace it.",
    )


def test_prefixed_and_full_iri_types_are_recognised() -> None:
    graph = [
        {"@type": "schema:AggregateRating", "ratingValue": "8", "bestRating": "10", "worstRating": "0"},
        {
            "@type": "https://schema.org/UserReview",
            "author": "Kim",
            "reviewBody": "Nice",
            "reviewRating": {"ratingValue": "6"},
        },
    ]
    body = f'<script type="application/ld+json">{json.dumps(graph)}</script>'.encode()

    page = read_reviews(Response("https://s.example/p", body=body), source="t")

    assert [(i.author, i.rating) for i in page.items] == [("Kim", 0.6)]  # the page's 0..10 scale
    assert page.aggregate is not None and page.aggregate.rating == 0.8
