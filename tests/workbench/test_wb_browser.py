"""The board page in a real headless browser: Debian's chromium driven by Selenium through Debian's
chromedriver (nothing is downloaded: Selenium Manager is skipped by naming the driver).

The script and the server share this process and its simulated board. The page must show a pin
change the script makes, and a click in the page must reach the script's interrupt callback.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package ``selenium``
(``pip install rpio[board]`` brings what the page needs; the test tools are the CI's). Skipped,
with the reason, when one is missing. RPIO_TEST_CHROMIUM / RPIO_TEST_CHROMEDRIVER name other
binaries.
"""

import os
import re
import shutil
import threading
import time

import pytest

import RPIO
import RPIO.sim
from RPIO.workbench.server import BoardServer
from wb_helpers import poll

APT = "apt-get install chromium chromium-driver"


def _first(*candidates):
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _first(os.environ.get("RPIO_TEST_CHROMIUM"), "/usr/lib/chromium/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser"))
CHROMEDRIVER = _first(os.environ.get("RPIO_TEST_CHROMEDRIVER"), shutil.which("chromedriver"),
                      "/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="selenium is not installed (pip install selenium)"),
    pytest.mark.skipif(CHROMIUM is None, reason=f"no chromium binary ({APT})"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason=f"no chromedriver ({APT})"),
]


#: where the screenshots go (to look at them): RPIO_TEST_SCREENSHOTS, else the test's tmp_path
SCREENSHOTS = os.environ.get("RPIO_TEST_SCREENSHOTS")

#: the sizes the page is tested at: a desktop window, and a phone (a Pixel 7: 412 CSS px wide,
#: 2.625 device pixels per CSS pixel)
SIZES = {"desktop": ((1280, 1100), 1), "phone": ((412, 915), 2.625)}


def _chromium(profile, size="desktop"):
    (width, height), scale = SIZES[size]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                     "--hide-scrollbars", f"--force-device-scale-factor={scale}",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    service = Service(executable_path=CHROMEDRIVER)  # a driver named: Selenium Manager never runs
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    if size == "phone":  # the viewport of a phone, not a window of that size
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": scale, "mobile": True})
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=sorted(SIZES))
def sized_browser(request, tmp_path_factory):
    driver = _chromium(tmp_path_factory.mktemp("chromium-profile"), request.param)
    driver.size_name = request.param
    yield driver
    driver.quit()


def screenshot(driver, tmp_path, name):
    folder = SCREENSHOTS or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}-{getattr(driver, 'size_name', 'desktop')}.png")
    driver.save_screenshot(path)
    return path


@pytest.fixture
def page(browser):
    with BoardServer(port=0, poll_interval=0.02) as server:
        browser.get(server.url)
        wait(browser, lambda d: d.find_element(By.ID, "status").text == "live", "the live stream")
        wait(browser, lambda d: d.find_element(By.ID, "pin-11").get_attribute("data-function"),
             "the header drawn")
        yield browser


def wait(driver, condition, what, timeout=10):
    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        condition, message=f"the page did not show {what} within {timeout} s")


def pin(driver, number):
    return driver.find_element(By.ID, f"pin-{number}")


def test_the_page_draws_the_board_s_header(page):
    assert page.find_element(By.ID, "title").text.startswith("Pi 4 Model B")
    assert "simulated" in page.find_element(By.ID, "mode").text
    dots = page.find_elements(By.CSS_SELECTOR, "#header .pin .dot")
    assert [dot.text for dot in dots] == [str(n) for n in range(1, 41)]
    assert pin(page, 11).get_attribute("data-gpio") == "17"
    assert pin(page, 1).get_attribute("data-kind") == "power"
    assert pin(page, 6).get_attribute("data-kind") == "ground"
    label = page.find_element(By.CSS_SELECTOR, '.label[data-gpio="17"]')
    assert "GPIO17" in label.text and "IN" in label.text


def test_a_pin_the_script_writes_changes_on_the_page(page, tmp_path):
    RPIO.setup(27, RPIO.OUT)  # GPIO 27 is pin 13
    wait(page, lambda d: pin(d, 13).get_attribute("data-function") == "OUT", "GPIO27 as OUT")
    assert pin(page, 13).get_attribute("data-level") == "0"
    # an output is the script's: the page offers no drive buttons for it
    wait(page, lambda d: not d.find_element(
        By.CSS_SELECTOR, '.label[data-gpio="27"] .drive').is_displayed(), "no drive on an output")
    RPIO.output(27, 1)
    wait(page, lambda d: pin(d, 13).get_attribute("data-level") == "1", "GPIO27 high")
    assert "level-1" in pin(page, 13).find_element(By.CLASS_NAME, "dot").get_attribute("class")
    wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, '#edges li.edge[data-gpio="27"]'),
         "the edge in the timeline")
    wait(page, lambda d: f"(pid {os.getpid()} output)" in d.find_element(
        By.CSS_SELECTOR, '#edges li.edge[data-gpio="27"][data-level="1"]').text,
         "who made the edge")
    RPIO.output(27, 0)
    wait(page, lambda d: pin(d, 13).get_attribute("data-level") == "0", "GPIO27 low again")
    page.save_screenshot(str(tmp_path / "board.png"))


def test_a_click_in_the_page_runs_the_script_s_callback(page):
    rang = threading.Event()
    calls = []

    def doorbell(gpio, value):
        calls.append((gpio, value))
        rang.set()

    RPIO.add_interrupt_callback(17, doorbell, edge="falling", pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
    wait(page, lambda d: pin(d, 11).get_attribute("data-pull") == "up", "GPIO17's pull-up")
    assert pin(page, 11).get_attribute("data-level") == "1"
    controls = page.find_element(By.CSS_SELECTOR, '.label[data-gpio="17"] .drive')
    wait(page, lambda d: controls.is_displayed(), "the drive buttons of an input")
    controls.find_element(By.CSS_SELECTOR, 'button[data-drive="0"]').click()
    assert rang.wait(10), "the script's callback did not run"
    assert calls == [(17, 0)]
    wait(page, lambda d: pin(d, 11).get_attribute("data-level") == "0", "GPIO17 low")
    assert pin(page, 11).get_attribute("data-drive") == "0"
    controls.find_element(By.CSS_SELECTOR, 'button[data-drive="release"]').click()
    wait(page, lambda d: pin(d, 11).get_attribute("data-level") == "1", "GPIO17 released")
    assert RPIO.sim.chip().pin_state(17).drive is None


@pytest.mark.skipif(not hasattr(RPIO.sim, "Button"), reason="RPIO.sim has no parts yet")
def test_a_button_part_clicked_in_the_page_rings(page):
    presses = []
    released = threading.Event()

    def callback(gpio, value):
        presses.append(value)
        if value == 1:
            released.set()

    RPIO.add_interrupt_callback(17, callback, edge="both", pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.sim.Button("doorbell", 17)
    button = wait(page, lambda d: d.find_element(By.CSS_SELECTOR,
                                                 '.part-button[data-part="doorbell"]'),
                  "the doorbell button")
    wait(page, lambda d: "doorbell" in d.find_element(
        By.CSS_SELECTOR, '.label[data-gpio="17"] .tags').text, "the part's name by its pin")
    button.click()  # pointer down: press; pointer up: release
    assert released.wait(10), f"the callback saw {presses}"
    assert presses == [0, 1]
    assert RPIO.input(17) == 1


@pytest.mark.parametrize("model, first, last, absent, extra", [
    ("000e", "pin-26", "P5-pin-8", "pin-27", "P5 pads"),  # a rev 2 Model B: 26 pins, P5 pads
    ("cm4", "gpio-0", "gpio-45", "pin-1", "no GPIO header"),  # a compute module: GPIOs listed
])
def test_every_kind_of_header_is_drawn(page, model, first, last, absent, extra):
    RPIO.sim.use_board(model)  # the page follows the new board with a new snapshot
    wait(page, lambda d: d.find_elements(By.ID, last), f"the {model} layout")
    assert page.find_element(By.ID, first).get_attribute("data-level") in ("0", "1")
    assert extra in page.find_element(By.ID, "header").text
    assert not page.find_elements(By.ID, absent)
    assert not page.find_element(By.ID, "error").is_displayed()


# -- the page as people use it, at desktop and phone sizes (issue 13) ----------------------------


@pytest.fixture
def workbench(sized_browser):
    """A bench: a wire, an LED at half brightness, a servo at 90 degrees, a button, a
    generator, and the script holding GPIO 17 for edge detection."""
    RPIO.setup(22, RPIO.OUT)
    RPIO.setup(23, RPIO.IN)
    RPIO.sim.wire(22, 23)
    RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.add_event_detect(17, RPIO.FALLING, callback=lambda channel: None)
    RPIO.sim.Button("doorbell", 17)
    RPIO.setup(18, RPIO.OUT)
    led = RPIO.sim.LED("lamp", 18)
    RPIO.output(18, 1)  # on now: its brightness (on-time since attached) shows as a percentage
    RPIO.setup(12, RPIO.OUT)
    RPIO.sim.Servo("arm", 12)
    with BoardServer(port=0, poll_interval=0.02) as server:
        sized_browser.get(server.url)
        wait(sized_browser, lambda d: d.find_element(By.ID, "status").text == "live", "live")
        yield sized_browser, server, led


def test_wires_part_cards_legend_and_consumer_are_shown(workbench, tmp_path):
    page, server, led = workbench
    snapshot = server.hub.snapshot()[1]
    assert [22, 23] in snapshot["wires"]  # /api/board reports the wire
    me = f"{RPIO.sim.process_name(os.getpid())} (pid {os.getpid()})"
    assert snapshot["pins"]["17"]["consumer"] == me
    assert snapshot["pins"]["22"]["consumer"] is None  # the page's own lines hold nothing
    wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, '#wires-layer path[data-gpios="22,23"]'),
         "the wire drawn over the header")
    assert "GPIO22 ⟷ GPIO23" in page.find_element(By.ID, "wires-list").text
    wait(page, lambda d: d.find_element(By.CSS_SELECTOR, '.label[data-gpio="17"] .holder')
         .get_attribute("data-consumer") == me, "the consumer mark")
    assert page.find_element(By.CSS_SELECTOR, '.label[data-gpio="17"] .holder').is_displayed()
    assert me in pin(page, 11).get_attribute("title")
    lamp = page.find_element(By.CSS_SELECTOR, '.part[data-part="lamp"] .summary').text
    assert re.fullmatch(r"on, brightness \d{1,3} %", lamp), lamp  # not 0.4998397076178824
    arm = RPIO.sim.part("arm")
    for _attempt in range(50):  # a pulse of about 1.5 ms by hand; a busy machine may stretch
        RPIO.output(12, 1)      # one past 2.5 ms, which a servo ignores: then another
        edge_up = RPIO.sim.history(12)[-1].timestamp_ns
        while time.monotonic_ns() - edge_up < 1_500_000:
            pass
        RPIO.output(12, 0)
        if arm.angle is not None:
            break
    wait(page, lambda d: "angle" in d.find_element(
        By.CSS_SELECTOR, '.part[data-part="arm"] .summary').text, "the servo's angle", 15)
    arm = page.find_element(By.CSS_SELECTOR, '.part[data-part="arm"] .summary').text
    assert re.fullmatch(r"angle \d{1,3}° \(pulse \d+ µs\)", arm), arm
    legend = page.find_element(By.ID, "legend").text
    for entry in ("5V power", "3V3 power", "ground", "ID EEPROM", "high", "low", "floating",
                  "ring: driven from outside", "glow: the level just changed", "a wire",
                  "pull-up", "edge detection", "drive an input"):
        assert entry in legend, entry
    path = screenshot(page, tmp_path, "workbench")
    assert os.path.getsize(path) > 10_000


def test_the_page_fits_a_phone_and_a_desktop(workbench, tmp_path):
    page, server, _led = workbench
    # the device's width, not window.innerWidth: a phone's layout viewport grows to fit a page
    # too wide for it (and then everything is drawn small)
    width = min(SIZES[page.size_name][0][0], page.execute_script("return window.innerWidth"))
    overflow = page.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= width, f"{overflow} px of page in a {width} px window"
    # every pin's label, right column included, lies inside the window
    for label in page.find_elements(By.CSS_SELECTOR, "#header .label"):
        right = page.execute_script("return arguments[0].getBoundingClientRect().right", label)
        assert right <= width + 0.5, label.text
    screenshot(page, tmp_path, "fit")


def test_the_timeline_draws_only_the_history_it_has(workbench, tmp_path):
    page, server, _led = workbench
    # a small history ring: the 200 Hz generator wraps it within a second, as a long run does
    RPIO.sim.chip().history_capacity = 256
    clock = RPIO.sim.Generator("clock", 5, 200)
    clock.start()
    try:
        # wait until the server's own view (cached for 100 ms, shared by every page) says the ring
        # no longer reaches back to the start: a page that fetched an older copy rightly says its
        # history is complete (a CI run failed on exactly that)
        poll(lambda: server.history_since(0, 1)["from_ns"] is not None, message="the ring wrapped")
        page.refresh()  # a page opened on a long run: the ring no longer reaches back 10 s
        wait(page, lambda d: d.find_element(By.ID, "status").text == "live", "live")
        wait(page, lambda d: "5" in (d.find_element(By.ID, "waves").get_attribute("data-rows")
                                     or "").split(","), "GPIO5 in the timeline")
        canvas = page.find_element(By.ID, "waves")
        dpr = page.execute_script("return window.devicePixelRatio")
        css_width = page.execute_script("return arguments[0].clientWidth", canvas)
        assert int(canvas.get_attribute("width")) == round(css_width * dpr)  # sharp on HiDPI
        # the ring holds about 0.6 s of the clock: the page draws that, not 10 s
        wait(page, lambda d: d.find_element(By.ID, "waves").get_attribute("data-covered-from")
             not in ("", "-Infinity"), "where the page's history starts")
        covered = float(canvas.get_attribute("data-covered-from"))
        start, end = float(canvas.get_attribute("data-start")), float(canvas.get_attribute("data-end"))
        assert start < covered < end
        page.find_element(By.ID, "zoom-in").click()
        wait(page, lambda d: "5 s" in d.find_element(By.ID, "window-label").text, "zoomed in")
        ActionChains(page).drag_and_drop_by_offset(canvas, 60, 0).perform()
        wait(page, lambda d: "ending" in d.find_element(By.ID, "window-label").text, "panned")
        page.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        screenshot(page, tmp_path, "timeline")
        page.find_element(By.ID, "live").click()
        wait(page, lambda d: "live" in d.find_element(By.ID, "window-label").text, "live again")
    finally:
        clock.stop()


def test_a_pi5_offers_drive_buttons_for_pins_without_a_function(sized_browser, tmp_path):
    RPIO.sim.use_board("pi5")
    with BoardServer(port=0, poll_interval=0.02) as server:
        sized_browser.get(server.url)
        wait(sized_browser, lambda d: d.find_element(By.ID, "status").text == "live", "live")
        wait(sized_browser, lambda d: pin(d, 11).get_attribute("data-function") == "NONE",
             "GPIO17 with no function")
        controls = sized_browser.find_element(By.CSS_SELECTOR, '.label[data-gpio="17"] .drive')
        assert controls.is_displayed()
        controls.find_element(By.CSS_SELECTOR, 'button[data-drive="1"]').click()
        wait(sized_browser, lambda d: pin(d, 11).get_attribute("data-drive") == "1", "driven")
        assert RPIO.sim.chip().pin_state(17).drive == 1
        screenshot(sized_browser, tmp_path, "pi5")
