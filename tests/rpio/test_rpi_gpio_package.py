"""The opt-in RPi.GPIO distribution (packages/rpio-rpi-gpio): built, installed, and used by real
clients as subprocesses: RPLCD 1.4 drives an HD44780 in 4-bit mode on the simulated board, mqtt-io
2.7's Raspberry Pi GPIO module sets up, writes, reads and watches pins. And it swaps cleanly with
the real RPi.GPIO in a fresh virtual environment."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "packages" / "rpio-rpi-gpio"
VERSION = (ROOT / "VERSION").read_text().strip()


@pytest.fixture(scope="module")
def shim_path(tmp_path_factory):
    """The package installed (with pip, from the checkout) into a directory of its own, which the
    clients' subprocesses put first on sys.path."""
    target = tmp_path_factory.mktemp("rpi-gpio")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(PACKAGE)],
        check=True, timeout=600,
    )
    return target


def run_client(shim_path, source: str, timeout: float = 120) -> str:
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD="a02082",
               PYTHONPATH=os.pathsep.join([str(shim_path), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_lines_of_rpigpio_programs_get_rpio(shim_path):
    out = run_client(shim_path, """
        import importlib.metadata as md, json
        import RPi.GPIO as GPIO
        from RPi import GPIO as G2
        import RPIO
        names = ["BCM", "BOARD", "BOTH", "FALLING", "HARD_PWM", "HIGH", "I2C", "IN", "LOW", "OUT",
                 "PUD_DOWN", "PUD_OFF", "PUD_UP", "RISING", "SERIAL", "SPI", "UNKNOWN", "RPI_INFO",
                 "RPI_REVISION", "VERSION", "cleanup", "getmode", "gpio_function", "input", "output",
                 "setmode", "setup", "setwarnings", "PWM", "add_event_callback", "add_event_detect",
                 "event_detected", "remove_event_detect", "wait_for_edge"]
        same = all(getattr(GPIO, n) == getattr(RPIO, n) for n in names)
        print(json.dumps({
            "version": md.version("RPi.GPIO"), "requires": md.requires("RPi.GPIO"),
            "same": same, "G2": G2 is GPIO, "file": GPIO.__file__, "setup": GPIO.setup is RPIO.setup,
            "pwm": GPIO.PWM is RPIO.PWM, "extra": hasattr(GPIO, "add_interrupt_callback"),
            "dir": sorted(set(names) - set(dir(GPIO))), "all": sorted(GPIO.__all__) == sorted(names),
        }))
    """)
    facts = json.loads(out)
    assert facts["version"] == VERSION and facts["requires"] == [f"rpio=={VERSION}"]
    assert facts["same"] and facts["G2"] and facts["setup"] and facts["pwm"] and facts["all"]
    assert facts["file"].startswith(str(shim_path))
    assert not facts["extra"] and facts["dir"] == []


@pytest.mark.skipif(importlib.util.find_spec("RPLCD") is None, reason="RPLCD 1.4 is not installed")
def test_rplcd_drives_an_hd44780_in_4bit_mode(shim_path):
    """RPLCD's own code, unchanged, through `import RPi.GPIO as GPIO`; the pins' history decoded
    like the LCD does it: RS and D4-D7 latched on each falling edge of E, two nibbles a byte."""
    rs, e, data = 22, 17, [23, 24, 25, 27]
    out = run_client(shim_path, f"""
        import json
        import RPi.GPIO as GPIO
        from RPLCD.gpio import CharLCD
        import RPIO.sim
        lcd = CharLCD(numbering_mode=GPIO.BCM, cols=16, rows=2, pin_rs={rs}, pin_e={e},
                      pins_data={data}, pin_rw=None, compat_mode=True)
        lcd.write_string("Hello")
        lcd.cursor_pos = (1, 0)
        lcd.write_string("RPIO-2")
        changes = [(c.timestamp_ns, c.gpio, c.level) for c in RPIO.sim.history()]
        functions = [GPIO.gpio_function(p) for p in ({rs}, {e}, *{data})]
        lcd.close()
        print(json.dumps({{"changes": changes, "functions": functions}}))
    """)
    facts = json.loads(out)
    assert facts["functions"] == [0] * 6  # every pin an output (GPIO.OUT)
    levels = {gpio: 0 for gpio in [rs, e, *data]}
    nibbles = []
    for _timestamp, gpio, level in sorted(facts["changes"]):
        if gpio == e and levels[e] == 1 and level == 0:  # the HD44780 latches here
            nibble = sum(levels[d] << bit for bit, d in enumerate(data))
            nibbles.append((levels[rs], nibble))
        if gpio in levels:
            levels[gpio] = level
    assert len(nibbles) % 2 == 0
    sent = [(hi[0], hi[1] << 4 | lo[1]) for hi, lo in zip(nibbles[::2], nibbles[1::2])]
    assert all(hi_rs == lo_rs for (hi_rs, _), (lo_rs, _) in zip(nibbles[::2], nibbles[1::2]))
    instructions = [byte for mode, byte in sent if mode == 0]
    text = bytes(byte for mode, byte in sent if mode == 1).decode()
    assert instructions[:4] == [0x03, 0x03, 0x03, 0x02]  # the 4-bit initialisation
    assert instructions[4] == 0x28  # function set: 4-bit bus, 2 lines, 5x8 dots
    assert 0x01 in instructions  # clear display
    assert 0xC0 in instructions  # cursor to row 1, column 0 (DDRAM 0x40)
    assert text == "HelloRPIO-2"
    assert [mode for mode, _ in sent].index(1) > instructions.index(0x28)


@pytest.mark.skipif(importlib.util.find_spec("mqtt_io") is None, reason="mqtt-io 2.7 is not installed")
def test_mqtt_io_raspberrypi_gpio_module(shim_path):
    """mqtt-io's requirement check finds the distribution (so it runs no pip), then its GPIO module
    sets up an output and a pulled-up input with an interrupt, writes, reads and gets the edge."""
    out = run_client(shim_path, """
        import json, threading
        import mqtt_io.modules as modules
        from mqtt_io.modules.gpio import InterruptEdge, PinDirection, PinPUD
        import mqtt_io.modules.gpio.raspberrypi as raspberrypi
        import RPIO.sim

        def no_pip(requirements):
            raise AssertionError(f"mqtt-io wanted to pip install {requirements}")
        modules.install_missing_requirements = no_pip
        modules.install_missing_module_requirements(raspberrypi)

        gpio = raspberrypi.GPIO({})
        gpio.setup_pin(17, PinDirection.OUTPUT, PinPUD.OFF, {}, initial="high")
        gpio.setup_pin(27, PinDirection.INPUT, PinPUD.UP, {})
        seen = []
        edge = threading.Event()
        gpio.setup_interrupt_callback(27, InterruptEdge.FALLING, {"bouncetime": 5},
                                      lambda channel: (seen.append(channel), edge.set()))
        first = RPIO.sim.level(17)
        gpio.set_pin(17, False)
        after = RPIO.sim.level(17)
        pulled = gpio.get_pin(27)
        RPIO.sim.drive(27, 0)
        fired = edge.wait(10)
        low = gpio.get_pin(27)
        value = gpio.get_interrupt_value(27)
        gpio.cleanup()
        print(json.dumps({"first": first, "after": after, "pulled": pulled, "fired": fired,
                          "seen": seen, "low": low, "value": value}))
    """)
    facts = json.loads(out)
    assert facts == {"first": 1, "after": 0, "pulled": True, "fired": True, "seen": [27],
                     "low": False, "value": False}


def test_installing_it_swaps_out_the_real_rpigpio(tmp_path):
    """Same distribution name: pip uninstalls the real RPi.GPIO first, and back; never both."""
    if importlib.util.find_spec("RPi") is None or importlib.util.find_spec("RPi.GPIO") is None:
        pytest.skip("the real RPi.GPIO 0.7.1 is not installed (its wheel comes from pip's cache)")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")

    def pip(*args):
        return subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", *args],
                              capture_output=True, text=True, timeout=600)

    real = pip("RPi.GPIO==0.7.1")
    if real.returncode != 0:
        pytest.skip(f"RPi.GPIO 0.7.1 cannot be installed here: {real.stderr[-300:]}")
    site = pathlib.Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    assert list(site.glob("RPi/_GPIO*.so"))
    assert pip(str(PACKAGE)).returncode == 0
    dists = sorted(p.name for p in site.glob("*.dist-info") if p.name.lower().startswith("rpi"))
    assert dists == [f"rpi_gpio-{VERSION}.dist-info"], dists
    assert not list(site.glob("RPi/_GPIO*.so"))  # the real package's files are gone
    assert pip("RPi.GPIO==0.7.1").returncode == 0  # and back: the shim's files are gone
    assert list(site.glob("RPi/_GPIO*.so"))
    assert not (site / "RPi" / "GPIO" / "__init__.py").read_text().count("RPIO")
