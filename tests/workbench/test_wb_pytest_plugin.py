"""The pytest plugin shipped with rpio, used the way RPIO's users use it: a sample project in a
temporary directory, its tests run by pytest in a subprocess (``-p`` with entry points off, and
through the installed ``pytest11`` entry point), and the guide's doorbell example project."""

import importlib.metadata
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib

import pytest

import RPIO.sim
from RPIO.workbench import vcd
from RPIO.workbench.pytest_plugin import Trace
from wb_helpers import ROOT, subprocess_env

PLUGIN = "RPIO.workbench.pytest_plugin"

BLINKER = '''
"""The program under test: blinks an LED, counts button presses (BCM numbering)."""
import threading
import time

import RPIO

LED, BUTTON = 27, 17
presses = []


def blink(times, on_s, off_s):
    RPIO.setup(LED, RPIO.OUT, initial=RPIO.LOW)
    for _ in range(times):
        RPIO.output(LED, 1)
        time.sleep(on_s)
        RPIO.output(LED, 0)
        time.sleep(off_s)


def count_presses():
    RPIO.add_interrupt_callback(BUTTON, lambda gpio, value: presses.append(value),
                                edge="falling", pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
'''

TESTS = '''
import time

import pytest
import RPIO

import blinker


def test_blinks_three_times(sim_board):
    blinker.blink(3, 0.02, 0.01)
    trace = sim_board.trace(27)
    assert trace.levels == [1, 0, 1, 0, 1, 0]
    # sleep() never returns early, so each pulse lasts at least 20 ms; a busy machine only makes
    # it longer (no upper bound: that would make the test depend on the machine's load)
    assert len(trace.pulses(1)) == 3 and min(trace.pulses(1)) >= 0.02
    sim_board.assert_levels(27, [1, 0, 1, 0, 1, 0])


def test_every_test_gets_a_fresh_board(sim_board):
    # the previous test left GPIO 27 an output; this board has never seen it
    assert sim_board.pin(27).function == "IN"
    assert sim_board.history() == []
    assert RPIO.getmode() == RPIO.BCM


def test_presses_reach_the_program(sim_board):
    blinker.presses.clear()
    blinker.count_presses()             # its pull-up lifts GPIO 17 (pulled down at reset)
    sim_board.drive(17, 0)
    sim_board.release(17)
    sim_board.drive(17, 0)
    trace = sim_board.wait_for_edges(17, 4)
    assert trace.levels == [1, 0, 1, 0]
    assert sim_board.wait_for(17, 0) >= trace.times[-1]
    deadline = time.monotonic() + 5  # the callbacks run on the interrupt thread: poll for them
    while len(blinker.presses) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert blinker.presses == [0, 0]


@pytest.mark.sim_board("0002")
def test_a_rev_1_board_by_marker(sim_board):
    assert sim_board.info.p1_revision == 1
    RPIO.setmode(RPIO.BOARD)
    RPIO.setup(3, RPIO.OUT)           # BOARD pin 3 is GPIO 0 on a rev 1 board (pulled up)
    RPIO.output(3, 1)
    assert sim_board.gpio(3) == 0
    assert sim_board.trace(3).levels == [0, 1]


def test_rpio_sim_is_reachable_through_the_fixture(sim_board):
    assert sim_board.is_simulated()
    assert sim_board.chip is RPIO.sim.chip()
    with pytest.raises(AttributeError, match="neither the sim_board fixture nor RPIO.sim"):
        sim_board.no_such_thing


def test_a_failing_trace_is_reported(sim_board):
    blinker.blink(1, 0.001, 0.001)
    assert sim_board.trace(27) == [(0.0, 1)]
'''


def run_pytest(project: pathlib.Path, *args, autoload=False, timeout=120):
    env = subprocess_env()
    env.pop("PYTEST_ADDOPTS", None)
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout)


def summary(output: str) -> dict:
    counts = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (passed|failed|error|skipped)",
                                                            output.strip().splitlines()[-1]))
    return counts


@pytest.fixture
def sample_project(tmp_path):
    project = tmp_path / "blinker_project"
    project.mkdir()
    (project / "blinker.py").write_text(BLINKER)
    (project / "test_blinker.py").write_text(TESTS)
    return project


def test_a_sample_project_tests_its_program_with_the_fixture(sample_project):
    vcd_dir = sample_project / "traces"
    result = run_pytest(sample_project, "-p", PLUGIN, "--sim-board-vcd", str(vcd_dir))
    output = result.stdout + result.stderr
    assert summary(output) == {"passed": 5, "failed": 1}, output
    assert result.returncode == 1
    # the failing test's report shows the board's level changes and where its VCD went
    assert "sim_board: level changes" in output
    assert re.search(r"2 level changes on a simulated Pi 4 Model B", output), output
    assert "GPIO27 -> 1" in output and "GPIO27 -> 0" in output
    assert "levels: [1, 0]" in output  # the Trace comparison explained
    (written,) = vcd_dir.glob("*.vcd")
    assert "test_a_failing_trace_is_reported" in written.name
    assert [v for _t, v in vcd.read_vcd(written).values("GPIO27")] == ["0", "1", "0"]


def test_options_choose_the_model(sample_project):
    (sample_project / "test_model.py").write_text(textwrap.dedent('''
        def test_model(sim_board):
            assert sim_board.info.chip == "rp1" and sim_board.model == "pi5"
    '''))
    result = run_pytest(sample_project, "-p", PLUGIN, "--sim-board", "pi5", "test_model.py")
    assert summary(result.stdout) == {"passed": 1}, result.stdout + result.stderr
    (sample_project / "pytest.ini").write_text("[pytest]\nsim_board_model = zero2w\n")
    (sample_project / "test_model.py").write_text(
        "def test_model(sim_board):\n    assert sim_board.info.model.startswith('Zero 2')\n")
    result = run_pytest(sample_project, "-p", PLUGIN, "test_model.py")
    assert summary(result.stdout) == {"passed": 1}, result.stdout + result.stderr


def _installed_entry_point():
    try:
        points = importlib.metadata.distribution("rpio").entry_points
    except importlib.metadata.PackageNotFoundError:
        return None
    for point in points:
        if point.group == "pytest11" and point.value == PLUGIN:
            return point
    return None


def test_the_package_declares_the_pytest11_entry_point():
    project = tomllib.loads((pathlib.Path(ROOT) / "packages/rpio/pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {PLUGIN: PLUGIN}
    assert "board" in project["project"]["optional-dependencies"]


@pytest.mark.skipif(_installed_entry_point() is None,
                    reason="rpio is not pip-installed here (its pytest11 entry point is not in "
                           "this environment)")
def test_installed_rpio_loads_the_plugin_by_itself(sample_project):
    result = run_pytest(sample_project, "test_blinker.py::test_blinks_three_times", autoload=True)
    assert summary(result.stdout) == {"passed": 1}, result.stdout + result.stderr
    # and naming it as well is harmless (the entry point is named after the module)
    result = run_pytest(sample_project, "-p", PLUGIN, "test_blinker.py::test_blinks_three_times",
                        autoload=True)
    assert summary(result.stdout) == {"passed": 1}, result.stdout + result.stderr


@pytest.mark.skipif(not hasattr(RPIO.sim, "Button"),
                    reason="RPIO.sim has no parts yet (the doorbell tests press a Button part)")
def test_the_guide_s_doorbell_project_passes(tmp_path):
    project = tmp_path / "doorbell"
    shutil.copytree(pathlib.Path(ROOT) / "examples" / "doorbell_tests", project,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    result = run_pytest(project, "-p", PLUGIN)
    counts = summary(result.stdout)
    assert result.returncode == 0 and counts.get("passed", 0) >= 4 and "failed" not in counts, (
        result.stdout + result.stderr)


def test_trace_arithmetic():
    start = 1_000_000_000
    trace = Trace(4, [(start + 10_000_000, 1), (start + 30_000_000, 0), (start + 35_000_000, 1),
                      (start + 60_000_000, 0)], start)
    assert trace.levels == [1, 0, 1, 0]
    assert trace.times == pytest.approx([0.01, 0.03, 0.035, 0.06])
    assert trace.pulses(1) == pytest.approx([0.02, 0.025])
    assert trace.pulses(0) == pytest.approx([0.005])
    assert trace.rising() == pytest.approx([0.01, 0.035])
    assert trace == [(0.01, 1), (0.03, 0), (0.035, 1), (0.06, 0)]
    assert trace != [(0.01, 1)]
    assert trace.waveform(width=20) == ("GPIO4: ___" + "‾" * 6 + "__" + "‾" * 8 + "_"
                                        + "  (4 changes in 0.063 s)")
    assert Trace(5, [], start, initial=1).waveform(width=4) == "GPIO5: ‾‾‾‾ (no change)"
