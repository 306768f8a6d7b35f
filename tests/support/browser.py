"""Browser fixtures: one real Chromium (Debian's /usr/bin/chromium) driven by Playwright per session.

Tests that render HTML (review UI, digest) check what a person actually sees, so they use a real browser
rather than parsing markup. Starting Chromium costs about a second, hence one browser per test module and
a fresh, isolated context (cookies, storage) per test. Not per session: Playwright's sync API keeps an
asyncio loop running in the main thread while it is open, and later tests that call `asyncio.run` (the
spider tests) would fail.

Fixtures:
- `browser`          module, a launched headless Chromium; skipped with the reason when Chromium is
                     missing, except under CI=true, where that fails (CI must install it: see .ci/run).
- `browser_context`  a new context for this test (own cookies), closed afterwards.
- `page`             a new page in `browser_context`.

Playwright never downloads its own browsers here (`playwright install` is not used): the executable is
Debian's package, which `.ci/run` installs when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM_PATH = Path("/usr/bin/chromium")


def _require_chromium() -> None:
    """Skip (or fail under CI=true) when the Chromium executable is absent."""
    if CHROMIUM_PATH.exists():
        return
    reason = f"Chromium not found at {CHROMIUM_PATH} (install it: apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module, closed (with Playwright's loop) at the module's end."""
    _require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH),
            headless=True,
            # The sandbox needs user namespaces, which containers running as root usually lack.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test, so cookies and sessions never leak between tests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    """A new page in this test's context."""
    return browser_context.new_page()
