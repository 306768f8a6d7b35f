"""What the vocwatch fuzz harnesses share: libFuzzer's limits, responses, item checks, a JSON mutator.

Each `fuzz_<family>.py` beside this module is a coverage-guided fuzzer (atheris, i.e. libFuzzer driving
CPython) for one family of parsers. A harness imports the parser under `atheris.instrument_imports`
(so that coverage of our code, and of the pure-Python library that does the parsing, guides the
mutations), turns the fuzzer's bytes into the parser's real input and calls the real parser. The
parser may raise the one error its caller counts as "bad input" (FeedError, ValueError); anything
else, or an item that breaks MentionItem's promises, is a crash: libFuzzer saves the input and stops.

Options (a header, a rule set, a timezone) are read with atheris.FuzzedDataProvider, which takes numbers
from the END of the input and bytes from the front: a hand-written seed in `corpus/<harness>/` is the
body followed by one option character per choice, as each harness's docstring says.

Run one for longer (new inputs go to the first directory; the committed seeds are only read):

    mkdir -p out/fuzz/feeds
    nice -n 10 .venv/bin/python fuzz/fuzz_feeds.py -max_total_time=600 -print_final_stats=1 \
        -artifact_prefix=out/fuzz/ out/fuzz/feeds fuzz/corpus/feeds

Replay a crash file: `python fuzz/fuzz_feeds.py out/fuzz/crash-<sha1>`. With atheris 3.0 a crash
sometimes ends the process by SIGALRM (exit 142) before libFuzzer writes the crash file; the
Python traceback it printed is then the record to rebuild the input from.

This module is imported before instrumentation on purpose: scrapy's `Response` is how inputs reach
the parsers, not what is tested, and instrumenting all of scrapy would only slow every harness down.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import atheris  # type: ignore[import-untyped]  # atheris ships no type hints (types-atheris lacks most of it)
from scrapy.http import Response

__all__ = [
    "EDGE_VALUES",
    "MAX_COUNT",
    "NOW",
    "FuzzCrash",
    "check_item",
    "fuzz",
    "instrumented",
    "load_date_locales",
    "make_response",
    "mutate_json",
]

# The crawl time the harnesses pass to parsers that read relative dates ("3天前"): fixed, so that a
# saved crash input replays the same way on any day.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MAX_COUNT = 2**31 - 1  # mentions' reach columns are 32-bit INTEGERs (crawlers.parsing.jsonapi.MAX_COUNT)

# libFuzzer flags every harness runs with unless the command line sets them: no input may take more
# than 10 s (a hang is a crash, not a stuck CI job), nor the process more than 2 GiB.
DEFAULT_FLAGS = ("-rss_limit_mb=2048", "-timeout=10")

# JSON values that real responses never hold but broken or hostile servers send: counts beyond int64 or
# not finite, Unicode digits that str.isdigit() accepts and int() refuses, ISO times at the edge of
# datetime's range, NUL, a lone surrogate, bidi and zero-width characters, markup, and wrong types.
EDGE_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**31,
    2**63,
    -(2**63) - 1,
    10**400,
    1e308,
    -0.0,
    float("inf"),
    float("-inf"),
    float("nan"),
    "",
    " \n\t",
    "²³",
    "١٢",
    "99999999999999999999999",
    "1e999",
    "NaN",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "+275760-09-13T00:00:00Z",
    "2026-11-20T10:00:00",
    "\x00",
    "\ud800",
    "\u202e\u200b\ufeff",
    "<p>a<br>b</p><script>x</script>",
    "&amp;lt;b&gt; &#0; &#xD800;",
    "at://did:plc:x/app.bsky.feed.post/",
    "/page=99999999999999999999/",
    [],
    {},
    [None],
    {"label": None},
)


class FuzzCrash(AssertionError):
    """A parser's output broke a promise (a field of the wrong type, a naive time, a rating off 0..1)."""


def fuzz(test_one_input: Callable[[bytes], None], *, custom_mutator: Any = None) -> None:
    """Run libFuzzer on `test_one_input` with this project's limits (see DEFAULT_FLAGS) unless the
    command line sets its own; any other libFuzzer flag and corpus directories pass straight through."""
    logging.disable(logging.CRITICAL)  # parsers log what they skip; a log line is not a finding, only noise
    argv = list(sys.argv)
    for flag in DEFAULT_FLAGS:
        name = flag.split("=", 1)[0] + "="
        if not any(arg.startswith(name) for arg in argv[1:]):
            argv.append(flag)
    if custom_mutator is None:
        atheris.Setup(argv, test_one_input)
    else:
        atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


def instrumented(*libraries: str) -> Any:
    """`atheris.instrument_imports` for our own packages plus the named pure-Python parsing libraries."""
    return atheris.instrument_imports(include=["crawlers", *libraries])


def load_date_locales() -> None:
    """Pay dateparser's first-use cost before fuzzing starts. The first date string that matches none of
    its languages makes it load all ~200 locales (about 7 s here); left to the first such input, that
    would read as a hang under -timeout. Call it after the instrumented imports."""
    from crawlers.parsing.dates import parse_date  # already imported (instrumented) by the harness

    parse_date("xx 12 yy", now=NOW)


def make_response(url: str, body: bytes, *, headers: dict[str, str] | None = None) -> Response:
    """The response a spider would hand the parser (scrapy builds the right subclass in the spider; the
    parsers take any Response and decode the body themselves)."""
    return Response(url, body=body, headers={k: v for k, v in (headers or {}).items() if v is not None})


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FuzzCrash(message)


def check_item(item: Any) -> None:
    """An item has the types MentionItem promises, which the validator, the store and Slack rely on."""
    _require(type(item).__name__ == "MentionItem", f"not a MentionItem: {item!r:.200}")
    for name in ("source", "external_id", "url", "text", "raw"):
        _require(isinstance(getattr(item, name), str), f"{name} is not a str: {getattr(item, name)!r:.200}")
    for name in ("title", "author", "lang", "parent_external_id", "thread_external_id"):
        value = getattr(item, name)
        _require(value is None or isinstance(value, str), f"{name} is not str or None: {value!r:.200}")
    for name in ("author_followers", "score", "replies", "reposts", "likes"):
        value = getattr(item, name)
        _require(
            value is None or (type(value) is int and 0 <= value <= MAX_COUNT),
            f"{name} is not a storable count: {value!r:.200}",
        )
    rating = item.rating
    _require(
        rating is None or (isinstance(rating, float) and 0.0 <= rating <= 1.0), f"rating off 0..1: {rating!r}"
    )
    published_at = item.published_at
    _require(
        published_at is None or (isinstance(published_at, datetime) and published_at.utcoffset() is not None),
        f"published_at is not an aware datetime: {published_at!r}",
    )


def _nodes(box: list[Any]) -> list[tuple[Any, Any]]:
    """(container, key) of every value in the document held in `box[0]`, the document itself included."""
    out: list[tuple[Any, Any]] = []
    stack: list[Any] = [box]
    while stack:
        container = stack.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in list(pairs):
            out.append((container, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return out


def _byte_mutation(data: bytes, max_size: int) -> bytes:
    """libFuzzer's own mutation of `data` (bit flips, inserted bytes, dictionary words, ...)."""
    mutated: bytes = atheris.Mutate(data, max_size)
    return mutated


def _mutated_text(value: str, rng: random.Random) -> str:
    """The string with libFuzzer's byte mutations applied (surrogates and bad UTF-8 survive as such)."""
    data = value.encode("utf-8", "surrogatepass")
    return _byte_mutation(data, len(data) + rng.randint(1, 64)).decode("utf-8", "surrogateescape")


def _mutated_number(value: float, rng: random.Random) -> Any:
    """A nearby, negated, much larger or quoted number (bounded: json.dumps refuses ints of 4,300+ digits)."""
    if not math.isfinite(value) or abs(value) > 10**400:
        return rng.choice([0, -1, str(value)])
    return rng.choice([-value, value + 1, value * 1000, str(value)])


def _mutate_once(box: list[Any], rng: random.Random) -> None:
    nodes = _nodes(box)
    container, key = rng.choice(nodes)
    value = container[key]
    operation = rng.randrange(8)
    if operation == 0 and isinstance(value, str):
        container[key] = _mutated_text(value, rng)
    elif operation == 1 and isinstance(value, int | float) and not isinstance(value, bool):
        container[key] = _mutated_number(value, rng)
    elif operation == 2 and container is not box:  # drop a field or an element
        del container[key]
    elif operation == 3:  # copy another part of the document here (more children, odd nesting)
        source, source_key = rng.choice(nodes)
        container[key] = copy.deepcopy(source[source_key])
    elif operation == 4:  # the right value in the wrong wrapper
        container[key] = rng.choice([[value], {"label": value}, {"data": value}, [value, value]])
    elif operation == 5 and isinstance(container, dict):  # the value under another name from the document
        names = [k for c, k in nodes if isinstance(c, dict)]
        container[rng.choice(names)] = container.pop(key)
    else:
        container[key] = copy.deepcopy(rng.choice(EDGE_VALUES))


def mutate_json(data: bytes, max_size: int, seed: int, *, tail: int = 0) -> bytes:
    """A libFuzzer custom mutator for JSON inputs: keep the document's shape, poison a few of its parts.

    Byte mutations alone turn a recorded response into invalid JSON nearly every time, which tests only
    the parser's first line. Here a document that parses is changed as a document (a leaf replaced by
    an edge value, a string byte-mutated, a field dropped or renamed, a subtree copied or wrapped), so
    the parser's deeper code sees shapes it never expected. One time in ten, or when the input is not
    JSON, libFuzzer's own byte mutation runs instead. The last `tail` bytes (a harness's option bytes)
    are kept as they are.
    """
    rng = random.Random(seed)  # noqa: S311  # mutation choices, not secrets: libFuzzer gives the seed
    body, rest = (data[:-tail], data[-tail:]) if tail and len(data) >= tail else (data, b"")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if document is None or rng.randrange(10) == 0:
        return _byte_mutation(data, max_size)
    box = [document]
    try:
        for _ in range(rng.randint(1, 4)):
            _mutate_once(box, rng)
        out = json.dumps(box[0], ensure_ascii=rng.random() < 0.5, allow_nan=True)
    except (RecursionError, ValueError, OverflowError):  # too deep to copy, or a number json cannot write
        return _byte_mutation(data, max_size)
    encoded = out.encode("utf-8", "surrogatepass") + rest
    return encoded if len(encoded) <= max_size else _byte_mutation(data, max_size)
