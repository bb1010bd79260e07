"""Differential test: the real RPi.GPIO 0.7.1 and RPIO run the same calls and must agree.

RPi.GPIO runs off a Pi through bench/_rpigpio_shim.c (an LD_PRELOAD shim that points its revision
file and /dev/gpiomem at ordinary files), so its own C code answers. Each case runs in a fresh
fork of a freshly imported module (tests/conformance/probe.py). Skipped, with the reason, where
RPi.GPIO 0.7.1 or a C compiler is not installed (tox's default env installs both).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = pathlib.Path(__file__).with_name("probe.py")
SHIM_SOURCE = ROOT / "bench" / "_rpigpio_shim.c"


def _rpigpio_installed() -> bool:
    found = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('RPi.GPIO') is not None)"],
        capture_output=True, text=True,
    )
    return found.stdout.strip() == "True"


pytestmark = [
    pytest.mark.skipif(not _rpigpio_installed(), reason="RPi.GPIO 0.7.1 is not installed"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler for the shim"),
]


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    directory = tmp_path_factory.mktemp("shim")
    library = directory / "shim.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(SHIM_SOURCE), "-ldl"], check=True
    )
    return directory, library


def probe(module: str, cases: dict, revision: str, shim) -> dict:
    directory, library = shim
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_BOARD=revision)
    if module == "RPi.GPIO":
        page = directory / f"page-{revision}"
        page.write_bytes(bytes(4096))  # a fresh register page for each board
        rev = directory / f"rev-{revision}"
        rev.write_bytes(int(revision, 16).to_bytes(4, "big"))
        env.update(LD_PRELOAD=str(library), SHIM_GPIOMEM=str(page), SHIM_REVISION=str(rev))
    result = subprocess.run(
        [sys.executable, str(PROBE), module], input=json.dumps(cases), capture_output=True,
        text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


BCM = "GPIO.setmode(GPIO.BCM)"
BOARD = "GPIO.setmode(GPIO.BOARD)"

CASES = {
    "setmode": [BCM, "GPIO.setmode(GPIO.BOARD)", "GPIO.setmode(12)", "GPIO.getmode()",
                "GPIO.setmode(None)", "GPIO.setmode(mode=11)", "GPIO.setmode()"],
    "setmode invalid first": ["GPIO.setmode(12)", "GPIO.setmode('x')"],
    "setup checks": [BCM, "GPIO.setup(17, 5, pull_up_down=99, initial=7)",
                     "GPIO.setup(17, GPIO.OUT, pull_up_down=GPIO.PUD_UP)",
                     "GPIO.setup(17, GPIO.IN, initial=1)", "GPIO.setup(17, GPIO.IN, pull_up_down=99)",
                     "GPIO.setup('17', GPIO.IN)", "GPIO.setup([17, '18'], GPIO.IN)",
                     "GPIO.setup(17)", "GPIO.setup(pin=17, direction=1)",
                     "GPIO.setup(17, GPIO.OUT, initial=None)", "GPIO.setup(17, 'out')",
                     "GPIO.setup(17, 1, 20, -1, 5)", "GPIO.setup(17, 1, channel=17)"],
    "setup channels": [BCM, "GPIO.setup(-1, GPIO.IN)", "GPIO.setup(58, GPIO.IN)",
                       "GPIO.setup(2**40 + 17, GPIO.OUT)", "GPIO.gpio_function(17)",
                       "GPIO.setup(2**70, GPIO.IN)", "GPIO.setup(True, GPIO.IN)",
                       "GPIO.setup((22, 23), GPIO.IN, pull_up_down=GPIO.PUD_UP)",
                       "[GPIO.gpio_function(g) for g in (1, 22, 23)]"],
    "board pins": [BOARD] + [f"GPIO.setup({pin}, GPIO.IN)" for pin in range(0, 42)],
    "i2c pull warning": [BCM, "GPIO.setup(2, GPIO.IN, pull_up_down=GPIO.PUD_UP)",
                         "GPIO.setup(3, GPIO.IN)", "GPIO.setup(0, GPIO.IN, pull_up_down=GPIO.PUD_DOWN)"],
    "setwarnings": [BCM, "GPIO.setwarnings(False)",
                    "GPIO.setup(2, GPIO.IN, pull_up_down=GPIO.PUD_UP)", "GPIO.cleanup(5)",
                    "GPIO.setwarnings('no')", "GPIO.setwarnings(True)", "GPIO.cleanup(5)"],
    "output": [BCM, "GPIO.setup([17, 18], GPIO.OUT)", "GPIO.output(17, 1)", "GPIO.output(17, -1)",
               "GPIO.output(17, 2**40)", "GPIO.output([17, 18], [1, 0])", "GPIO.output((17, 18), 1)",
               "GPIO.output([], [])", "GPIO.output([], 1)", "GPIO.output(17, (0, 0))",
               "GPIO.output([17, 18], [])", "GPIO.output(17, [1])", "GPIO.output(17.0, 1)",
               "GPIO.output(17, '1')", "GPIO.output(17, None)", "GPIO.output([17, 18], [1, '0'])",
               "GPIO.output([17, None], 1)", "GPIO.output(channel=17, value=1)", "GPIO.output(17)",
               "GPIO.output(22, 1)", "GPIO.output(60, 1)"],
    "input": [BCM, "GPIO.input(17)", "GPIO.input(99)", "GPIO.input([17])", "GPIO.input(17, 18)",
              "GPIO.input(channel=17)", "GPIO.input(2**40)", "GPIO.setup(17, GPIO.IN)",
              "GPIO.input(17)", "type(GPIO.input(17)).__name__"],
    "cleanup": [BCM, "GPIO.cleanup()", "GPIO.setup(17, GPIO.OUT)", "GPIO.cleanup(18)",
                "GPIO.cleanup(99)", "GPIO.cleanup('17')", "GPIO.cleanup([1.5])",
                "GPIO.cleanup(channel=17)", "GPIO.setup(17, GPIO.OUT)", "GPIO.cleanup()",
                "GPIO.gpio_function(17)"],
    "gpio_function": [BCM, "GPIO.gpio_function(5)", "GPIO.setup(6, GPIO.OUT)",
                      "GPIO.gpio_function(6)", "GPIO.gpio_function(99)", "GPIO.gpio_function('6')"],
    "board mode functions": [BOARD, "GPIO.setup(11, GPIO.OUT)", "GPIO.gpio_function(11)",
                             "GPIO.output(11, 1)", "GPIO.input(1)", "GPIO.getmode()"],
    # issue 15's list cases: RPi.GPIO looks at a cleanup list only once its registers are mapped,
    # and checks each element's type, then its value, then the channel
    "lists before setup": [BCM, "GPIO.cleanup([27, [0], 1, 1])", "GPIO.cleanup([1000, 'x'])",
                           "GPIO.cleanup('x')", "GPIO.cleanup(2**70)"],
    "lists after setup": [BCM, "GPIO.setup(16, GPIO.OUT)", "GPIO.cleanup([1000, 'x'])",
                          "GPIO.output([16, 99], [1, 'x'])", "GPIO.output([16, 99], [1, 1])",
                          "GPIO.output([99, 'x'], [1, 1])", "GPIO.output(['x', 16], [1, 1])",
                          "GPIO.output([16, 2**70], [None, 1])", "GPIO.cleanup([[0], 16])"],
    # issue 15's PWM cases: both arguments are parsed first, C-parser texts, float32 storage
    "pwm arguments": [BCM, "GPIO.PWM(27, 'x')", "GPIO.PWM(27, [1])", "GPIO.PWM(27, None)",
                      "GPIO.PWM(27, 5)", "GPIO.PWM('27', 5)", "GPIO.PWM(27)", "GPIO.PWM()",
                      "GPIO.PWM(27, 5, 6)", "GPIO.PWM(channel=27, frequency=5)",
                      "GPIO.setup(27, GPIO.OUT)", "GPIO.PWM(27, 0)", "GPIO.PWM(27, 1e-50)",
                      "GPIO.PWM(27, -1)", "GPIO.PWM(27, 10**400)", "GPIO.PWM(27, 1j)",
                      "p = GPIO.PWM(27, 100, foo=1)", "GPIO.PWM(27, 100)", "p.start()",
                      "p.start(50, 1)", "p.start(dutycycle=50)", "p.start(nan)", "p.start(100.000001)",
                      "p.start(100.01)", "p.start(-1e-50)", "p.start(1e39)", "p.start('5')",
                      "p.ChangeDutyCycle()", "p.ChangeDutyCycle(dutycycle=5)", "p.ChangeDutyCycle(nan)",
                      "p.ChangeFrequency(nan)", "p.ChangeFrequency(inf)", "p.ChangeFrequency(1e-50)",
                      "p.ChangeFrequency(frequency=5)", "p.ChangeFrequency(2.5e3)", "p.stop(1)",
                      "p.stop(1, 2, 3)", "p.stop(x=1)", "p.stop()", "GPIO.PWM(27, nan)"],
    "pwm class": ["GPIO.PWM.__name__", "GPIO.PWM.__qualname__", "type(GPIO.PWM).__name__",
                  "GPIO.PWM.__doc__", "GPIO.PWM.start.__doc__", "GPIO.PWM.stop.__doc__",
                  "GPIO.PWM.ChangeDutyCycle.__doc__", "GPIO.PWM.ChangeFrequency.__doc__",
                  "issubclass(GPIO.PWM, object)"],
}


# Where docs/compat.md says RPIO differs on purpose: (case, statement) -> (RPi.GPIO, RPIO).
MODE_UNSET = {"error": "RuntimeError", "message": "Please set pin numbering mode using "
              "GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)", "warnings": []}
DOCUMENTED = {
    # cleanup() leaves RPi.GPIO without a mode; RPIO goes back to its default, BCM
    ("cleanup", "GPIO.gpio_function(17)"): (MODE_UNSET, {"value": "1", "warnings": []}),
}


@pytest.mark.parametrize("revision", ["c03111", "000e", "0002"])
def test_rpio_agrees_with_rpigpio(revision, shim):
    expected = probe("RPi.GPIO", CASES, revision, shim)
    actual = probe("RPIO", CASES, revision, shim)
    for name in CASES:
        assert len(actual[name]) == len(expected[name]) == len(CASES[name]), name
        for statement, want, got in zip(CASES[name], expected[name], actual[name]):
            if (name, statement) in DOCUMENTED:
                want_rpigpio, want_rpio = DOCUMENTED[name, statement]
                assert want == want_rpigpio, f"RPi.GPIO changed? {name}: {statement}"
                assert got == want_rpio, f"{name}: {statement}"
            else:
                assert got == want, f"{name}: {statement}"


RPI_INFO_CODES = [
    "2", "3", "4", "5", "6", "7", "8", "9", "d", "e", "f", "10", "11", "12", "13", "14", "15",
    "900021", "900032", "900092", "900093", "9000c1", "9020e0", "920092", "920093", "a01040",
    "a01041", "a02082", "a020a0", "a020d3", "a21041", "a22042", "a22082", "a32082", "a52082",
    "b03111", "b03112", "b03114", "c03111", "c03112", "c03114", "c03130", "d03114", "a03140",
    "902120",
]  # fmt: skip


def test_rpi_info_matches_for_every_board_rpigpio_knows(shim):
    cases = {"info": ["GPIO.RPI_INFO", "GPIO.RPI_REVISION"]}
    for code in RPI_INFO_CODES:
        expected = probe("RPi.GPIO", cases, code, shim)
        actual = probe("RPIO", cases, code, shim)
        assert actual == expected, code
