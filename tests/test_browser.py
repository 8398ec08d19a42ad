"""Headless Chromium opens every tab of the app, finds no console errors, and saves a screenshot
of each tab under SCREENSHOT_DIR (default: the test's temp folder) for a person to look at. The
Reconstruct tab is shown reconstructing an IMU trace (its plots, not its pictures), and the Data tab
must draw the event's IMU trace."""
from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from omnivec_app.main import build_app
from omnivec_app.training import TrainingManager
from omnivec_app.launch import build_state
from omnivec_core.config import StageConfig, preset
from omnivec_core.train.trainer import Trainer

TABS = ("Overview", "Data", "Reconstruct", "Embedding map", "Activations", "Retrieval", "Caption", "Efficiency",
        "Train", "Papers", "Compare")
BUSY = re.compile(r"processing|\d+\.\d%")  # Gradio's status text while an event runs
RUN_BUTTONS = {"Reconstruct": "Reconstruct", "Embedding map": "Draw map", "Activations": "Show activations",
               "Retrieval": "Retrieve", "Caption": "Caption", "Efficiency": "Measure",
               "Compare": "Compare"}  # pressed so the screenshot shows a result
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
IMU_CHANNELS = ["ax (g)", "ay (g)", "az (g)", "gx (rad/s)", "gy (rad/s)", "gz (rad/s)"]
# the legend of every plotly plot on screen (hidden tabs and rows have no offsetParent)
VISIBLE_LEGENDS = ("return Array.from(document.querySelectorAll('.js-plotly-plot'))"
                   ".filter(p => p.offsetParent !== null)"
                   ".map(p => Array.from(p.querySelectorAll('.legendtext')).map(t => t.textContent));")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    config = preset("tiny")
    config.train.batch_size = 8
    config.model.text_decoder_depth = 1
    config.train.stages = [StageConfig("smoke", 1, {"mae": 1.0})]
    Trainer(config, root / "model", "cpu").run()
    demo = build_app(build_state(root / "model", "cpu"), TrainingManager(root / "runs"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def click_a_map_point(driver, wait, by, event: int) -> None:
    """Plotly's own click event on a point of the shared map shows that event's sample below."""
    driver.execute_script("document.querySelector('#map-shared .js-plotly-plot')"
                          ".emit('plotly_click', {points: [{customdata: arguments[0]}]});", event)
    wait.until(lambda d: f"Showing event {event}" in d.find_element(by.ID, "map-click").text)
    wait.until(lambda d: not BUSY.search(d.find_element(by.TAG_NAME, "body").text))
    wait.until(lambda d: d.find_element(by.CSS_SELECTOR, "#map-event input").get_attribute("value") == str(event))
    time.sleep(1)
    images = [i for i in driver.find_elements(by.XPATH, "//*[@id='map-click']/following::img") if i.is_displayed()]
    assert images, "clicking a map point showed no image of the event"


def hover_a_map_point(driver, event: int) -> None:
    """Plotly's hover event on a point of the shared map shows that event's thumbnail beside the pointer."""
    driver.execute_script("document.querySelector('#map-shared .js-plotly-plot').emit('plotly_hover', "
                          "{points: [{customdata: arguments[0]}], event: {clientX: 300, clientY: 400}});", event)
    shown = driver.execute_script("const img = document.getElementById('map-hover-thumbnail');"
                                  "return img && [img.style.display, img.src.slice(0, 23), img.naturalWidth];")
    assert shown and shown[:2] == ["block", "data:image/jpeg;base64,"], f"no thumbnail on hover: {shown}"


def leave_the_map(driver) -> None:
    """Leaving the plot hides the thumbnail, so it does not linger over other tabs."""
    driver.execute_script("document.querySelector('#map-shared .js-plotly-plot')"
                          ".dispatchEvent(new MouseEvent('mouseleave'));")
    shown = driver.execute_script("return document.getElementById('map-hover-thumbnail').style.display;")
    assert shown == "none", f"the hover thumbnail stays after the pointer left the map: {shown!r}"


def choose_radio(driver, by, value: str) -> None:
    """Click the visible radio button of that value (the Reconstruct tab's modality)."""
    label = next(e for e in driver.find_elements(by.XPATH, f"//label[.//input[@type='radio' and @value='{value}']]")
                 if e.is_displayed())
    label.click()
    time.sleep(1)  # the modality's change event swaps the picture row for the plot row


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: $SCREENSHOT_DIR (kept to look at), else the test's scratch folder."""
    out = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def chromium():
    """Headless Chromium under chromedriver, its console log kept."""
    assert CHROMIUM and DRIVER, "install Debian's chromium and chromium-driver (.ci/run does)"
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)


@pytest.mark.timeout(600)  # the fixture trains a model, then every tab runs once
def test_every_tab_opens_without_console_errors(url, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    out = screenshot_dir(tmp_path)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        for tab in TABS:
            button = wait.until(ready.element_to_be_clickable((By.XPATH, f"//button[@role='tab' and normalize-space()='{tab}']")))
            button.click()
            wait.until(lambda d: button.get_attribute("aria-selected") == "true")
            if tab == "Reconstruct":
                choose_radio(driver, By, "imu")
            if tab == "Retrieval":
                box = next(e for e in driver.find_elements(By.TAG_NAME, "textarea") if e.is_displayed())
                box.send_keys("a small red circle bouncing")
            if tab in RUN_BUTTONS:
                run = next(b for b in driver.find_elements(
                    By.XPATH, f"//button[not(@role='tab') and normalize-space()='{RUN_BUTTONS[tab]}']")
                           if b.is_displayed())
                run.click()
                time.sleep(1)
            wait.until(lambda d: not BUSY.search(d.find_element(By.TAG_NAME, "body").text))
            time.sleep(1.5)  # let plotly draw
            if tab == "Embedding map":
                hover_a_map_point(driver, event=5)
                driver.save_screenshot(str(out / "map-hover.png"))
                leave_the_map(driver)
                click_a_map_point(driver, wait, By, event=3)
            if tab == "Caption":
                assert "the model says" in driver.find_element(By.TAG_NAME, "body").text, "no caption shown"
            legends = driver.execute_script(VISIBLE_LEGENDS)
            if tab in ("Data", "Embedding map"):  # the event's IMU trace (the clicked one's), six lines
                assert IMU_CHANNELS in legends, f"the {tab} tab draws no IMU trace: {legends}"
            if tab == "Reconstruct":  # original, masked input, raw output, reconstruction: four IMU plots
                assert legends.count(IMU_CHANNELS) == 4, f"the Reconstruct tab shows {legends}"
                pictures = [i for i in driver.find_elements(By.XPATH, "//img[contains(@src, 'image.')]") if i.is_displayed()]
                assert not pictures, "an IMU reconstruction shows the picture row"
            assert "Error" not in driver.find_element(By.TAG_NAME, "body").text, f"the {tab} tab shows an error"
            path = out / f"tab-{tab.lower().replace(' ', '-')}.png"
            driver.save_screenshot(str(path))
            assert path.stat().st_size > 10_000, f"the {tab} screenshot is blank"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
    assert not errors, f"console errors: {errors}"


def draw_a_triangle(driver, by, sketchpad) -> None:
    """Pick the brush and draw a triangle's outline on the canvas, as a student does with the mouse."""
    from selenium.webdriver.common.action_chains import ActionChains

    sketchpad.find_element(by.CSS_SELECTOR, "button[aria-label='Brush']").click()
    time.sleep(0.5)
    canvas = next(c for c in sketchpad.find_elements(by.TAG_NAME, "canvas") if c.is_displayed())
    strokes = ActionChains(driver).move_to_element_with_offset(canvas, 0, -60).click_and_hold()
    for dx, dy in ((50, 100), (-100, 0), (50, -100)):
        strokes.move_by_offset(dx, dy)
    strokes.release().perform()
    time.sleep(1)


@pytest.mark.timeout(600)
def test_own_inputs_draw_snap_and_record(url, tmp_path):
    """The Retrieval and Caption tabs show a drawing canvas with the brush, a webcam and a microphone input;
    a shape drawn on the canvas is the query, and its out-of-world score is shown beside the results."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    out = screenshot_dir(tmp_path)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 300)  # the first query embeds the gallery: minutes on two busy cores
        for tab, run in (("Retrieval", "Retrieve"), ("Caption", "Caption")):
            xpath = f"//button[@role='tab' and normalize-space()='{tab}']"
            button = wait.until(lambda d: d.find_element(By.XPATH, xpath))
            button.click()
            wait.until(lambda d: button.get_attribute("aria-selected") == "true")
            prefix = tab.lower()
            # a tab's components render after it opens: wait for the canvas and the two sources' buttons
            canvases = f"#{prefix}-sketch canvas"
            wait.until(lambda d: any(c.is_displayed() for c in d.find_elements(By.CSS_SELECTOR, canvases)))
            for element, label in (("webcam", "Capture from camera"), ("microphone", "Record audio")):
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#{prefix}-{element} button[aria-label='{label}']"))
            draw_a_triangle(driver, By, driver.find_element(By.ID, f"{prefix}-sketch"))
            next(b for b in driver.find_elements(By.XPATH, f"//button[not(@role='tab') and normalize-space()='{run}']")
                 if b.is_displayed()).click()
            time.sleep(1)
            wait.until(lambda d: "out-of-world score" in d.find_element(By.TAG_NAME, "body").text)
            body = driver.find_element(By.TAG_NAME, "body").text
            assert "image: out-of-world score" in body and "Error" not in body, body[:2000]
            if tab == "Retrieval":
                assert "the query is your sketch" in body
            time.sleep(1.5)
            driver.save_screenshot(str(out / f"tab-{prefix}-sketch.png"))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
    assert not errors, f"console errors: {errors}"


def drag_a_box(driver, plot, dx: int, dy: int) -> None:
    """Press, drag and release over the plot's drawing area, as a student selects with the mouse."""
    from selenium.webdriver.common.action_chains import ActionChains

    area = plot.find_element("css selector", ".nsewdrag")
    ActionChains(driver).move_to_element_with_offset(area, -dx // 2, -dy // 2).click_and_hold() \
        .move_by_offset(dx // 4, dy // 4).move_by_offset(dx // 4, dy // 4).move_by_offset(dx // 2, dy // 2) \
        .release().perform()


@pytest.mark.timeout(600)
def test_a_box_on_the_map_lists_the_selection(url, tmp_path):
    """A box dragged over the shared map lists the events under it: their pictures, labels and captions,
    and their numbers in the box the export reads."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    out = screenshot_dir(tmp_path)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 300)  # the first map embeds the gallery: minutes on two busy cores
        tab = wait.until(lambda d: d.find_element(By.XPATH, "//button[@role='tab' and normalize-space()='Embedding map']"))
        tab.click()
        next(b for b in driver.find_elements(By.XPATH, "//button[normalize-space()='Draw map']") if b.is_displayed()).click()
        plot = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#map-shared .js-plotly-plot .nsewdrag")
                          and d.find_element(By.CSS_SELECTOR, "#map-shared .js-plotly-plot"))
        wait.until(lambda d: not BUSY.search(d.find_element(By.TAG_NAME, "body").text))
        time.sleep(1)
        drag_a_box(driver, plot, 160, 120)
        wait.until(lambda d: "events selected" in d.find_element(By.ID, "map-selection-note").text)
        wait.until(lambda d: not BUSY.search(d.find_element(By.TAG_NAME, "body").text))
        time.sleep(1)
        count = int(re.search(r"(\d+) events selected", driver.find_element(By.ID, "map-selection-note").text).group(1))
        numbers = driver.find_element(By.CSS_SELECTOR, "#map-selection-events textarea").get_attribute("value")
        events = {token.split(":")[0].strip() for token in numbers.split(",")}  # "3" or "3:image" per point
        assert count > 0 and len(events) == count, (count, numbers)
        table = driver.find_element(By.ID, "map-selection-table").text
        assert all(h in table for h in ("event", "shape", "caption")), f"the selection's table: {table[:300]}"
        assert re.search(r"moving|spinning|bouncing|growing|shrinking", table), f"no captions listed: {table[:300]}"
        assert "Selected on the map" in driver.find_element(By.ID, "map-selected").text
        pictures = [i for i in driver.find_elements(By.CSS_SELECTOR, "#map-selection-gallery img") if i.is_displayed()]
        assert pictures, "the selection shows no pictures"
        driver.save_screenshot(str(out / "map-selection.png"))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
    assert not errors, f"console errors: {errors}"
