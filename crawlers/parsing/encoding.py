"""Pick the character encoding of an XML/HTML body the way browsers and feed readers do.

Order: the HTTP `Content-Type` charset, then a BOM, then the document's own declaration (`<?xml encoding>`
or `<meta charset>`), then UTF-8. Each candidate must decode the whole body strictly, else the next one is
tried: servers often send `charset=utf-8` for an ISO-8859-1 feed, and a wrong label must not turn into
U+FFFD soup. Labels are mapped the WHATWG way (w3lib): GB2312/GBK become GB18030, a superset, because real
"GB2312" pages contain characters outside GB2312; ISO-8859-1 becomes cp1252 for the same reason.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

__all__ = ["detect_encoding"]


def detect_encoding(body: bytes, content_type: str | None) -> str | None:
    """Return the first encoding that decodes `body` cleanly, or None when none does (then let the parser
    sniff). The result is a Python codec name."""
    bom_encoding, _ = read_bom(body)
    candidates = [
        http_content_type_encoding(content_type) if content_type else None,
        bom_encoding,
        html_body_declared_encoding(body),
        "utf-8",
    ]
    for candidate in candidates:
        if candidate is None:
            continue
        name = resolve_encoding(candidate) or candidate
        try:
            codecs.decode(body, name)
        except (LookupError, UnicodeDecodeError):
            continue
        return codecs.lookup(name).name
    return None
