"""The review UI in a real browser: Debian's Chromium (Playwright) against uvicorn on loopback and a real
SQLite database seeded through the storage functions.

Screenshots go to $SCREENSHOT_DIR when set (the closing note's docs/screenshots/), else to tmp_path.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

import storage
from storage.enums import CaseStatus
from storage.models import Case
from tests.support.web_seed import PASSWORD, Seeded, seed_queue
from vocwatch.web import WebConfig, create_app


@dataclass(frozen=True)
class LiveUI:
    url: str
    seeded: Seeded
    database_url: str
    shots: Path

    def case_status(self, case_id: int) -> CaseStatus:
        engine = storage.make_engine(self.database_url)
        try:
            with storage.make_session_factory(engine).begin() as session:
                case = session.get(Case, case_id)
                assert case is not None
                return case.status
        finally:
            engine.dispose()


@pytest.fixture
def live_ui(migrated_sqlite_url: str, tmp_path: Path) -> Iterator[LiveUI]:
    """The app served by uvicorn in a thread on 127.0.0.1 and a free port, stopped after the test."""
    engine = storage.make_engine(migrated_sqlite_url)
    sessions = storage.make_session_factory(engine)
    seeded = seed_queue(sessions)
    app = create_app(WebConfig(secret_key="browser-test-" + "k" * 32, page_size=10), sessions)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield LiveUI(f"http://127.0.0.1:{port}", seeded, migrated_sqlite_url, shots)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()


def _log_in(page: Page, ui: LiveUI, username: str) -> None:
    page.goto(f"{ui.url}/queue")
    expect(page).to_have_url(f"{ui.url}/login?next=/queue")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{ui.url}/queue")


def test_agent_filters_opens_corrects_and_resolves_a_case(page: Page, live_ui: LiveUI) -> None:
    ui = live_ui
    _log_in(page, ui, "agent")
    page.screenshot(path=ui.shots / "queue.png", full_page=True)
    expect(page.locator("table.queue tbody tr")).to_have_count(4)

    page.get_by_label("Touchpoint").select_option("delivery")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{ui.url}/queue?status=active&severity=&touchpoint=delivery&topic=&source=&lang=&assignee=&since=&until="
    )
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Parcel arrived two weeks late")

    case_id = ui.seeded.delivery_case
    page.get_by_role("link", name=f"#{case_id}", exact=True).click()
    expect(page).to_have_url(f"{ui.url}/cases/{case_id}")
    expect(page.locator("blockquote.full-text")).to_contain_text("Parcel arrived two weeks late")

    page.locator("#correct-sentiment select").select_option("neutral")
    page.get_by_role("button", name="Save sentiment").click()
    expect(page.locator(".notice")).to_have_text("Done: correct.")
    expect(page.locator(".corrected")).to_contain_text("neutral")

    page.locator("#resolve-form select").select_option("fixed")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("h1 .status")).to_have_text("resolved")
    expect(page.locator("ol.history")).to_contain_text("resolved (fixed)")
    page.screenshot(path=ui.shots / "case-resolved.png", full_page=True)

    page.get_by_role("link", name="Queue", exact=True).click()
    expect(page.locator("table.queue tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name=f"#{case_id}", exact=True)).to_have_count(0)
    assert ui.case_status(case_id) == CaseStatus.RESOLVED

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=ui.shots / "dashboard.png", full_page=True)


def test_viewer_cannot_resolve(page: Page, live_ui: LiveUI) -> None:
    ui = live_ui
    _log_in(page, ui, "viewer")
    case_id = ui.seeded.billing_case
    page.goto(f"{ui.url}/cases/{case_id}")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    expect(page.locator(".readonly")).to_be_visible()
    # Even a hand-made request with the viewer's valid session and CSRF token is refused by the server.
    token = page.locator('.logout input[name="csrf_token"]').get_attribute("value")
    response = page.request.post(
        f"{ui.url}/cases/{case_id}/actions",
        form={"action": "resolve", "reason": "fixed", "csrf_token": token or ""},
        max_redirects=0,
    )
    assert response.status == 403
    assert ui.case_status(case_id) == CaseStatus.OPEN


def test_hostile_post_renders_as_text(page: Page, live_ui: LiveUI) -> None:
    ui = live_ui
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _log_in(page, ui, "agent")
    page.goto(f"{ui.url}/cases/{ui.seeded.hostile_case}")
    text = page.locator("blockquote.full-text")
    expect(text).to_contain_text('<script>document.title="pwned"</script>')
    expect(text).to_contain_text("&lt;b&gt;not bold&lt;/b&gt;")
    assert page.title() != "pwned"
    assert page.locator("blockquote.full-text script, blockquote.full-text img, b").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0
    expect(page.locator(".inert-url")).to_have_text("javascript:alert(3)")
    page.screenshot(path=ui.shots / "hostile-case.png", full_page=True)
    assert dialogs == []


def test_post_without_csrf_token_is_refused(page: Page, live_ui: LiveUI) -> None:
    ui = live_ui
    _log_in(page, ui, "agent")
    case_id = ui.seeded.delivery_case
    response = page.request.post(
        f"{ui.url}/cases/{case_id}/actions", form={"action": "resolve", "reason": "fixed"}, max_redirects=0
    )
    assert response.status == 403
    assert ui.case_status(case_id) == CaseStatus.OPEN
