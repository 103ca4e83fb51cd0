"""The HTML report as people see it: opened in Debian's Chromium, driven by Selenium.

The page is written by the console script, then opened from a file:// URL in a headless
Chromium with no network of its own to use: what it draws is read back from the charts'
state (window.valueDiag) and their pixels, the mouse hovers and drags over them, and a
screenshot is taken. .ci/run installs chromium and chromium-driver; elsewhere the tests
skip without them.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from conftest import DEADLINE, ROOT, SAMPLES, run_cli
from hostile import BREAKOUT
from needs import in_ci, need
from reports import Page, decode_values, flat_run

from docs import make_report_picture
from docs.make_report_picture import WINDOW, chromium, wait_ready

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

PICTURE: Final = ROOT / "docs" / make_report_picture.PICTURE
WARNING_RGB: Final = (176, 128, 0)
"""report.js's LEVEL.warning (#b08000): the colour of a warning threshold's line."""

Json = dict[str, Any]


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if in_ci():
            pytest.fail(f"{name} must be installed in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed (apt-get install chromium chromium-driver)")
    return found


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    need("selenium.webdriver")
    profile = tmp_path_factory.mktemp("chromium")
    driver = chromium(profile, _binary("chromium"), _binary("chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def rising(path: Path) -> Path:
    """40 updates under the default rules: V-Corr falls from 0.9, Bellman climbs through
    both its thresholds (20 and 50), so their lines fall inside the chart."""
    values = [
        {"v_return_correlation": 0.9 - 0.015 * i, "bellman_error": 5.0 + 1.5 * i} for i in range(40)
    ]
    return flat_run(path, values)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Json]:
    """A page of four runs: a rising Bellman, a healthy run, the collapsing sample (NaN and
    Inf at its end) and a run whose name would end the page's script if it were not data."""
    folder = tmp_path_factory.mktemp("runs")
    rising(folder / "rising.jsonl")
    flat_run(folder / "steady.jsonl", [{} for _ in range(25)])
    shutil.copy(SAMPLES / "collapse.jsonl", folder / "collapse.jsonl")
    flat_run(folder / f"{BREAKOUT.replace('/', '%')}.jsonl", [{} for _ in range(5)])
    out = folder / "report.html"
    proc = run_cli(["report", str(folder), "-o", str(out), "--no-config"])
    assert proc.returncode == 0, proc.stderr
    return out, Page(out.read_text("utf-8")).data()


def opened(browser: WebDriver, page: Path) -> WebDriver:
    browser.get(page.as_uri())
    wait_ready(browser, DEADLINE)
    return browser


def charts(browser: WebDriver, kind: str) -> list[Json]:
    """Each chart of a kind ("sweep": every run; "run": one run's) as it stands."""
    out: list[Json] = browser.execute_script(
        """return window.valueDiag.charts.filter(c => c.kind === arguments[0]).map(c => ({
            key: c.key, run: c.run,
            series: c.u.series.slice(1).map(s => s.label),
            points: c.u.data.slice(1).map(ys => ys.filter(v => v != null).length),
            xs: c.u.data[0].length,
            min: c.u.scales.x.min, max: c.u.scales.x.max,
        }))""",
        kind,
    )
    return out


def draw(browser: WebDriver, where: str) -> None:
    """Scrolls to each chart below ``where`` in turn, as a reader would, until it is drawn
    (a chart is drawn when it comes near the screen)."""
    for figure in browser.find_elements("css selector", f"{where} figure.chart"):
        drawn(browser, figure)


def drawn(browser: WebDriver, figure: WebElement) -> None:
    """Scrolls to a chart and waits until it is drawn."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    WebDriverWait(browser, DEADLINE).until(
        lambda d: "pending" not in str(figure.get_attribute("class"))
    )


def open_run(browser: WebDriver, run: int) -> list[Json]:
    """Opens a run's section (its <details>) and draws its charts."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element("css selector", f"#run-{run} summary").click()
    WebDriverWait(browser, DEADLINE).until(  # the section's charts are placed on opening
        lambda d: d.find_elements("css selector", f"#run-{run} figure.chart")
    )
    draw(browser, f"#run-{run}")
    return [c for c in charts(browser, "run") if c["run"] == run]


def logs(browser: WebDriver, kind: str) -> list[Json]:
    """The browser's log entries of a kind since the last call ("browser": its console)."""
    entries: list[Json] = browser.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def finite(data: Json, run: int, key: str) -> int:
    """How many numbers a run's series of ``key`` holds in the page's data."""
    enc = data["runs"][run]["y"].get(key)
    return 0 if enc is None else sum(v is not None for v in decode_values(enc))


def test_no_console_error_and_no_request_at_view_time(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    page, _ = report
    logs(browser, "performance")  # what came before this page
    opened(browser, page)
    errors = [e for e in logs(browser, "browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert browser.execute_script("return window.valueDiag.errors") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    sent = [
        json.loads(e["message"])["message"]["params"]
        for e in logs(browser, "performance")
        if '"Network.requestWillBeSent"' in e["message"]
    ]
    # What the page's document asked for: a browser just started may still log a request of
    # the blank page it opened with (a data: image) after the log was read above.
    asked = [p["request"]["url"] for p in sent if p.get("documentURL") == page.as_uri()]
    # chrome:// is the browser's own interface (its icons, loaded when it pleases); a page
    # cannot load from there (Chromium refuses it with a console error, checked above).
    asked = [url for url in asked if not url.startswith("chrome://")]
    assert asked == [page.as_uri()]  # the page itself, and nothing else
    assert browser.find_elements("css selector", "img") == []  # a run's name is only text


def test_every_metric_charted_for_every_run_with_its_points(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    page, data = report
    opened(browser, page)
    names = [r["name"] for r in data["runs"]]
    draw(browser, "#sweep-grid")
    sweep = charts(browser, "sweep")
    assert [c["key"] for c in sweep] == [c["key"] for c in data["charts"]]
    assert "bellman_error" in [c["key"] for c in sweep]
    for chart in sweep:
        assert chart["series"] == names  # every run, by the name the table shows
        assert chart["points"] == [finite(data, i, chart["key"]) for i in range(len(names))]
    corr = next(c for c in sweep if c["key"] == "v_return_correlation")
    rising_run = names.index("rising")
    assert corr["points"][rising_run] == 40  # a point per update of the file
    assert any(BREAKOUT.replace("/", "%") in n for n in corr["series"])
    legend = browser.execute_script(
        "return Array.from(document.querySelectorAll('#sweep-grid figure:first-child"
        " .u-legend .u-label')).map(e => e.textContent)"
    )
    assert legend[1:] == names  # text, as written (the first is the x axis)


def test_a_run_s_charts_are_drawn_when_its_section_opens(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    page, data = report
    opened(browser, page)
    placed = "return document.querySelectorAll(`#run-${arguments[0]} figure.chart`).length"
    assert browser.execute_script(placed, 0) > 0  # the worst run: open
    assert browser.execute_script(placed, 2) == 0
    mine = open_run(browser, 2)
    assert browser.execute_script(placed, 2) == len(mine)
    assert mine and all(len(c["series"]) == 1 for c in mine)
    assert [c["points"][0] for c in mine] == [finite(data, 2, c["key"]) for c in mine]


def test_thresholds_are_drawn_under_the_rules_in_force(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    page, data = report
    opened(browser, page)
    run = next(i for i, r in enumerate(data["runs"]) if r["name"] == "rising")
    open_run(browser, run)
    lines = data["rules"][data["runs"][run]["rules"]]["guides"]["bellman_error"]["lines"]
    assert [(y, level) for y, level, _, _ in lines] == [(20.0, "warning"), (50.0, "critical")]
    pixels = browser.execute_script(
        """const c = window.valueDiag.charts.find(
               c => c.kind === "run" && c.run === arguments[0] && c.key === "bellman_error");
           const u = c.u, y = Math.round(u.valToPos(arguments[1], "y", true));
           const row = u.ctx.getImageData(Math.round(u.bbox.left), y, 40, 1).data;
           const out = [];
           for (let i = 0; i < row.length; i += 4) out.push(Array.from(row.slice(i, i + 4)));
           return out;""",
        run,
        20.0,
    )
    drawn = [p for p in pixels if p[3] > 200]  # the dashes, not the gaps between them
    assert len(drawn) >= 10, pixels
    for pixel in drawn:
        assert all(abs(a - b) < 30 for a, b in zip(pixel[:3], WARNING_RGB, strict=True)), pixel
    caption = browser.find_element(
        "css selector", f"#run-{run} figure[data-key='bellman_error'] figcaption"
    ).text
    assert "warning: Bellman ≥ 20" in caption and "critical: Bellman ≥ 50" in caption


def over(browser: WebDriver, key: str) -> WebElement:
    return browser.find_element("css selector", f"#sweep-grid figure[data-key='{key}'] .u-over")


def test_hover_shows_the_values(browser: WebDriver, report: tuple[Path, Json]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    page, data = report
    opened(browser, page)
    draw(browser, "#sweep-grid")
    target = over(browser, "bellman_error")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    ActionChains(browser).move_to_element_with_offset(target, 0, 0).perform()
    tip = browser.find_element("css selector", "#sweep-grid figure[data-key='bellman_error'] .tip")
    assert tip.is_displayed()
    name, value, at = browser.execute_script(
        "return ['.name', '.value', '.at'].map(s => arguments[0].querySelector(s).textContent)",
        tip,
    )
    assert name in [r["name"] for r in data["runs"]]
    assert math.isfinite(float(value)), value
    assert re.fullmatch(r"step \d[\d,]*", at), at
    legend = browser.execute_script(
        "return Array.from(document.querySelectorAll(\"#sweep-grid figure[data-key='bellman_error']"
        ' .u-legend .u-value")).map(e => e.textContent)'
    )
    assert legend[0].replace(",", "").isdigit()  # the step under the cursor
    assert any(v not in ("—", "--") for v in legend[1:]), legend


def test_a_drag_zooms_and_every_chart_follows(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    page, _ = report
    opened(browser, page)
    figure = browser.find_element("css selector", "#sweep-grid figure[data-key='bellman_error']")
    drawn(browser, figure)  # those below it are drawn after the zoom
    (before,) = [c for c in charts(browser, "sweep") if c["key"] == "bellman_error"]
    placed = browser.find_elements("css selector", "#sweep-grid figure")
    assert len(charts(browser, "sweep")) < len(placed)  # some charts are not drawn yet
    target = over(browser, "bellman_error")
    width = target.size["width"]
    (
        ActionChains(browser)
        .move_to_element_with_offset(target, -width // 4, 0)
        .click_and_hold()
        .move_by_offset(width // 3, 0)
        .release()
        .perform()
    )
    draw(browser, "#sweep-grid")
    after = charts(browser, "sweep")
    assert len(after) > 1
    assert len({(a["min"], a["max"]) for a in after}) == 1  # one range for all
    assert after[0]["max"] - after[0]["min"] < (before["max"] - before["min"]) / 2


def test_a_run_hidden_in_a_legend_is_hidden_in_every_chart(
    browser: WebDriver, report: tuple[Path, Json]
) -> None:
    page, data = report
    opened(browser, page)
    figure = browser.find_element("css selector", "#sweep-grid figure")
    drawn(browser, figure)
    figure.find_elements("css selector", ".u-legend .u-series")[2].click()  # the 2nd run
    draw(browser, "#sweep-grid")
    shown = browser.execute_script(
        "return window.valueDiag.charts.filter(c => c.kind === 'sweep')"
        ".map(c => c.u.series.slice(1).map(s => s.show))"
    )
    runs = len(data["runs"])
    assert shown == [[i != 1 for i in range(runs)]] * len(data["charts"])


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_bytes(data: bytes) -> bytes:
    """A PNG's pixel rows (each after its filter byte), decompressed."""
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_a_screenshot_looks_like_the_readme_s(
    browser: WebDriver, report: tuple[Path, Json], tmp_path: Path
) -> None:
    page, _ = report
    opened(browser, page)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    taken = shot.read_bytes()
    assert png_size(taken) == png_size(PICTURE.read_bytes()) == WINDOW
    assert len(set(png_bytes(taken))) > 64  # text, colours and curves: not a blank page
    draw(browser, "#sweep-grid")
    drawn = browser.execute_script(
        """return window.valueDiag.charts.filter(c => c.kind === "sweep").map(c => {
               const canvas = c.u.ctx.canvas;
               const px = c.u.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
               let ink = 0;
               for (let i = 0; i < px.length; i += 4) if (px[i + 3] && px[i] < 200) ink++;
               return ink; })"""
    )
    assert drawn and min(drawn) > 500, drawn  # every chart has axes and curves on it
