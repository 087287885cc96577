"""Headless Chromium for browser tests: Debian's ``chromium`` driven by Playwright.

``make test`` installs the Debian package when ``/usr/bin/chromium`` is missing;
Playwright never downloads a browser of its own here. Outside CI a missing browser
skips the test with what to do; in CI (``CI`` set) it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ARTIFACTS", "CHROMIUM", "chromium"]

CHROMIUM = Path("/usr/bin/chromium")

#: Screenshots land here (gitignored) so a person can look at what the test saw.
ARTIFACTS = Path(__file__).parents[1] / "artifacts"

_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why} in CI; `make test` installs it (apt-get install chromium, "
                    "pip install -e '.[dev]')")
    pytest.skip(f"{why}: run `make test`, which installs it")


def chromium() -> Iterator[Any]:
    """A launched Chromium browser (Playwright's sync API), closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            yield browser
        finally:
            browser.close()
