"""`rpio selftest` as a Pi owner runs it: on simulated Pi 3, 4 and 5 with the jumper wire, with
the wire missing, with a pin in use, and stopped by SIGTERM halfway."""

import getpass
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from RPIO import selftest

jsonschema = pytest.importorskip("jsonschema")

TIMEOUT = 120
# Steps whose verdict does not depend on how busy this machine is: they must PASS. The PWM steps
# of the software engine measure real time, so a busy CI machine may make them WARN (never FAIL).
FUNCTIONAL = ("board", "wire-registers", "pulls", "function-readback", "edges", "debounce",
              "event-api", "tcp")


def environment(**env):
    result = dict(os.environ, RPIO_BACKEND="sim")
    result.pop("RPIO_SIM_SHARED", None)
    result.update(env)
    return result


def selftest_run(*args, **env):
    return subprocess.run([sys.executable, "-m", "RPIO", "selftest", *args], capture_output=True,
                          text=True, env=environment(**env), timeout=TIMEOUT)


@pytest.fixture
def board():
    name = f"selftest{os.getpid()}x{os.urandom(3).hex()}"
    yield name
    subprocess.run([sys.executable, "-m", "RPIO", "sim", "reset", name], capture_output=True,
                   env=environment(), timeout=TIMEOUT)
    for entry in os.listdir("/dev/shm"):
        if entry.startswith("rpio-sim.") and entry.endswith("." + name):
            os.unlink(os.path.join("/dev/shm", entry))


def pins(board_name, *gpios):
    result = subprocess.run([sys.executable, "-m", "RPIO", "info", "--json", "--sim", board_name,
                             ",".join(map(str, gpios))], capture_output=True, text=True,
                            env=environment(), timeout=TIMEOUT, check=True)
    return {row["gpio"]: (row["function"], row["pull"]) for row in json.loads(result.stdout)}


@pytest.mark.parametrize("model", ["pi3", "pi4", "pi5"])
def test_selftest_passes_on_a_simulated_pi_with_the_wire(model, tmp_path):
    report_file = tmp_path / "report.json"
    result = selftest_run("--quick", "--json", str(report_file), RPIO_SIM_BOARD=model)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(report_file.read_text())
    jsonschema.validate(report, selftest.SCHEMA)
    statuses = {step["id"]: step["status"] for step in report["steps"]}
    for step_id in FUNCTIONAL:
        assert statuses[step_id] == "PASS", (step_id, result.stdout)
    assert statuses["pwm-software-servo"] in ("PASS", "WARN")
    assert statuses["pwm-software-1khz"] in ("PASS", "WARN")
    # the timed engines run on the model's clock: exact, whatever the load
    timed = "pio" if model == "pi5" else "dma"
    for setting in ("servo", "1khz"):
        step = next(s for s in report["steps"] if s["id"] == f"pwm-{timed}-{setting}")
        assert step["status"] == "PASS", step
        assert step["figures"]["width_error_us"]["max"] == 0, step
        assert step["figures"]["period_error_us"]["max"] == 0, step
    assert "FAIL" not in statuses.values()
    software = next(s for s in report["steps"] if s["id"] == "pwm-software-1khz")
    assert software["figures"]["periods"] >= 30  # pulses were really measured on the wire
    # one line a step on standard output, then the verdict
    lines = result.stdout.splitlines()
    assert len(lines) == len(report["steps"]) + sum(
        1 for s in report["steps"] if s["advice"] and s["status"] in ("WARN", "FAIL")) + 1
    assert lines[-1].startswith("PASSED:")
    assert report["jumper"] == {"out": 22, "in": 27, "out_pin": 15, "in_pin": 13}
    # nothing personal in what people paste into bug reports
    text = report_file.read_text()
    assert socket.gethostname() not in text and getpass.getuser() not in text.replace('"root"', "")


def test_a_missing_wire_fails_the_wire_step_with_advice():
    result = selftest_run("--quick", "--json", "-", "--sim-no-wire")
    assert result.returncode == 1
    report = json.loads(result.stdout[result.stdout.index("{"):])
    jsonschema.validate(report, selftest.SCHEMA)
    steps = {step["id"]: step for step in report["steps"]}
    wire = steps["wire-registers"]
    assert wire["status"] == "FAIL"
    assert "jumper wire between GPIO 22 (pin 15) and GPIO 27 (pin 13)" in wire["advice"]
    for dependent in ("pulls", "edges", "debounce", "event-api", "pwm-software-servo"):
        assert steps[dependent]["status"] == "SKIP"
        assert "jumper wire" in steps[dependent]["summary"]
    assert steps["tcp"]["status"] == "PASS"  # what needs no wire still runs
    assert report["summary"]["passed"] is False
    assert "FAILED:" in result.stdout


def test_a_pin_in_use_is_refused_and_nothing_is_touched(board):
    # another program made GPIO 27 an output on the shared board
    subprocess.run([sys.executable, "-m", "RPIO", "--setoutput", "27:1", "--sim", board],
                   check=True, capture_output=True, env=environment(), timeout=TIMEOUT)
    before = pins(board, 22, 27)
    result = selftest_run("--quick", "--sim", board)
    assert result.returncode == 1
    assert "refusing to start: GPIO 27 is an output already" in result.stderr
    assert result.stdout == ""
    assert pins(board, 22, 27) == before


def test_sigterm_halfway_restores_the_pins(board):
    process = subprocess.Popen([sys.executable, "-m", "RPIO", "selftest", "--sim", board],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment())
    try:
        for line in process.stdout:
            if "idle CPU" in line:  # the edge steps are done; the PWM steps drive the pins next
                break
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 1, err
    assert "interrupted; GPIO 22 and 27 are inputs without pull again" in err
    assert pins(board, 22, 27) == {22: ("IN", "off"), 27: ("IN", "off")}
    # the simulated jumper it placed is gone too
    check = ("import RPIO; RPIO.gpio_count(); "
             "print([w.gpios for w in RPIO.sim.wires()])")
    wires = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                           env=environment(RPIO_SIM_SHARED=board), timeout=TIMEOUT, check=True)
    assert wires.stdout.strip() == "[]"


def test_measure_pulses_from_edge_timestamps():
    from RPIO.selftest.checks import measure_pulses

    # rises every 1000 us, 250 us wide: (timestamp_ns, value, seqno, callback ns)
    events = []
    for i in range(4):
        events.append((i * 1_000_000, 1, 0, 0))
        events.append((i * 1_000_000 + 250_000, 0, 0, 0))
    periods, widths = measure_pulses(events)
    assert periods == [1000.0, 1000.0, 1000.0]
    assert widths == [250.0, 250.0, 250.0, 250.0]


def test_restore_leaves_both_pins_inputs_without_pull_and_nothing_listening(fresh_board):
    import RPIO
    from RPIO.selftest import checks

    ctx = checks.Context(RPIO, 22, 27)
    RPIO.setup(22, RPIO.OUT, initial=1)
    RPIO.setup(27, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    RPIO.add_interrupt_callback(27, lambda gpio, value: None)
    checks.restore(ctx)
    assert [(RPIO.pin_info(g).function, RPIO.pin_info(g).pull) for g in (22, 27)] == [
        ("IN", RPIO.PUD_OFF), ("IN", RPIO.PUD_OFF)]
    assert RPIO.default_interruptor().interrupt_callbacks() == {}
