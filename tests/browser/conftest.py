"""One Debian chromium for every browser test module: Playwright's sync API allows one instance per thread."""

from __future__ import annotations

import pytest

from tests.browser.browser_util import launch


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
