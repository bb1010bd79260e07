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
import shutil
import threading

import pytest

import RPIO
import RPIO.sim
from RPIO.workbench.server import BoardServer

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
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - depends on the machine
    webdriver = None

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="selenium is not installed (pip install selenium)"),
    pytest.mark.skipif(CHROMIUM is None, reason=f"no chromium binary ({APT})"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason=f"no chromedriver ({APT})"),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1100", "--no-first-run", "--disable-extensions",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    service = Service(executable_path=CHROMEDRIVER)  # a driver named: Selenium Manager never runs
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


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
