"""Hostile input for the parser and escaping properties: the strings customers and broken servers send.

`HOSTILE_STRINGS` are the named cases from issue 10 (Slack control syntax, script injection, CSV formulas,
zero-width and RTL characters, NUL, lone surrogates, emoji-only posts); `hostile_text()` mixes them with
arbitrary Unicode, and `json_values()` builds any JSON value (deep, huge numbers, wrong types), so a parser
sees both the expected shape with poisoned leaves and shapes it never expected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "EDGE_VALUES",
    "HOSTILE_STRINGS",
    "hostile_text",
    "json_leaves",
    "json_values",
    "mutated_json",
    "storable_problems",
]

HOSTILE_STRINGS: tuple[str, ...] = (
    "<!channel> <!here> <!everyone>",
    "<@U0123ABCD> <#C0123ABCD|general> <!subteam^S123|@cx>",
    "<https://evil.example/login|Your bank> <javascript:alert(1)|click>",
    "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
    '"><svg/onload=alert(1)>',
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=cmd|' /C calc'!A0",
    '\r=HYPERLINK("https://evil.example")',
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width characters and a BOM
    "\u202egnp.exe\u202c \u2067مرحبا\u2069 \u200fעברית",  # RTL override, isolates, marks
    "😡😡😡🤬👎🏽👨‍👩‍👧‍👦🇨🇳",  # emoji only: skin tone, ZWJ family, flag
    "\x00\x01\x1b[31mred\x7f",  # NUL, control and ANSI escape
    "\ud800 lone \udfff surrogates",
    "'; DROP TABLE mentions; --",
    "&amp;lt;script&amp;gt; &#x3C;b&#x3E; &nbsp;",
    "质量太差了，客服也不理人！！",
    "9" * 400,
    "1e999",
    "-1e999",
    "NaN",
    "",
    " \n\t ",
)


# Values that are valid JSON but break naive conversions: counts past int64 or not finite, Unicode digits
# that str.isdigit() accepts and int() refuses, and ISO times at the edge of datetime's range.
EDGE_VALUES: tuple[Any, ...] = (
    float("inf"),
    float("-inf"),
    float("nan"),
    2**63,
    -(2**63) - 1,
    10**400,
    1e308,
    "²³",
    "١٢",
    "99999999999999999999999",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "+275760-09-13T00:00:00Z",
)


def hostile_text(*, max_size: int = 200) -> st.SearchStrategy[str]:
    """Named hostile strings, arbitrary Unicode (surrogates included) and mixtures of both."""
    any_text = st.text(st.characters(codec=None, min_codepoint=0), max_size=max_size)
    named = st.sampled_from(HOSTILE_STRINGS)
    return st.one_of(named, any_text, st.lists(st.one_of(named, any_text), max_size=4).map("".join))


def json_leaves() -> st.SearchStrategy[Any]:
    """One JSON scalar of any type, edge values first in line."""
    return st.one_of(
        st.sampled_from(EDGE_VALUES),
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        hostile_text(max_size=50),
    )


def json_values(*, max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON document json.loads could return, including infinities and very large integers."""
    return st.recursive(
        json_leaves(),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(hostile_text(max_size=10), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _leaf_paths(child, (*path, key))] or [path]
    if isinstance(value, list):
        return [p for i, child in enumerate(value) for p in _leaf_paths(child, (*path, i))] or [path]
    return [path]


def _replace(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replace(document[head], rest, new)}
    copy = list(document)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated_json(draw: Callable[..., Any], document: Any) -> bytes:
    """A real recorded document with up to 8 of its leaves (or whole subtrees) replaced by hostile values.

    Keeping the real shape around the poison gets past the parser's first checks, which random JSON
    never does.
    """
    paths = _leaf_paths(document)
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        path = draw(st.sampled_from(paths))
        if draw(st.integers(min_value=0, max_value=3)):  # mostly one leaf, with any scalar
            document = _replace(document, path, draw(json_leaves()))
        else:  # else a leaf or one of its parents, with any JSON
            cut = draw(st.integers(min_value=0, max_value=len(path)))
            document = _replace(document, path[:cut], draw(json_values(max_leaves=6)))
        paths = _leaf_paths(document)
    return json.dumps(document, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def storable_problems(values: dict[str, Any]) -> list[str]:
    """Field values a database would refuse: NUL (PostgreSQL text) and lone surrogates (any UTF-8 codec)."""
    problems = []
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            problems.append(f"{name} contains NUL")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{name} is not encodable as UTF-8 (lone surrogate)")
    return problems
