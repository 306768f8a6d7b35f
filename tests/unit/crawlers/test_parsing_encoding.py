from __future__ import annotations

import pytest

from crawlers.parsing.encoding import detect_encoding

GB_FEED = '<?xml version="1.0" encoding="gb2312"?><rss><title>朱镕基 服务</title></rss>'.encode("gb18030")
LATIN_FEED = '<?xml version="1.0" encoding="ISO-8859-1"?><rss>Notícias</rss>'.encode("latin-1")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (GB_FEED, "text/xml", "gb18030"),  # declaration, GB2312 widened to GB18030
        (GB_FEED, None, "gb18030"),
        (GB_FEED, "application/xml; charset=utf-8", "gb18030"),  # wrong header: fails strictly, skipped
        (LATIN_FEED, "application/rss+xml; charset=UTF-8", "cp1252"),
        ("<rss>ü</rss>".encode(), None, "utf-8"),  # no declaration: UTF-8
        ("<rss>ü</rss>".encode("utf-16-le"), None, None),  # no BOM, no declaration, not UTF-8: undecided
        (b"\xff\xfe" + "<rss>ü</rss>".encode("utf-16-le"), None, "utf-16-le"),  # BOM
        ("<rss>ü</rss>".encode("cp1252"), "text/xml; charset=windows-1252", "cp1252"),
        (b"\x81\x8d\xff", None, None),  # nothing decodes: let the parser sniff
    ],
)
def test_first_encoding_that_decodes_wins(
    body: bytes, content_type: str | None, expected: str | None
) -> None:
    assert detect_encoding(body, content_type) == expected
