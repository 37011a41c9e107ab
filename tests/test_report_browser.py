"""The report pages in a real browser: headless Chromium driven through Selenium.

Pages of runs of every model kind (images, 2-D points, translation, conditional), a failed run, a
comparison and a study (a reproduction's page) are opened; on each, every image decodes, the console has
no error, the page fits a phone's width, and a screenshot is taken (into $GENLAB_SCREENSHOTS when set).
The run page's epoch slider changes the grid, its chart answers hover, toggles and drag-to-zoom, the
comparison's and the study's tables sort on click, and the failed run's page shows the failure.

Needs Chromium and chromedriver (Debian: `apt-get install chromium chromium-driver`) and selenium (the test
extra). Where they are missing the tests skip and say why, unless GENLAB_REQUIRE_BROWSER is set (CI sets it):
then they fail, so that CI cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from genlab.api import make_configs, train
from genlab.report.browser import chromium, missing
from genlab.report.comparison import write_comparison_report
from genlab.report.runpage import write_run_report
from genlab.report.study import write_study_report
from genlab.rundir import RunDir

pytestmark = pytest.mark.slow  # trains four tiny runs and starts a browser

STEPS = {"steps": "12", "epochs": "0", "log_every": "2", "sample_every": "1", "batch_size": "256", "grid_size": "16"}
# (page name, model, dataset, small settings): one run of every kind of model
RUNS = [
    ("images", "vae", "digits", {"latent_dim": "2", "hidden": "16"}),
    ("points", "gan", "ring8", {"hidden": "16,16", "subset": "512"}),
    ("translation", "cyclegan", "digits-inverted", {"hidden": "16,16", "width": "8", "blocks": "1"}),
    ("conditional", "cgan", "digits", {"hidden": "16,16"}),
]


def require_browser() -> None:
    """Skip, saying why, where no browser can start; fail instead where GENLAB_REQUIRE_BROWSER is set (CI)."""
    why = missing()
    if why:
        message = f"the browser tests need Chromium (Debian: apt-get install chromium chromium-driver): {why}"
        if os.environ.get("GENLAB_REQUIRE_BROWSER"):
            pytest.fail(message + " (GENLAB_REQUIRE_BROWSER is set, so this is a failure, not a skip)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    require_browser()
    with chromium() as driver:
        yield driver


def test_a_missing_browser_skips_but_fails_where_it_is_required(monkeypatch):
    monkeypatch.setattr("genlab.report.browser.shutil.which", lambda name: None)
    monkeypatch.setattr("genlab.report.browser.os.access", lambda path, mode: False)
    monkeypatch.delenv("GENLAB_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium on PATH; no chromedriver"):
        require_browser()
    monkeypatch.setenv("GENLAB_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="a failure, not a skip"):
        require_browser()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """name -> page file: a run page of every model kind, a failed run, a comparison, a study."""
    root = tmp_path_factory.mktemp("pages")
    out = {}
    for name, model, dataset, small in RUNS:
        path = root / "study" / name
        train(model, path, make_configs(model, dataset, {**STEPS, **small}), progress=False)
        out[name] = path / "report.html"  # written by the trainer's hook
    failed = shutil.copytree(root / "study" / "images", root / "failed")
    RunDir(failed).write_status("failed", 9, "training stopped at step 10: the vae loss is nan; the last good "
                                            "checkpoint (step-00000008) is kept. Try a lower learning rate.")
    out["failed"] = write_run_report(failed)
    out["comparison"] = write_comparison_report([root / "study" / "images", root / "study" / "conditional"],
                                                root / "comparison.html")
    md = ("# A reproduction\n\n| model | FID | paper FID |\n|---|---|---|\n| vae | 30.5 | 25.0 |\n| cgan | 4.25 | |\n"
          "| gan | 12.0 | 11.0 |\n| real vs real (floor) | 1.0 | |\n\n## Checks\n\n- [x] cgan beats vae\n- [ ] vae "
          "matches the paper\n")
    out["study"] = write_study_report(root / "study", md, [root / "study" / "images" / "samples" / "final.png"])
    return out


def open_page(driver, path: Path) -> None:
    driver.get_log("browser")  # drop earlier messages
    driver.get(path.resolve().as_uri())


def check_page(driver, path: Path, name: str) -> None:
    """Every image decodes and has alt text, no console errors, no sideways scrolling on a phone; a screenshot."""
    open_page(driver, path)
    images = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images);
        Promise.all(imgs.map(i => i.hidden ? null : i.decode().catch(() => null))).then(() =>
          done(imgs.map(i => ({w: i.naturalWidth, alt: i.alt, hidden: i.hidden}))));""")
    shown = [im for im in images if not im["hidden"]]
    assert shown and all(im["w"] > 0 for im in shown), (name, images)
    assert all(im["alt"] for im in images), name
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, (name, errors)
    folder = Path(os.environ.get("GENLAB_SCREENSHOTS") or path.parent)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"report-{name}.png"
    driver.save_screenshot(str(shot))
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size[0] >= 1000 and len(im.convert("L").getcolors(1 << 16) or []) > 10
    driver.set_window_size(390, 844)  # a phone
    try:
        driver.refresh()
        width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"{name}: the page is {width} px wide on a {inner} px screen"
    finally:
        driver.set_window_size(1200, 900)


@pytest.mark.parametrize("name", ["images", "points", "translation", "conditional", "failed", "comparison", "study"])
def test_page_renders(browser, pages, name):
    check_page(browser, pages[name], name)


def test_the_epoch_slider_changes_the_grid(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, pages["images"])
    frames = browser.find_element(By.CSS_SELECTOR, "#samples [data-frames]")
    grid = frames.find_element(By.CSS_SELECTOR, ".panel img")
    label = frames.find_element(By.TAG_NAME, "output")
    last = grid.get_attribute("src")
    assert label.text == "final"
    frames.find_element(By.CSS_SELECTOR, "input[type=range]").send_keys(Keys.HOME)
    assert label.text == "epoch 1" and grid.get_attribute("src") != last
    assert "epoch 1" in grid.get_attribute("alt")
    assert browser.execute_script("return arguments[0].decode().then(() => arguments[0].naturalWidth)", grid) > 0
    frames.find_element(By.CSS_SELECTOR, "[data-next]").click()
    assert label.text == "epoch 2"


def test_the_chart_hovers_toggles_and_zooms(browser, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_page(browser, pages["images"])
    chart = browser.find_element(By.CSS_SELECTOR, "#curves .chart")
    paths = lambda: len(chart.find_elements(By.CSS_SELECTOR, "svg path"))  # noqa: E731
    lines = paths()
    assert lines >= 3
    hit = lambda: chart.find_elements(By.CSS_SELECTOR, "svg rect")[-1]  # noqa: E731  (the layer over the plot)
    ActionChains(browser).move_to_element(hit()).perform()
    tip = chart.find_element(By.CSS_SELECTOR, ".tip")
    assert tip.is_displayed() and "step" in tip.text and "vae_loss" in tip.text
    button = chart.find_element(By.CSS_SELECTOR, ".legend button")
    button.click()
    assert button.get_attribute("aria-pressed") == "false" and paths() == lines - 1
    ticks = lambda: [t.text for t in chart.find_elements(By.CSS_SELECTOR, "svg text")]  # noqa: E731
    before = ticks()
    width = hit().size["width"]  # the chart was drawn again: find the layer again
    ActionChains(browser).move_to_element_with_offset(hit(), -width // 4, 0).click_and_hold() \
        .move_by_offset(width // 3, 0).release().perform()
    assert ticks() != before  # zoomed: other x ticks
    chart.find_element(By.XPATH, ".//button[text()='reset zoom']").click()
    assert ticks() == before


@pytest.mark.parametrize("name, column", [("comparison", "run"), ("study", "FID")])
def test_tables_sort_on_click(browser, pages, name, column):
    from selenium.webdriver.common.by import By

    open_page(browser, pages[name])
    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
    heads = table.find_elements(By.CSS_SELECTOR, "thead th")
    index = [h.text.strip(" ↕▲▼") for h in heads].index(column)
    values = lambda: [r.find_elements(By.TAG_NAME, "td")[index].get_attribute("data-sort")  # noqa: E731
                      for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    key = (lambda v: float(v)) if column == "FID" else (lambda v: v.lower())
    heads[index].find_element(By.TAG_NAME, "button").click()
    assert values() == sorted(values(), key=key) and heads[index].get_attribute("aria-sort") == "ascending"
    heads[index].find_element(By.TAG_NAME, "button").click()
    assert values() == sorted(values(), key=key, reverse=True)
    assert heads[index].get_attribute("aria-sort") == "descending"


def test_a_failed_run_shows_the_failure(browser, pages):
    from selenium.webdriver.common.by import By

    open_page(browser, pages["failed"])
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert alert.is_displayed()
    assert "This run failed at step 9" in alert.text and "the vae loss is nan" in alert.text
    badge = browser.find_element(By.CSS_SELECTOR, "h1 .badge")
    assert badge.text == "failed"
    color = badge.value_of_css_property("color")
    assert color != browser.find_element(By.TAG_NAME, "body").value_of_css_property("color")
