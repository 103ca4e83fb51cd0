"""Regenerates docs/report.png, the README's picture of `value-diag report`, in a real browser.

The bundled sample runs (copied to a temporary folder, so their ages are seconds, not the
age of the checkout) are written as a report under the default rules by the console
script, and the page is opened in Debian's Chromium (apt-get install chromium
chromium-driver) through Selenium, at WINDOW, with nothing to fetch: the screenshot is
what a reader sees first, the table worst first and the first charts.

Run from anywhere, with value-diag and its test extra installed::

    python docs/make_report_picture.py            # rewrites docs/report.png
    python docs/make_report_picture.py --out DIR  # writes DIR/report.png instead

tests/test_report_browser.py opens its pages with ``chromium()`` as well.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

DOCS = Path(__file__).resolve().parent
SAMPLES = DOCS.parent / "sample_logs"
PICTURE: Final = "report.png"
WINDOW: Final = (1280, 1000)
"""The browser window (CSS pixels at a scale of 1): the picture's size."""
FLAGS: Final = (
    "--headless",
    "--no-sandbox",  # as root, in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
"""How Chromium is started: headless, and asking nothing of any network."""
NOT_RUNS: Final = shutil.ignore_patterns("*.py", "*.md")
"""What sample_logs/ holds beside its runs."""
READY_S: Final = 30.0
"""Seconds the page may take to draw its charts."""


def chromium(user_data: Path, chromium_path: str, driver_path: str) -> WebDriver:
    """A headless Chromium (the system's, through its chromedriver: Selenium downloads
    nothing), with a fresh profile in ``user_data``, its console and network logged."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path
    for flag in (*FLAGS, f"--user-data-dir={user_data}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    # The page's viewport, not the window around it, is WINDOW: so is every screenshot.
    width, height = WINDOW
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return browser


def wait_ready(browser: WebDriver, timeout: float = READY_S) -> None:
    """Until the page's script has drawn its charts (window.valueDiag.ready)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script("return !!(window.valueDiag && window.valueDiag.ready)")
    )


def console_script() -> list[str]:
    """The installed ``value-diag``, or ``python -m value_diag`` when only the package is there."""
    found = shutil.which("value-diag", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "value_diag"]


def write_picture(out: Path) -> Path:
    """Writes the picture into folder ``out``; returns its path."""
    chromium_path, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium_path is None or driver_path is None:
        raise RuntimeError(
            "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        )
    with tempfile.TemporaryDirectory(prefix="value-diag-report-") as tmp:
        runs = Path(tmp) / "runs"
        shutil.copytree(SAMPLES, runs, copy_function=shutil.copy, ignore=NOT_RUNS)  # ages: seconds
        page = Path(tmp) / "report.html"
        args = ["report", str(runs), "-o", str(page), "--preset", "default", "--no-config"]
        subprocess.run([*console_script(), *args], check=True, capture_output=True)
        browser = chromium(Path(tmp) / "profile", chromium_path, driver_path)
        try:
            browser.get(page.as_uri())
            wait_ready(browser)
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(browser, READY_S).until(  # the charts on screen, drawn as they show
                lambda d: d.execute_script("return window.valueDiag.charts.length >= 2")
            )
            time.sleep(0.3)  # the last frame painted
            target = out / PICTURE
            if not browser.save_screenshot(str(target)):
                raise RuntimeError(f"cannot write {target}")
        finally:
            browser.quit()
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write report.png in")
    args = parser.parse_args(argv)
    print(write_picture(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
