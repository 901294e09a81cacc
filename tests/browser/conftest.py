"""Browser tests: Playwright driving the system's Chromium (no browser download), headless."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_page(tmp_path, monkeypatch, **context_options):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # body are still synchronous and safe here. Set for this test only: left in os.environ it leaks
    # into later tests of the same worker (`check --deploy` in a subprocess fails on it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, **context_options)
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            browser.close()


@pytest.fixture
def browser_page(tmp_path, monkeypatch):
    yield from _chromium_page(tmp_path, monkeypatch)


@pytest.fixture
def axe_page(tmp_path, monkeypatch):
    """A page that may inject axe-core (tests/browser/accessibility.py): the site's CSP allows only its
    own scripts, so this page's context bypasses it. Use `browser_page` for anything CSP-related."""
    yield from _chromium_page(tmp_path, monkeypatch, bypass_csp=True)
