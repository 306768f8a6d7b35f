"""Fuzz the schema.org review page parser (`crawlers.parsing.reviews.read_reviews`: JSON-LD, microdata
and RDFa through extruct).

Input: the page's HTML, then one last byte that picks the Content-Type header, the configured next-page
selector and the site's timezone. The seeds in `corpus/review_pages/` are small product pages written
by hand (JSON-LD with @graph, microdata, RDFa, entity-encoded bodies, a GB18030 page that declares its
charset in a meta tag), each followed by one option character. extruct is instrumented as well as our
code. `read_reviews` documents no error: a page without usable markup gives no items. Crash: any
exception, or an item of the wrong shape.

    python fuzz/fuzz_review_pages.py -max_total_time=300 out/fuzz/review_pages fuzz/corpus/review_pages
"""

from __future__ import annotations

import itertools

import _harness
import atheris  # type: ignore[import-untyped]  # atheris ships no type hints

with _harness.instrumented("extruct"):
    from crawlers.parsing.reviews import read_reviews

_harness.load_date_locales()

CONTENT_TYPES = (None, "text/html; charset=utf-8", "text/html; charset=gbk", "application/xhtml+xml")
NEXT_SELECTORS = (None, "a.next", "a.next::attr(href)", "nav [rel~=next]::attr(href)")
TIMEZONES = ("UTC", "Asia/Shanghai")
OPTIONS = tuple(itertools.product(CONTENT_TYPES, NEXT_SELECTORS, TIMEZONES))


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    content_type, next_selector, tz = provider.PickValueInList(list(OPTIONS))
    body = provider.ConsumeBytes(provider.remaining_bytes())
    response = _harness.make_response(
        "https://shop.example/p/42?ref=ad", body, headers={"Content-Type": content_type}
    )
    page = read_reviews(response, source="fuzz", next_selector=next_selector, tz=tz, now=_harness.NOW)
    for item in page.items:
        _harness.check_item(item)
    if not (page.next_url is None or isinstance(page.next_url, str)):
        raise _harness.FuzzCrash(f"next_url is not str or None: {page.next_url!r:.200}")
    aggregate = page.aggregate
    if aggregate is not None and not (aggregate.rating is None or 0.0 <= aggregate.rating <= 1.0):
        raise _harness.FuzzCrash(f"aggregate rating off 0..1: {aggregate.rating!r}")


if __name__ == "__main__":
    _harness.fuzz(test_one_input)
