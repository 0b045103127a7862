"""Debian's Chromium driven by Playwright, for the console's browser tests.

Never `playwright install`: the browser is the system's (`/usr/bin/chromium`, installed by
scripts/ensure-service-binaries.sh), launched with `--no-sandbox` (the tests may run as root).
Screenshots go to `$PU_TEST_ARTIFACTS/console` (default `tests/artifacts/console`, not in git);
the README's pictures in docs/images/ are rewritten only when `PU_UPDATE_DOCS_IMAGES=1`.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def artifacts_directory() -> Path:
    root = os.environ.get("PU_TEST_ARTIFACTS")
    base = Path(root) if root else Path(__file__).resolve().parents[1] / "artifacts"
    directory = base / "console"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def docs_image(page: Page, name: str) -> Path:
    """The viewport as `name`.png: in docs/images/ when PU_UPDATE_DOCS_IMAGES=1 (to refresh the
    README's pictures), in the artifacts directory otherwise (a test run leaves git clean)."""
    if os.environ.get("PU_UPDATE_DOCS_IMAGES") == "1":
        path = DOCS_IMAGES / f"{name}.png"
    else:
        path = artifacts_directory() / f"docs-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (
        "the browser tests need Debian's chromium: scripts/ensure-service-binaries.sh installs "
        "it (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    """A page, and what its console said: errors include Content-Security-Policy refusals and
    failed loads, so a page that works only half shows here."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        path = artifacts_directory() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def watched_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"{message.text} ({message.location.get('url', '?')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    try:
        yield watched
    finally:
        context.close()
