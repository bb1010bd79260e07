"""What users run: the spec's example scripts, RPi.GPIO-style programs, the `rpio` command."""

import io
import os
import pathlib
import subprocess
import sys

import pytest

import RPIO
import RPIO.cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(args, **env):
    environment = dict(os.environ, RPIO_BACKEND="sim", **env)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environment, timeout=60
    )


def test_spec_gpio_io_example_runs_verbatim():
    result = run([str(EXAMPLES / "spec_gpio_io.py")])
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def test_spec_gpio_io_example_does_what_it_says(fresh_board):
    code = (EXAMPLES / "spec_gpio_io.py").read_text()
    namespace = {}
    fresh_board.clear_history()
    exec(compile(code, "spec_gpio_io.py", "exec"), namespace)
    assert namespace["input_value"] == 1  # GPIO 7 with its pull-up
    levels = [(gpio, level) for _, gpio, level in fresh_board.history() if gpio == 8]
    # GPIO 8 is pulled up at reset; setup(OUT) turns the pull off (0), output(8, True) gives 1,
    # setup(..., initial=LOW) 0 again
    assert levels == [(8, 0), (8, 1), (8, 0)]
    assert fresh_board.pin_state(17).pull == 2  # set_pullupdn(17, PUD_UP): BCM 17 pulled up
    assert RPIO.getmode() == RPIO.BCM  # cleanup() went back to the default


RPIGPIO_PROGRAM = """
import RPi.GPIO as GPIO
GPIO.setmode(GPIO.BOARD)
GPIO.setwarnings(False)
GPIO.setup(11, GPIO.OUT, initial=GPIO.LOW)
GPIO.setup(13, GPIO.IN, pull_up_down=GPIO.PUD_UP)
for _ in range(3):
    GPIO.output(11, not GPIO.input(11))
print(GPIO.input(11), GPIO.input(13), GPIO.gpio_function(11), GPIO.RPI_INFO['P1_REVISION'])
GPIO.cleanup()
"""


def test_an_rpigpio_program_runs_with_rpio_as_rpi_gpio(tmp_path):
    """A package named RPi whose GPIO is RPIO: the drop-in, exactly as a user would alias it."""
    (tmp_path / "RPi").mkdir()
    (tmp_path / "RPi" / "__init__.py").write_text("")
    (tmp_path / "RPi" / "GPIO.py").write_text("from RPIO import *\nfrom RPIO import VERSION\n")
    (tmp_path / "program.py").write_text(RPIGPIO_PROGRAM)
    result = run([str(tmp_path / "program.py")])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "0", "3"]


def test_cli_sysinfo_and_version_as_a_subprocess():
    result = run(["-m", "RPIO.cli", "--sysinfo", "--version"], RPIO_SIM_BOARD="a02082")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    version = RPIO.version()[0]
    assert lines[0] == (f"RPIO v{version} (rpio-core {version}, rpio-interrupts {version}, "
                        f"rpio-pwm {version})")
    assert lines[1] == ("a02082: Model 3B, Revision 1.2, RAM: 1024 MB, Maker: Sony UK "
                        "(simulated board: no Raspberry Pi here)")


def test_cli_inspect_names_every_alt_function():
    out = io.StringIO()
    assert RPIO.cli.main(["--setoutput", "17:1", "-i", "17,18"], out=out) == 0
    # RPIO 0.10's words and layout (docs/compat.md)
    assert out.getvalue().splitlines() == ["GPIO 17: OUTPUT (1)", "GPIO 18: INPUT  (0)"]
    RPIO.sim.chip().write32(0x00, 4 << 6)  # GPIO 2 to ALT0
    out = io.StringIO()
    assert RPIO.cli.main(["-I"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 58  # a BCM2711 has 58 GPIOs
    assert lines[2] == "GPIO 2: ALT0   (1)  SDA1"


def test_cli_exit_status_scheme(capsys):
    # 1: cannot be carried out; 5: no such GPIO (RPIO 0.10's); 2: a bad command line
    assert RPIO.cli.main(["--setinput", "22:pullup", "-s", "22:1"]) == 1
    assert "Use --setoutput 22 first" in capsys.readouterr().err
    assert RPIO.cli.main(["-i", "60"]) == 5
    assert "GPIO 60 does not exist" in capsys.readouterr().err
    assert RPIO.cli.main(["--setinput", "22:sideways"]) == 2
    assert RPIO.cli.main(["get", "99"]) == 5
    assert RPIO.cli.main(["set", "17=2"]) == 2
    assert RPIO.cli.main(["-s", "60:1"]) == 5


def test_cli_inspect_skips_a_range_beyond_the_board_and_reports_listed_ids(capsys):
    # RPIO 0.10: ids past the board in a range are skipped; a listed one is reported (status 5)
    out = io.StringIO()
    assert RPIO.cli.main(["-i", "56-60"], out=out) == 0
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == ["GPIO 56", "GPIO 57"]
    out = io.StringIO()
    assert RPIO.cli.main(["-i", "17,60,18"], out=out) == 5
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == ["GPIO 17", "GPIO 18"]
    assert "GPIO 60 does not exist" in capsys.readouterr().err


def test_cli_set_writes_an_output(fresh_board):
    assert RPIO.cli.main(["--setoutput", "23", "-s", "23:1"], out=io.StringIO()) == 0
    assert fresh_board.level(23) == 1


def test_cli_without_action_prints_help():
    result = run(["-m", "RPIO.cli"])
    assert result.returncode == 0 and "usage: rpio" in result.stdout


@pytest.mark.parametrize("name", ["pi1", "pi3", "pi4", "pi5"])
def test_backend_log_line_names_the_simulated_model(name):
    code = "import logging; logging.basicConfig(level=logging.INFO); import RPIO; RPIO.gpio_count()"
    result = run(["-c", code], RPIO_SIM_BOARD=name)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("simulated") == 1


def test_cli_wait_for_interrupts_prints_each_edge_with_its_timestamp():
    import threading
    import time

    out = io.StringIO()
    runner = threading.Thread(target=RPIO.cli.main,
                              args=(["-w", "17:rising:pullup,27:pulldown", "--count", "2"],),
                              kwargs={"out": out})
    runner.start()
    deadline = time.monotonic() + 5
    while RPIO.default_interruptor().interrupt_callbacks().keys() != {17, 27}:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    while not RPIO.default_interruptor().running:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert RPIO.sim.level(17) == 1 and RPIO.sim.level(27) == 0  # the pulls were applied
    RPIO.sim.drive(17, 0)  # falling: not reported for 17 (rising only)
    RPIO.sim.drive(27, 1)
    RPIO.sim.drive(17, 1)
    runner.join(5)
    assert not runner.is_alive()
    lines = out.getvalue().splitlines()
    stamps = [entry.timestamp_ns for entry in RPIO.sim.history() if entry.gpio in (17, 27)][-2:]
    assert lines == [
        f"GPIO 27 interrupt: value = 1, timestamp = {stamps[0] / 1e9:.9f} s, seqno = 1",
        f"GPIO 17 interrupt: value = 1, timestamp = {stamps[1] / 1e9:.9f} s, seqno = 1",
    ]
    assert RPIO.default_interruptor().interrupt_callbacks() == {}


def test_the_readme_doorbell_runs_on_the_simulated_board():
    result = run([str(EXAMPLES / "doorbell.py")])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("RPIO 2") and "simulated Pi 4 Model B" in lines[0]
    assert [line.split(" (")[0] for line in lines[1:4]] == [
        "ding dong #1", "ding dong #2", "ding dong #3"]
    assert lines[4] == "the LED lit 3 times"
