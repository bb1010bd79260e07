"""RPIO.sim as a workbench: wires and parts through RPIO's own API, the real-Pi jumper tests run
unchanged on a wired simulated board, history causes, pin views, and board files (TOML) built by
RPIO.sim.load_board_file and by RPIO_SIM_CONFIG at import."""

import importlib.util
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import RPIO
import RPIO.sim as sim

HARDWARE = pathlib.Path(__file__).resolve().parents[1] / "hardware" / "test_real_pi.py"
WAIT = 5.0


@pytest.fixture(autouse=True)
def stop_interrupts():
    yield
    RPIO.stop_waiting_for_interrupts()
    RPIO.cleanup_interrupts()


def real_pi_tests():
    spec = importlib.util.spec_from_file_location("rpio_real_pi_tests", HARDWARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", [
    "test_output_drives_input_through_the_wire",
    "test_pulls_decide_a_released_wire",
    "test_kernel_edges_reach_interrupt_callbacks_with_timestamps",
    "test_rpigpio_event_api_on_the_kernel",
])
def test_real_pi_jumper_tests_run_unchanged_on_a_wired_board(name):
    """tests/hardware/test_real_pi.py needs a jumper from GPIO 22 to GPIO 27 on a real Pi; here
    the jumper is RPIO.sim.wire(22, 27) and the very same test functions run."""
    sim.wire(22, 27)
    RPIO.setwarnings(False)
    getattr(real_pi_tests(), name)((22, 27))
    RPIO.cleanup_interrupts()
    RPIO.cleanup([22, 27])


def test_loopback_with_interrupt_callback_and_causes():
    wire = sim.wire(17, 27)
    assert (wire.gpios, wire.channels) == ((17, 27), (17, 27))
    RPIO.setup(17, RPIO.OUT, initial=RPIO.LOW)
    seen, done = [], threading.Event()

    def callback(gpio, value, event):
        seen.append((gpio, value, event.timestamp_ns))
        if len(seen) == 2:
            done.set()

    RPIO.add_interrupt_callback(27, callback, with_event=True)
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.output(17, 1)
    assert RPIO.input(27) == 1  # synchronous: no wait
    RPIO.output(17, 0)
    assert RPIO.input(27) == 0
    assert done.wait(WAIT), seen
    changes = sim.history(27)[-2:]
    assert [(g, v, t) for g, v, t in seen] == [(27, c.level, c.timestamp_ns) for c in changes]
    assert {c.cause for c in changes} == {f"pid {os.getpid()} output"}
    wire.remove()
    RPIO.output(17, 1)
    assert RPIO.input(27) == 0  # no wire, no level (27 is an input with RPIO's PUD_OFF)
    assert sim.wires() == []


def test_board_numbering_for_wires_and_parts():
    RPIO.setmode(RPIO.BOARD)
    wire = sim.wire(11, 13)  # header pins 11 and 13: GPIO 17 and 27
    assert wire.gpios == (17, 27) and wire.channels == (11, 13)
    button = sim.Button("bell", 15)  # GPIO 22
    assert button.gpio == 22 and sim.parts()[0].gpios == (22,)
    with pytest.raises(RPIO.Exceptions.InvalidChannelException):
        sim.wire(11, 2)  # pin 2 is 5V
    assert len(sim.wires()) == 1


def test_short_between_two_outputs(caplog):
    RPIO.setup(23, RPIO.OUT, initial=RPIO.HIGH)
    RPIO.setup(24, RPIO.OUT, initial=RPIO.LOW)
    with caplog.at_level("WARNING", logger="rpio_core.sim"):
        sim.wire(23, 24)
    assert sim.shorted() == (23, 24)
    assert RPIO.input(23) == 0  # documented: a short reads 0 on every pin of the net
    assert sim.history(23)[-1].cause == "short"
    assert sum("short circuit" in r.getMessage() for r in caplog.records) == 1


def test_button_bounce_reaches_the_interrupt_loop():
    bell = sim.Button("doorbell", 22)
    calls, done = [], threading.Event()

    def callback(gpio, value):
        calls.append(value)
        if len(calls) == 7:
            done.set()

    RPIO.add_interrupt_callback(22, callback, pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
    bell.press(bounce=(3, 4))  # 7 transitions in 4 ms
    assert done.wait(WAIT), calls
    assert calls == [0, 1, 0, 1, 0, 1, 0] and RPIO.input(22) == 0 and bell.is_pressed
    bell.release()
    assert RPIO.input(22) == 1 and not bell.is_pressed
    with pytest.raises(ValueError, match="bounce"):
        bell.press(bounce=5)
    assert not bell.is_pressed  # the bad call changed nothing
    causes = {c.cause for c in sim.history(22)}
    assert "part doorbell" in causes


def test_led_brightness_under_software_pwm():
    lamp = sim.LED("lamp", 18)
    RPIO.setup(18, RPIO.OUT, initial=RPIO.LOW)
    start = time.monotonic_ns()
    for _ in range(200):  # 25 % on, by the model's own timestamps
        RPIO.output(18, 1)
        t = time.monotonic_ns()
        while time.monotonic_ns() - t < 20_000:
            pass
        RPIO.output(18, 0)
        t = time.monotonic_ns()
        while time.monotonic_ns() - t < 60_000:
            pass
    before = time.monotonic_ns()
    brightness = lamp.brightness(since_ns=start)
    after = time.monotonic_ns()
    changes = sim.history(18)
    # On-time by the model's own timestamps of each output() (a loaded machine may stretch the
    # busy-waits; the LED must agree with what really happened).
    on = sum(b.timestamp_ns - a.timestamp_ns for a, b in zip(changes, changes[1:]) if a.level)
    assert on / (after - start) <= brightness <= on / (before - start)
    assert 0 < brightness < 1
    assert [on for _t, on in lamp.history()[:3]] == [False, True, False]
    assert lamp.is_on is False and sim.part("lamp").view().state["on"] is False


def test_servo_follows_pulses():
    arm = sim.Servo("arm", 12)
    RPIO.setup(12, RPIO.OUT, initial=RPIO.LOW)
    assert arm.angle is None
    for width in (1000, 2000):
        RPIO.output(12, 1)
        t = time.monotonic_ns()
        while time.monotonic_ns() - t < width * 1000:
            pass
        RPIO.output(12, 0)
    stamps = [c.timestamp_ns for c in sim.history(12)]
    widths = [(b - a) / 1000 for a, b in zip(stamps[::2], stamps[1::2])]  # as the model saw them
    angles = arm.pulses()
    assert angles and all(any(abs(w - seen) < 0.01 for seen in widths) for _t, w, _d in angles)
    for _t, width, degrees in angles:
        assert degrees == pytest.approx(min(180, max(0, (width - 1000) / 1000 * 180)), abs=0.051)
    assert arm.angle == angles[-1][2] and arm.angles()[-1] == (angles[-1][0], angles[-1][2])
    assert sim.parts()[0].state["angle"] == arm.angle


def test_generator_feeds_the_rpigpio_event_api():
    clock = sim.Generator("clock", 4, frequency=500, duty=0.5)
    RPIO.setup(4, RPIO.IN)
    clock.start()
    assert clock.running and sim.part("clock").state["pid"] == os.getpid()
    assert RPIO.wait_for_edge(4, RPIO.FALLING, timeout=2000) == 4
    assert RPIO.wait_for_edge(4, RPIO.RISING, timeout=2000) == 4
    clock.set(duty=1.0)
    clock.stop()
    assert not clock.running and clock.state["duty"] == 1.0
    clock.remove()
    with pytest.raises(KeyError):
        sim.part("clock")


def test_parts_views_and_part_lookup():
    sim.Button("b", 5, active_low=False)
    sim.LED("l", 6, active_low=True)
    sim.Servo("s", 13)
    sim.Generator("g", 19, 100.0, 0.3)
    views = sim.parts()
    assert [(v.name, v.kind, v.gpios) for v in views] == [
        ("b", "button", (5,)), ("l", "led", (6,)), ("s", "servo", (13,)), ("g", "generator", (19,))]
    assert views[0].state == {"pressed": False, "active_low": False}
    assert views[3].state == {"frequency": 100.0, "duty": pytest.approx(0.3), "running": False,
                              "pid": None}
    assert [type(sim.part(v.name)).__name__ for v in views] == ["Button", "LED", "Servo", "Generator"]
    sim.part("b").press()  # active high: drives 1
    assert sim.level(5) == 1
    with pytest.raises(ValueError, match="already on this board"):
        sim.LED("b", 7)
    with pytest.raises(TypeError):
        sim.Button("x", "5")
    assert len(sim.parts()) == 4


def test_history_and_pin_states():
    sim.drive(17, 1)
    sim.release(17)
    first, second = sim.history(17)[-2:]
    assert (first.level, first.cause, first.floating) == (1, f"drive pid {os.getpid()}", False)
    assert (second.level, second.floating) == (0, False)  # GPIO 17's pull-down
    t, gpio, level = first  # still a 3-tuple
    assert (gpio, level) == (17, 1) and t == first.timestamp_ns
    copied = pickle.loads(pickle.dumps(first))
    assert (copied, copied.cause, copied.floating) == (first, first.cause, first.floating)
    RPIO.setup(18, RPIO.OUT)
    sim.chip().write32(0x00, 4 << 6)  # GPIO 2 to ALT0
    views = {v.gpio: v for v in sim.pin_states()}
    assert len(views) == RPIO.gpio_count()
    assert views[18][:2] == (18, "OUT") and views[2].function == "ALT0" and views[2].signal == "SDA1"
    assert views[17].pull == RPIO.PUD_DOWN and views[40].floating and views[40].pull == RPIO.PUD_OFF
    sim.drive(40, 1)
    assert sim.pin_states()[40].drive == 1


def test_use_board_failure_keeps_the_current_board():
    RPIO.setup(17, RPIO.OUT)
    chip = sim.chip()
    with pytest.raises(ValueError):
        sim.use_board("pi42")
    with pytest.raises(ValueError, match="board name"):
        sim.use_board(shared="no/slash")
    assert sim.chip() is chip and sim.board_name() is None
    RPIO.output(17, 1)
    assert sim.level(17) == 1


# -- board files -------------------------------------------------------------------------------
BOARD_FILE = """
model = "pi4"
wires = [[17, 27], ["GPIO5", "BOARD31"]]   # BOARD31 is GPIO 6

[parts.doorbell]
type = "button"
pin = 22

[parts.porch]
type = "led"
pin = "GPIO18"

[parts.arm]
type = "servo"
pin = "BOARD32"

[parts.clock]
type = "generator"
pin = 4
frequency = 200
duty = 0.25
start = true
"""


def test_load_board_file_builds_the_board(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(BOARD_FILE)
    chip = sim.load_board_file(path)
    try:
        assert sim.chip() is chip and RPIO.RPI_INFO["TYPE"] == "Pi 4 Model B"
        assert [w.gpios for w in sim.wires()] == [(17, 27), (5, 6)]
        views = {v.name: v for v in sim.parts()}
        assert {n: (v.kind, v.gpios) for n, v in views.items()} == {
            "doorbell": ("button", (22,)), "porch": ("led", (18,)), "arm": ("servo", (12,)),
            "clock": ("generator", (4,))}
        assert views["clock"].state["running"] and views["clock"].state["duty"] == 0.25
        sim.part("doorbell").press()
        assert sim.level(22) == 0  # a button is active low by default in a board file
    finally:
        sim.part("clock").stop()


@pytest.mark.parametrize(("text", "message"), [
    ("model = 'pi42'", "board.toml: model"),
    ("colour = 'red'", "unknown key"),
    ("wires = [[17]]", r"wires\[0\] must list at least two pins"),
    ("wires = [[17, 'BOARD2']]", "header pin 2 .* is not a GPIO"),
    ("wires = [[17, 99]]", "GPIO 99 does not exist"),
    ("[parts.x]\ntype = 'relay'\npin = 3", "parts.x.type must be one of"),
    ("[parts.x]\ntype = 'led'", "parts.x.pin is missing"),
    ("[parts.x]\ntype = 'led'\npin = 3\nfrequency = 2", "unknown key"),
    ("[parts.x]\ntype = 'generator'\npin = 3", "frequency must be"),
    ("[parts.x]\ntype = 'generator'\npin = 3\nfrequency = 5\nduty = 2", "duty must be"),
    ("wires = [[17, 27]", "not valid TOML"),
])
def test_board_file_errors_name_the_file_and_change_nothing(tmp_path, text, message):
    path = tmp_path / "board.toml"
    path.write_text(text)
    chip = sim.chip()
    with pytest.raises(ValueError, match=message):
        sim.load_board_file(path)
    assert sim.chip() is chip and sim.parts() == [] and sim.wires() == []


def test_rpio_sim_config_builds_the_board_at_import(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(BOARD_FILE.replace("start = true", "start = false"))
    script = textwrap.dedent("""
        import RPIO, RPIO.sim
        RPIO.setup(17, RPIO.OUT)
        RPIO.setup(27, RPIO.IN)
        RPIO.output(17, 1)
        print(RPIO.input(27), sorted(p.name for p in RPIO.sim.parts()), RPIO.sim.board_name())
    """)
    env = dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_CONFIG=str(path))
    env.pop("RPIO_SIM_SHARED", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "['arm',", "'clock',", "'doorbell',", "'porch']", "None"]
