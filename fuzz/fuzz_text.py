"""Fuzz the small readers every parser builds on: text cleaning, dates, encodings and JSON value conversion.

Input: the value, then (read from the end) one byte that picks the target and, for dates and encodings,
one that picks the timezone or the Content-Type label. Text is the input decoded as UTF-8 with lone
surrogates kept (`surrogatepass`, else `surrogateescape`), since JSON escapes and broken pages deliver
them. None of these functions documents an error. Crash: any exception, or a result that breaks the
function's promise: cleaned text holds no control or zero-width character, a date is aware (or None),
a detected encoding decodes the body, a count is a storable non-negative int. The seeds in
`corpus/text/` are hand-written values, each followed by its option characters.

    python fuzz/fuzz_text.py -max_total_time=300 out/fuzz/text fuzz/corpus/text
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import _harness
import atheris  # type: ignore[import-untyped]  # atheris ships no type hints

with _harness.instrumented():
    from crawlers.parsing.dates import parse_date
    from crawlers.parsing.encoding import detect_encoding
    from crawlers.parsing.jsonapi import as_count, epoch_to_utc, iso_to_utc, primary_language
    from crawlers.parsing.text import clean_text, normalise_whitespace

_harness.load_date_locales()

TIMEZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe")
CONTENT_TYPES = (
    None,
    "text/html; charset=utf-8",
    "text/html; charset=gb2312",
    "text/xml; charset=x-mac-bogus",
)
_UNWANTED = re.compile("[\x00-\x09\x0b-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")


def as_text(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def check_cleaned(cleaned: Any) -> None:
    if not isinstance(cleaned, str):
        raise _harness.FuzzCrash(f"cleaned text is not a str: {cleaned!r:.200}")
    if found := _UNWANTED.search(cleaned):
        raise _harness.FuzzCrash(f"cleaned text keeps {found.group()!r}: {cleaned!r:.200}")


def html(provider: Any) -> None:
    check_cleaned(clean_text(as_text(provider.ConsumeBytes(provider.remaining_bytes())), is_html=True))


def plain(provider: Any) -> None:
    check_cleaned(clean_text(as_text(provider.ConsumeBytes(provider.remaining_bytes())), is_html=False))


def whitespace(provider: Any) -> None:
    check_cleaned(normalise_whitespace(as_text(provider.ConsumeBytes(provider.remaining_bytes()))))


def date(provider: Any) -> None:
    tz = provider.PickValueInList(list(TIMEZONES))
    value = as_text(provider.ConsumeBytes(provider.remaining_bytes()))
    parsed = parse_date(value, now=_harness.NOW, tz=tz)
    if parsed is not None and parsed.utcoffset() is None:
        raise _harness.FuzzCrash(f"naive date from {value!r:.200}: {parsed!r}")


def encoding(provider: Any) -> None:
    content_type = provider.PickValueInList(list(CONTENT_TYPES))
    body = provider.ConsumeBytes(provider.remaining_bytes())
    name = detect_encoding(body, content_type)
    if name is not None:
        body.decode(name)  # the promise: the encoding returned decodes the whole body strictly


def json_values(provider: Any) -> None:
    value = as_text(provider.ConsumeBytes(provider.remaining_bytes()))
    count = as_count(value)
    if count is not None and not (type(count) is int and 0 <= count <= _harness.MAX_COUNT):
        raise _harness.FuzzCrash(f"count {count!r} from {value!r:.200}")
    for read in (iso_to_utc, epoch_to_utc):
        when = read(value)
        if when is not None and when.utcoffset() is None:
            raise _harness.FuzzCrash(f"naive time from {value!r:.200}: {when!r}")
    language = primary_language(value)
    if language is not None and not isinstance(language, str):
        raise _harness.FuzzCrash(f"language {language!r}")


TARGETS: tuple[Callable[[Any], None], ...] = (html, plain, whitespace, date, encoding, json_values)


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    provider.PickValueInList(list(TARGETS))(provider)


if __name__ == "__main__":
    _harness.fuzz(test_one_input)
