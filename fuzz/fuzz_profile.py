"""Fuzz the rule-driven page parser (`crawlers.parsing.profile`: CSS/XPath rules from the config).

Input: the page body, then (read from the end) one byte that picks the rules and one that picks the
Content-Type label. The rules are one of three fixed sets (CSS with `::text`/`::attr()`, XPath, a
forced GBK encoding with a 0..10 rating scale) or, for the last choice, composed field by field from
selectors an operator could write: XPath that selects text nodes, attributes, numbers (`count()`),
booleans or strings, CSS pseudo-elements, `*`, and an item selector taken from the input itself.
Allowed: ValueError from `ProfileRules` (a rule that does not compile is a config error, reported at
load time). Crash: any exception from `read_profile` with rules that loaded, or an item of the wrong
shape. The seeds in `corpus/profile/` are forum and shop pages in UTF-8, GBK and Big5 written by hand.

    python fuzz/fuzz_profile.py -max_total_time=300 out/fuzz/profile fuzz/corpus/profile
"""

from __future__ import annotations

from typing import Any

import _harness
import atheris  # type: ignore[import-untyped]  # atheris ships no type hints

with _harness.instrumented():
    from crawlers.parsing.profile import ProfileRules, read_profile

_harness.load_date_locales()

CSS_POSTS = {
    "item": "div.post",
    "text": "div.content",
    "title": "h3::text",
    "author": "span.user::text",
    "date": "span.time::text",
    "rating": "span.score::text",
    "link": "a.permalink::attr(href)",
    "next_page": "a.next::attr(href)",
}
XPATH_POSTS = {
    "selector_type": "xpath",
    "item": "//div[@class='post']",
    "text": "./div[@class='content']",
    "author": ".//span[@class='user']/text()",
    "date": ".//span[@class='time']/text()",
    "link": ".//a[@class='permalink']",
    "id": "./@data-pid",
    "next_page": "//a[@class='next']/@href",
}
GBK_SHOP = {
    "item": "li.review",
    "text": "p",
    "author": "em",
    "date": "time::attr(datetime)",
    "rating": "span.stars",
    "next_page": "a.next",
    "best_rating": 10.0,
    "worst_rating": 0.0,
    "encoding": "gbk",
    "timezone": "Asia/Shanghai",
}
FIXED_RULES: tuple[dict[str, Any], ...] = (CSS_POSTS, XPATH_POSTS, GBK_SHOP)
CONTENT_TYPES = ("text/html; charset=utf-8", "text/html; charset=gbk", "text/html", None)

FROM_INPUT = object()  # "take this selector from the input"
CANDIDATES: dict[str, dict[str, tuple[Any, ...]]] = {
    "css": {
        "item": (FROM_INPUT, "div.post", "li", "*", "div.post::text", "a::attr(href)", "html"),
        "text": ("div.content", "div.content::text", "::text", "*::text", "p", "*"),
        "author": (None, "span.user::text", "span.user", "::attr(class)", "a"),
        "date": (None, "span.time::text", "time::attr(datetime)", "*::text"),
        "rating": (None, "span.score::text", "span.score", "::attr(data-score)"),
        "link": (None, "a.permalink::attr(href)", "a", "a::text", "::attr(href)", "*"),
        "next_page": (None, "a.next::attr(href)", "a.next", "a", "link::attr(href)", "*::text"),
    },
    "xpath": {
        "item": (FROM_INPUT, "//div[@class='post']", "//li", "count(//div)", "//div/text()", "//@class", "/"),
        "text": (".", "./div", ".//text()", "string(.)", "count(*)", "boolean(.)", "@class", "name()"),
        "author": (None, ".//span/text()", "concat(., '!')", "local-name(.)", "1 div 0"),
        "date": (None, ".//span[@class='time']/text()", "string(.)", "number(.)"),
        "rating": (None, ".//span[@class='score']", "count(.//*)", "-1", "0 div 0"),
        "link": (None, ".//a/@href", ".//a", "string(.//a/@href)", "true()", "."),
        "next_page": (None, "//a[@class='next']/@href", "//a", "count(//a)", "true()", "//text()"),
    },
}


def composed_rules(provider: Any) -> dict[str, Any]:
    """Rules picked field by field (bytes from the end); an item selector may come from the input's front."""
    selector_type = provider.PickValueInList(["css", "xpath"])
    rules: dict[str, Any] = {"selector_type": selector_type}
    for field, options in CANDIDATES[selector_type].items():
        choice = provider.PickValueInList(list(options))
        if choice is FROM_INPUT:
            choice = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 40))
        rules[field] = choice
    return rules


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, len(FIXED_RULES))
    content_type = provider.PickValueInList(list(CONTENT_TYPES))
    config = FIXED_RULES[mode] if mode < len(FIXED_RULES) else composed_rules(provider)
    body = provider.ConsumeBytes(provider.remaining_bytes())
    try:
        rules = ProfileRules(**config)
    except ValueError:  # pydantic's ValidationError: the config is refused when it is loaded
        return
    response = _harness.make_response("https://bbs.example/t/1", body, headers={"Content-Type": content_type})
    page = read_profile(response, source="fuzz", rules=rules, now=_harness.NOW)
    for item in page.items:
        _harness.check_item(item)
    if not (page.next_url is None or isinstance(page.next_url, str)):
        raise _harness.FuzzCrash(f"next_url is not str or None: {page.next_url!r:.200}")


if __name__ == "__main__":
    _harness.fuzz(test_one_input)
