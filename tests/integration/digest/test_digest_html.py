"""The HTML report opened in real Chromium: what a person sees on a laptop, a phone and on paper.

The report is written by `write_files` like the CLI does, opened from disk (it must need nothing from
the network) and screenshotted into the test's tmp dir (`digest-desktop.png`, `digest-phone.png`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from playwright.sync_api import Browser
from sqlalchemy.orm import Session, sessionmaker

from notifier.digest import IsoWeek, WeeklyDigest, render_chart
from tests.support.digest_dataset import HOSTILE, SETTINGS
from vocwatch.stages.digest import compose_digest, write_files


def test_html_report_is_self_contained_escaped_and_readable_on_desktop_and_phone(
    browser: Browser, digest: WeeklyDigest, tmp_path: Path
) -> None:
    files = write_files(digest, render_chart(digest), tmp_path)
    requests: list[str] = []
    for name, viewport in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(files.html.as_uri())
            text = page.inner_text("body")
            assert "Weekly customer voice · 2026-W47" in text
            assert HOSTILE in text  # shown literally, as text
            assert page.evaluate("window.pwned") is None  # the quote's <script> never ran
            assert page.evaluate("document.querySelector('img.chart').naturalWidth") > 500
            row = page.inner_text("#touchpoints tbody tr:has(td:text-is('delivery'))")
            assert "60%" in row and "31–83%" in row and "+10.0 pts" in row and "+22.5 pts" in row
            # The page itself never scrolls sideways; wide tables scroll inside their wrapper.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            page.screenshot(path=str(tmp_path / f"digest-{name}.png"), full_page=True)
        finally:
            context.close()
    assert all(url.startswith("file://") for url in requests)
    assert (tmp_path / "digest-phone.png").stat().st_size > 10_000

    with files.csv.open(encoding="utf-8", newline="") as handle:
        rows = {row["touchpoint"]: row for row in csv.DictReader(handle)}
    assert rows["delivery"]["share_negative"] == "0.6"
    assert rows["delivery"]["share_negative_4w_avg"] == "0.375"
    assert rows["checkout"]["share_negative"] == ""
    assert rows["All touchpoints"]["mentions"] == "14"


def test_an_empty_week_renders_a_readable_page(
    browser: Browser, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    empty, chart = compose_digest(sessions, IsoWeek(2027, 10), SETTINGS)
    files = write_files(empty, chart, tmp_path)
    page = browser.new_page()
    try:
        page.goto(files.html.as_uri())
        assert page.is_visible("#empty-week")
        assert "No negative topics this week." in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "digest-empty.png"), full_page=True)
    finally:
        page.close()
