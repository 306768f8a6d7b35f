"""The RSS/Atom parser over saved bodies: one case per directory in tests/data/pages/rss, exact fields."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from scrapy.http import Response

from crawlers.errors import FeedError
from crawlers.items import MentionItem
from crawlers.parsing.rss import parse_feed, read_feed

CASES_DIR = Path(__file__).resolve().parents[2] / "data" / "pages" / "rss"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


def load_case(case: Path) -> tuple[Response, Any]:
    meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
    response = Response(meta["url"], body=(case / "body").read_bytes(), headers=meta.get("headers"))
    return response, json.loads((case / "expected.json").read_text(encoding="utf-8"))


def to_jsonable(item: MentionItem) -> dict[str, Any]:
    """An item as expected.json spells it: ISO times, `raw` parsed (key order is not the point)."""
    data = attrs.asdict(item)
    data["published_at"] = item.published_at.isoformat() if item.published_at else None
    data["raw"] = json.loads(item.raw)
    return data


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_feed_parses_to_expected_items(case: Path) -> None:
    response, expected = load_case(case)
    if "error" in expected:
        with pytest.raises(FeedError):
            read_feed(response, source="test")
        return
    page = read_feed(response, source="test")
    assert page.title == expected["title"]
    assert page.next_url == expected["next_url"]
    assert [to_jsonable(item) for item in page.items] == expected["items"]


def test_parse_feed_yields_the_same_items_as_read_feed() -> None:
    response, _ = load_case(CASES_DIR / "news-rss20")
    assert list(parse_feed(response, source="s")) == list(read_feed(response, source="s").items)


def test_published_times_are_utc_aware() -> None:
    response, _ = load_case(CASES_DIR / "blog-atom")
    times = [item.published_at for item in read_feed(response, source="s").items]
    assert times and all(t is not None and t.utcoffset() == timedelta(0) for t in times)


def test_gbk_only_characters_survive_a_gb2312_declaration() -> None:
    response, _ = load_case(CASES_DIR / "gb2312-rss")
    items = read_feed(response, source="s").items
    assert items[0].author == "王喆"
    assert "朱镕基" in items[1].text


def test_latin1_feed_mislabelled_as_utf8_decodes_by_its_declaration() -> None:
    response, _ = load_case(CASES_DIR / "latin1-rss")
    assert response.headers["Content-Type"] == b"application/rss+xml; charset=UTF-8"
    items = read_feed(response, source="s").items
    assert items[0].text == "O cliente João diz: «A encomenda não chegou e ninguém responde.»"
    assert "\ufffd" not in "".join(item.text for item in items)


def test_guid_is_not_rewritten_against_the_feed_url() -> None:
    body = (
        b'<rss version="2.0"><channel><item><title>a</title><guid>42</guid><link>/p/42</link></item>'
        b"</channel></rss>"
    )
    first = read_feed(Response("https://a.example/feed", body=body), source="s").items[0]
    moved = read_feed(Response("https://b.example/rss", body=body), source="s").items[0]
    assert first.external_id == moved.external_id == "42"
    assert (first.url, moved.url) == ("https://a.example/p/42", "https://b.example/p/42")


def test_body_that_names_a_local_file_is_not_read_as_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(
        '<rss version="2.0"><channel><item><guid>x</guid><title>leak</title></item></channel></rss>'
    )
    with pytest.raises(FeedError):
        read_feed(Response("https://a.example/feed", body=str(secret).encode()), source="s")


@pytest.mark.parametrize(
    ("author", "name"),
    [
        ("press@acme.example (Acme Press Office)", "Acme Press Office"),
        ("Sam Lee (sam@gadget-blog.example)", "Sam Lee"),
        ("Jane Roe &lt;jane@roe.example&gt;", "Jane Roe"),
        ("editor@retail-daily.example", None),
        ("Acme (UK)", "Acme (UK)"),
        ("王喆", "王喆"),
    ],
)
def test_author_keeps_the_name_and_drops_the_address(author: str, name: str | None) -> None:
    body = (
        f'<rss version="2.0"><channel><item><guid>1</guid><title>t</title><author>{author}</author>'
        "</item></channel></rss>"
    ).encode()
    item = read_feed(Response("https://a.example/feed", body=body), source="s").items[0]
    assert item.author == name


def test_a_date_feedparser_cannot_read_is_read_by_the_date_parser() -> None:
    # A Portuguese RFC 822 date: feedparser leaves published_parsed empty, the item must keep its date.
    body = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loja</title>
      <item><guid>a</guid><title>Atraso</title><description>A encomenda chegou tarde.</description>
        <pubDate>Seg, 24 Set 2018 19:42:40 -0300</pubDate></item>
      <item><guid>b</guid><title>Sem data</title><description>Nenhuma data aqui.</description></item>
    </channel></rss>"""
    response = Response("https://loja.example/feed.xml", body=body)

    dated, undated = read_feed(response, source="s").items

    assert dated.published_at is not None
    assert dated.published_at.isoformat() == "2018-09-24T22:42:40+00:00"
    assert undated.published_at is None
