"""The coverage-guided fuzzers in fuzz/ run, execute inputs beyond their seeds and find no crash (issue 10).

The property tests next door (test_parser_properties.py) draw inputs at random; the atheris harnesses
follow coverage instead, keeping any input that reaches new code of the parser. This test runs every
harness as libFuzzer would be run by hand, in a subprocess, for a short budget: a fixed seed and a
bounded number of runs (so a CI failure replays), a time cap, a memory cap and a per-input timeout.
It proves three things per harness: it still imports and drives the real parser (a renamed function
or a broken seed fails here, not months later when someone fuzzes again), it executed more inputs
than its seeds (libFuzzer's own count, `stat::number_of_executed_units`, and the `#N DONE cov: X`
line), and no input crashed (exit 0, no crash file). Harnesses run two at a time: about 35 s of CPU in
all, some 20 s on an idle 2-core machine. `VOCWATCH_LONG_TESTS=1` runs each for 5 minutes instead.

Skipped when atheris is not installed, except under CI=true, where it must run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import Response

from crawlers.errors import FeedError
from crawlers.parsing.bluesky import read_bluesky
from crawlers.parsing.hackernews import read_hackernews
from crawlers.parsing.jsonapi import ApiPage
from crawlers.parsing.mastodon import read_mastodon
from crawlers.parsing.profile import ProfileRules, read_profile
from crawlers.parsing.reddit import read_reddit
from crawlers.parsing.reviews import read_reviews
from crawlers.parsing.rss import read_feed
from crawlers.parsing.survey import parse_survey
from crawlers.parsing.text import clean_text

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
HARNESSES = sorted(FUZZ.glob("fuzz_*.py"))
# Read at import: the suite-wide `clean_environ` fixture hides VOCWATCH_* from the tests themselves.
LONG = os.environ.get("VOCWATCH_LONG_TESTS") == "1"
RUNS = 0 if LONG else 300  # libFuzzer -runs; long runs pass none, -max_total_time alone bounds them
SECONDS = 300 if LONG else 3
PARALLEL = 2

_DONE = re.compile(r"^#(?P<runs>\d+)\s+DONE\s+cov: (?P<cov>\d+) ft: (?P<ft>\d+)", re.MULTILINE)
_EXECUTED = re.compile(r"^stat::number_of_executed_units: (?P<n>\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class FuzzRun:
    """What one harness run left behind: its exit code, libFuzzer's output and its crash files."""

    harness: str
    returncode: int
    output: str
    artifacts: tuple[Path, ...]
    seeds: int

    def explain(self) -> str:
        crashes = "".join(f"\n{path.name}: {path.read_bytes()[:300]!r}" for path in self.artifacts)
        return f"{self.harness} exited {self.returncode}{crashes}\n--- last output ---\n{self.output[-4000:]}"


def corpus_of(harness: Path) -> Path:
    return FUZZ / "corpus" / harness.stem.removeprefix("fuzz_")


def rss_limit_mb() -> int:
    """1 GB above this process's peak RSS. libFuzzer reads the peak through getrusage, and Linux carries
    a process's peak RSS across fork and execve: a harness started from a test process that holds
    models (1.6 GB in the full suite) would start "over" a fixed 1 GB limit without allocating anything.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 + 1024


def run_harness(harness: Path, workdir: Path) -> FuzzRun:
    """Run one harness: new inputs go to a scratch corpus (the first directory, which libFuzzer writes
    to), the committed seeds are only read, crash files land in `workdir`."""
    scratch = workdir / "corpus"
    scratch.mkdir(parents=True)
    command = [
        sys.executable,
        str(harness),
        "-seed=1",
        f"-max_total_time={SECONDS}",
        f"-rss_limit_mb={rss_limit_mb()}",
        "-timeout=30",  # per input; generous: a loaded CI machine, and dateparser takes seconds on first use
        "-print_final_stats=1",
        f"-artifact_prefix={workdir}/",
        str(scratch),
        str(corpus_of(harness)),
    ]
    if RUNS:
        command.insert(2, f"-runs={RUNS}")
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=SECONDS + 120,
        check=False,
    )
    return FuzzRun(
        harness=harness.stem,
        returncode=result.returncode,
        output=result.stdout + result.stderr,
        artifacts=tuple(sorted(p for p in workdir.iterdir() if p.is_file())),
        seeds=sum(1 for p in corpus_of(harness).iterdir() if p.is_file()),
    )


@pytest.fixture(scope="module")
def fuzz_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FuzzRun]:
    """Every harness's run, two at a time (each is one process on one core)."""
    if importlib.util.find_spec("atheris") is None:
        reason = "atheris is not installed (pip install atheris, a dev extra; Linux x86_64 wheels)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the fuzzers must run)")
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("fuzz")
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = list(pool.map(lambda harness: run_harness(harness, base / harness.stem), HARNESSES))
    return {run.harness: run for run in runs}


def test_every_parser_family_has_a_harness_with_seeds() -> None:
    """The six families of issue 10 are fuzzed, and each harness has hand-written seeds to start from."""
    assert [h.stem for h in HARNESSES] == [
        "fuzz_feeds",
        "fuzz_json_apis",
        "fuzz_profile",
        "fuzz_review_pages",
        "fuzz_survey",
        "fuzz_text",
    ]
    for harness in HARNESSES:
        assert any(corpus_of(harness).iterdir()), f"{harness.stem} has no seed corpus"


@pytest.mark.slow
@pytest.mark.parametrize("harness", [h.stem for h in HARNESSES])
def test_fuzzer_executes_inputs_beyond_its_seeds_without_a_crash(
    harness: str, fuzz_runs: dict[str, FuzzRun]
) -> None:
    """The harness ran the real parser on mutated inputs (more than its seeds, with coverage) and no
    input raised anything but the parser's documented error or broke an item's promise."""
    run = fuzz_runs[harness]
    assert run.returncode == 0, run.explain()
    assert not run.artifacts, run.explain()
    executed = _EXECUTED.search(run.output)
    done = _DONE.search(run.output)
    assert executed is not None and done is not None, run.explain()
    assert int(executed["n"]) > run.seeds, (
        f"only {executed['n']} inputs for {run.seeds} seeds\n{run.explain()}"
    )
    assert int(done["cov"]) > 0, run.explain()


# Regressions: what the fuzzers (and writing their invariants) found, replayed on the real parsers, so the
# fix holds even where atheris is not installed.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONTROL_IN_ATTRIBUTE_NAME = b'<a class="next" href="/t/1?page=2" data-x\x05y="1">next</a>'


@pytest.mark.parametrize(
    ("document", "reader"),
    [
        ({"cursor": "\ud800", "posts": [{}]}, read_bluesky),
        (
            {"kind": "Listing", "data": {"after": "t3_\udfff", "children": [{"kind": "t3", "data": {}}]}},
            read_reddit,
        ),
        ({"statuses": [{"id": "\ud800"}]}, read_mastodon),
    ],
    ids=["bluesky-cursor", "reddit-after", "mastodon-max-id"],
)
def test_cursor_with_a_lone_surrogate_ends_the_listing_instead_of_losing_the_page(
    document: dict[str, Any], reader: Callable[..., ApiPage]
) -> None:
    """fuzz_json_apis: a JSON `\\ud800` escape in a pagination cursor made w3lib's URL builder raise
    UnicodeEncodeError, losing the page's items; now the page is read and the listing stops there."""
    body = json.dumps(document).encode()
    page = reader(Response("https://api.example/search?q=acme&limit=1", body=body), source="s")
    assert len(page.items) == 1
    assert page.next_url is None
    assert page.newest is None


def test_bluesky_post_with_a_lone_surrogate_in_its_text_or_link_is_read() -> None:
    """fuzz_json_apis: `expand_links` encoded the text (and each facet's URI) as strict UTF-8, so a JSON
    `\\udfff` escape in one post raised UnicodeEncodeError and lost the page. It is kept as every parser
    keeps it (the store pipeline replaces it), and the link is still expanded."""
    link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example/\ud800"}
    post = {
        "uri": "at://did:plc:a/app.bsky.feed.post/1",
        "record": {
            "text": "x \udfff y",
            "facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [link]}],
        },
    }
    body = json.dumps({"posts": [post]}).encode()
    [item] = read_bluesky(
        Response("https://bsky.social/xrpc/app.bsky.feed.searchPosts?q=a", body=body), source="s"
    ).items
    assert item.text == "https://acme.example/\ud800 \udfff y"


def test_html_with_a_reference_to_a_control_character_is_cleaned() -> None:
    """fuzz_json_apis: a Hacker News comment starting `Acme&#x13;s` lost the page. html_to_text strips
    control characters, but the HTML parser turns the reference into one, and lxml refused to set it
    as the leading text (ValueError: not XML compatible). References to C0 controls are dropped too."""
    body = json.dumps(
        {"hits": [{"objectID": "1", "comment_text": "Acme&#x13;s API is <i>down</i> &#19;&#x27;"}]}
    )
    [item] = read_hackernews(
        Response("https://hn.algolia.com/api/v1/search_by_date", body=body.encode()), source="s"
    ).items
    assert item.text == "Acmes API is down '"
    assert clean_text("&#9;a&#10;b &#x1F600; &#127;&#0019;", is_html=True) == "a b 😀"


def test_feed_declaring_an_encoding_with_a_nul_is_a_feed_error() -> None:
    """fuzz_feeds: on a body no encoding decodes, feedparser tries the declared one, and a NUL in its name
    raised a bare ValueError ("embedded null character"), which the spider counts as a parser bug
    rather than a broken feed. It is the documented FeedError now."""
    declaration = b'<?xml version="1.0" encoding="ut\x00f-8"?>'
    body = declaration + b'<rss version="2.0"><channel><title>x\xff\xfe</title></channel></rss>'
    with pytest.raises(FeedError, match="not readable as a feed"):
        read_feed(Response("https://news.example/feed", body=body), source="s")


BROKEN_LINK = "http://[::1"  # urllib: ValueError("Invalid IPv6 URL")


def test_feed_entry_with_a_link_that_is_not_a_url_keeps_the_feed() -> None:
    """fuzz_feeds: `response.urljoin` raised ValueError on an entry link such as `http://[::1`, losing
    every entry of the feed. That entry now has no URL (its guid still identifies it)."""
    body = (
        f"<rss version='2.0'><channel><item><guid>g1</guid><link>{BROKEN_LINK}</link>"
        "<title>late</title></item><item><guid>g2</guid><link>/ok</link><title>fine</title></item></channel></rss>"
    ).encode()
    page = read_feed(Response("https://news.example/feed", body=body), source="s")
    assert [(item.external_id, item.url) for item in page.items] == [
        ("g1", ""),
        ("g2", "https://news.example/ok"),
    ]


def test_pages_with_a_link_that_is_not_a_url_keep_their_items() -> None:
    """The same ValueError in the other parsers that resolve links: a profile item's link (it falls back
    to the page URL and a content hash id, not to the page URL as id, which would merge the page's
    items), a review's `url`, `<link rel=canonical>`, and a Reddit permalink (`//[x`)."""
    rules = ProfileRules(item="div.post", text="p", link="a::attr(href)", next_page="a.next::attr(href)")
    html = f'<div class="post"><p>late</p><a href="{BROKEN_LINK}">#</a></div>'
    html += f'<a class="next" href="{BROKEN_LINK}">next</a>'
    page = read_profile(
        Response("https://bbs.example/t", body=html.encode()), source="s", rules=rules, now=NOW
    )
    [item] = page.items
    assert (item.url, item.external_id.startswith("sha256:"), page.next_url) == (
        "https://bbs.example/t",
        True,
        None,
    )

    review = {"@context": "https://schema.org", "@type": "Review", "reviewBody": "late", "url": BROKEN_LINK}
    html = f'<link rel="canonical" href="{BROKEN_LINK}">'
    html += f'<script type="application/ld+json">{json.dumps(review)}</script>'
    reviews = read_reviews(Response("https://shop.example/p/1", body=html.encode()), source="s", now=NOW)
    assert [item.url for item in reviews.items] == ["https://shop.example/p/1"]

    listing = {
        "data": {"children": [{"kind": "t3", "data": {"name": "t3_a", "title": "x", "permalink": "//[x"}}]}
    }
    [post] = read_reddit(
        Response("https://oauth.reddit.com/r/a/new.json", body=json.dumps(listing).encode()), source="s"
    ).items
    assert (post.external_id, post.url) == ("t3_a", "")


def test_review_page_with_a_broken_microdata_link_keeps_its_json_ld_reviews() -> None:
    """fuzz_review_pages: extruct's microdata pass raised on `href="http://[::1"` (logged), and its
    `uniform=True` pass then raised KeyError('microdata'): the page's JSON-LD reviews were lost too."""
    review = {"@context": "https://schema.org", "@type": "Review", "reviewBody": "from json-ld"}
    html = f'<script type="application/ld+json">{json.dumps(review)}</script>'
    html += '<div itemscope itemtype="https://schema.org/Thing">'
    html += f'<a itemprop="url" href="{BROKEN_LINK}">x</a></div>'
    page = read_reviews(Response("https://shop.example/p/1", body=html.encode()), source="s", now=NOW)
    assert [item.text for item in page.items] == ["from json-ld"]


def test_profile_link_rule_reads_an_element_with_a_control_character_in_an_attribute_name() -> None:
    """fuzz_profile: a link rule selecting the `<a>` read `match.attrib`, which converts every attribute
    name, and lxml raised ValueError on a name holding a control character: one hostile post lost the page."""
    body = b'<div class="post"><div class="content">late</div>' + CONTROL_IN_ATTRIBUTE_NAME + b"</div>"
    rules = ProfileRules(item="div.post", text="div.content", link="a", next_page="a.next")
    page = read_profile(Response("https://bbs.example/t/1", body=body), source="s", rules=rules, now=NOW)
    assert [item.url for item in page.items] == ["https://bbs.example/t/1?page=2"]
    assert page.next_url == "https://bbs.example/t/1?page=2"


def test_profile_xpath_rule_that_selects_a_number_is_no_link() -> None:
    """fuzz_profile: an XPath next-page or link rule such as `count(//a)` loads (it compiles) and then
    crashed every page with AttributeError ('float' object has no attribute 'attrib')."""
    body = b'<div class="post"><p>late</p><a href="/p/1">#</a></div><a href="/t?page=2">next</a>'
    rules = ProfileRules(
        selector_type="xpath", item="//div", text="./p", link="count(.//a)", next_page="count(//a)"
    )
    page = read_profile(Response("https://bbs.example/t", body=body), source="s", rules=rules, now=NOW)
    assert [(item.text, item.url) for item in page.items] == [("late", "https://bbs.example/t")]
    assert page.next_url is None


def test_review_page_next_selector_reads_an_element_with_a_control_character_in_an_attribute_name() -> None:
    """fuzz_review_pages: the configured next-page selector read `found.attrib` (same lxml ValueError)."""
    body = b"<html><body>" + CONTROL_IN_ATTRIBUTE_NAME + b"</body></html>"
    page = read_reviews(Response("https://shop.example/p/1", body=body), source="s", next_selector="a.next")
    assert page.next_url == "https://shop.example/t/1?page=2"


def test_survey_csv_with_a_quote_left_open_reports_the_rest_as_a_bad_row() -> None:
    """Found while writing fuzz_survey's invariants (inputs past 128 KiB, beyond the fuzzer's -max_len): a
    quote left open swallows the rest of the file into one field, csv raised csv.Error (not the
    documented ValueError) past its 131,072-character field limit, and the whole import failed. Now the
    rows before it are kept and the rest is one problem naming the line."""
    rows = b"r2,9,fine,2026-11-20\n" * 8000
    data = b'respondent_id,nps,comment,date\nr0,8,ok,2026-11-20\nr1,3,"open quote,2026-11-20\n' + rows
    result = parse_survey(data, format="csv", now=NOW)
    assert [answer.respondent_id for answer in result.answers] == ["r0"]
    [problem] = result.problems
    assert problem.location == "line 3"
    assert "field limit" in problem.message
    with pytest.raises(ValueError, match="header is not readable as CSV"):
        parse_survey(b'"' + b"x" * 140_000, format="csv", now=NOW)
