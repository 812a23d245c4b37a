"""Open a local page in Debian's headless Chromium (through Playwright, no browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def chromium() -> str:
    """Chromium's path; skips the test where it is missing, except in CI (which installs it)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed here")
    return found


def open_page(
    page_file: Path, shot: Path, look: Callable[[Any], dict[str, Any]], size: tuple[int, int]
) -> tuple[dict[str, Any], list[tuple[str, str]], list[str]]:
    """Load ``page_file``, let ``look(page)`` measure it, save a screenshot to ``shot``.

    Returns what ``look`` found, the console messages and every request the page made."""
    from playwright.sync_api import sync_playwright

    console: list[tuple[str, str]] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        found = look(page)
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return found, console, requests
