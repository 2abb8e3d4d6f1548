"""A real browser for the account page: Debian's chromium and chromium-driver, headless,
driven by selenium. Screenshots go to target/e2e-screenshots/ (NAME.png) so a person can look
at what the tests saw."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tmserver import REPO

SCREENSHOTS = REPO / "target" / "e2e-screenshots"


def chromium(lang: str = "en-US"):
    """A headless Chromium with a clean profile, speaking `lang` (Accept-Language)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -r tests/requirements.txt", pytrace=False)
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("chromium and chromium-driver are not installed (scripts/test installs them)",
                    pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1600", "--no-first-run", "--disable-background-networking",
                f"--lang={lang}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    d = webdriver.Chrome(service=Service(driver), options=options)
    d.implicitly_wait(5)
    d.set_page_load_timeout(20)
    return d


def shot(driver, name: str) -> Path:
    """Saves the whole page as target/e2e-screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1100, max(800, min(int(height) + 120, 4000)))
    driver.save_screenshot(str(path))
    return path
