"""Playwright driving Debian's Chromium (Playwright cannot download its own browser here): a browser for the
session, one page per test, screenshots under var/screenshots/. Skipped, saying why, without Chromium or
Playwright (failed instead under CI)."""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.worker import unavailable

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("HOCKEYOPS_SCREENSHOTS_DIR", ROOT / "var" / "screenshots"))
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    configured = os.environ.get("HOCKEYOPS_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), shutil.which("chromium"))


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        unavailable("no Chromium found (apt-get install chromium, or set HOCKEYOPS_CHROMIUM)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Shots:
    """Numbered full-page screenshots of one test: var/screenshots/<test>/<nn>-<step>.png."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture()
def shots(request) -> Shots:
    return Shots(SCREENSHOTS / request.node.name.replace("[", "-").replace("]", ""))


@pytest.fixture()
def new_page(browser) -> Iterator:
    """Pages in fresh contexts (separate logins), 1400 px wide; closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        for page in context.pages:  # the last state of every page, also when the test failed
            with contextlib.suppress(Exception):
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"last-{contexts.index(context)}.png"), full_page=True)
        context.close()
