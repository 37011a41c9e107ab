"""Headless Chromium for report pages: the browser tests and the README's screenshots (docs/screenshots.py).

Drives the system's Chromium and chromedriver (Debian: ``apt-get install chromium chromium-driver``) through
Selenium (in the ``test`` extra); never a browser of its own download. Each browser gets a fresh profile and
no network services.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from ..errors import ConfigError

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
CHROMIUM = ("chromium", "chromium-browser", "/usr/bin/chromium")
CHROMEDRIVER = ("chromedriver", "/usr/bin/chromedriver")


def find(names: tuple[str, ...]) -> Optional[str]:
    for name in names:
        found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def missing() -> str:
    """Why no browser can be started here ('' when one can)."""
    why = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        why.append("selenium is not installed (pip install -e '.[test]')")
    if not find(CHROMIUM):
        why.append("no chromium on PATH")
    if not find(CHROMEDRIVER):
        why.append("no chromedriver on PATH")
    return "; ".join(why)


@contextmanager
def chromium(width: int = 1200, height: int = 900) -> Iterator:
    """A Selenium driver of headless Chromium with a fresh profile, its console kept for `get_log('browser')`."""
    why = missing()
    if why:
        raise ConfigError(f"cannot start Chromium: {why} (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="genlab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = find(CHROMIUM)
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(find(CHROMEDRIVER)), options=options)
    try:
        driver.set_window_size(width, height)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver, page: Path, png: Path, width: int = 1200, height: Optional[int] = None,
               colors: int = 0) -> Path:
    """A screenshot of `page`: `height` pixels of it (default: the whole page), optionally reduced to a
    palette of `colors` colours (a small PNG for documentation)."""
    driver.set_window_size(width, height or 900)
    driver.get(Path(page).resolve().as_uri())
    if height is None:
        driver.set_window_size(width, driver.execute_script("return document.documentElement.scrollHeight"))
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(png))
    if colors:
        from PIL import Image

        with Image.open(png) as im:
            small = im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        small.save(png, optimize=True)
    return png
