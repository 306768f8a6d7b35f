"""Profile parser over saved pages: GBK (header), Big5 (meta only, XPath rules), GB18030 undeclared."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from scrapy.http import Response

from crawlers.parsing.profile import ProfileRules, decode_page, read_profile
from tests.support.pagecases import cases, load_case, to_jsonable

SHARED_CHINESE = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "chinese"


@pytest.mark.parametrize("case", cases("profile"), ids=lambda p: p.name)
def test_profile_page_output_matches_expected(case: Path) -> None:
    response, params, now, expected = load_case(case)

    page = read_profile(response, source="test", rules=ProfileRules.model_validate(params), now=now)

    assert {
        "next_url": page.next_url,
        "encoding": page.encoding,
        "items": [to_jsonable(item) for item in page.items],
    } == expected


def test_gbk_forum_fields_are_exact() -> None:
    response, params, now, _ = load_case(Path(cases("profile")[2]))

    page = read_profile(response, source="acme", rules=ProfileRules.model_validate(params), now=now)

    first, second, empty = page.items
    assert first.text == "快递太慢了，等了５天还没到！\n\n客服电话一直占线。"  # full-width digit kept
    assert (first.author, first.external_id) == ("小王", "https://bbs.acme.example/t/77?pid=9001")
    assert first.published_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 3天前 at 10:00 Beijing
    assert first.rating == 0.25  # "评分：2分" on 1..5
    assert second.text == "我的也是，镕铸的外壳 有裂纹。\n要求退货。"  # 镕 is GBK, not GB2312
    assert second.published_at == datetime(2026, 11, 22, 4, 30, tzinfo=UTC)  # 昨天 12:30 Beijing
    assert (empty.external_id, empty.text) == ("", "")  # malformed: left for the validator to count
    assert page.next_url == "https://bbs.acme.example/t/77?page=2"


def test_configured_encoding_overrides_a_lying_header() -> None:
    body = "<div class='p'>质量很好</div>".encode("gb18030")
    response = Response("https://x.example/", body=body, headers={"Content-Type": "text/html; charset=big5"})
    rules = ProfileRules(item="div.p", text="::text", encoding="gbk")

    assert [i.text for i in read_profile(response, source="t", rules=rules).items] == ["质量很好"]


def test_header_that_cannot_decode_the_body_falls_back_to_meta() -> None:
    body = '<meta charset="gbk"><p>好评</p>'.encode("gbk")
    response = Response("https://x.example/", body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    assert decode_page(response).css("p::text").get() == "好评"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"item": "div[", "text": "p"}, "item: invalid css selector"),
        ({"item": "//div[", "text": "p", "selector_type": "xpath"}, "item: invalid xpath selector"),
        ({"item": "div", "text": "p", "timezone": "Mars/Base"}, "unknown timezone"),
        ({"item": "div", "text": "p", "encoding": "klingon"}, "unknown encoding"),
        ({"item": "div", "text": "p", "best_rating": 1}, "best_rating must be greater"),
        ({"item": "div", "text": "p", "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_rules_are_config_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ProfileRules.model_validate(params)


@pytest.mark.skipif(not SHARED_CHINESE.is_dir(), reason="../shared/fixtures/chinese is not present")
@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("qq_com_homepage_gb2312.html", "腾讯"),
        ("gb18030_html_no_charset_declared.html", "中国"),
        ("gb2312_html_fragment_mozilla171813.html", "网费天天最低"),
        ("xiachufang_recipe_100403615_utf8.html", "下厨房"),
    ],
)
def test_real_chinese_pages_decode_and_parse(name: str, marker: str) -> None:
    response = Response("https://recorded.example/", body=(SHARED_CHINESE / name).read_bytes())
    rules = ProfileRules(item="a", text="::text", link="::attr(href)")

    page = read_profile(response, source="t", rules=rules)

    assert marker in decode_page(response).text
    assert "\ufffd" not in "".join(item.text for item in page.items)


def test_profile_and_reviews_kinds_validate_their_params() -> None:
    from crawlers.registry import get_kind

    rules = get_kind("profile").validate_params({"item": "li", "text": "p", "newest_first": True})
    assert (rules.model_dump()["timezone"], rules.model_dump()["newest_first"]) == ("Asia/Shanghai", True)
    assert get_kind("reviews").validate_params({"next_page": "a.more"}).model_dump()["timezone"] == "UTC"
    with pytest.raises(ValidationError, match="unknown timezone"):
        get_kind("reviews").validate_params({"timezone": "Nowhere/Land"})
    with pytest.raises(ValidationError, match="text"):
        get_kind("profile").validate_params({"item": "li"})


def test_link_rules_may_select_the_anchor_itself() -> None:
    body = b'<div class="p"><a class="l" href="/t/1">#1</a><p>ok</p></div>'
    body += b'<a class="next" href="?page=2">next</a>'
    rules = ProfileRules(item="div.p", text="p", link="a.l", next_page="a.next")

    page = read_profile(Response("https://bbs.example/t/", body=body), source="t", rules=rules)

    assert [(i.external_id, i.url) for i in page.items] == [("https://bbs.example/t/1",) * 2]
    assert page.next_url == "https://bbs.example/t/?page=2"
