"""Wires and parts, resolved in the chip model: the net resolution table (outputs, sources, pulls,
floating, shorts), synchronous propagation with edges, each part, and the errors that leave the
board unchanged."""

from __future__ import annotations

import logging
import math
import os
import select
import struct
import time

import pytest
import rpio_core as rc

# On every chip kind the test pins 40-42 start as inputs without a pull (BCM: 28+ have none;
# RP1: bank 1-2 pins have none), so a net of them floats until something drives or pulls it.
A, B, C = 40, 41, 42


def read_events(line: rc.SimEventLine) -> list[tuple[int, int, int, int]]:
    out, fd = [], line.fileno()
    while select.select([fd], [], [], 0)[0]:
        buf = os.read(fd, 48 * 64)
        for pos in range(0, len(buf), 48):
            out.append(struct.unpack_from("=QIII", buf, pos))
    return out


def make_output(driver: rc.Driver, gpio: int, level: int) -> None:
    driver.write(gpio, level)
    driver.set_function(gpio, rc.OUTPUT)


# (what is on pin A, what is on pin B) -> (level of the net, floating, shorted)
# "out1"/"out0": an output at that level; "src1"/"src0": an outside drive; "up"/"down": a pull;
# "-": nothing.
TABLE = [
    (("-", "-"), (0, True, False)),
    (("up", "-"), (1, False, False)),
    (("down", "-"), (0, False, False)),
    (("up", "down"), (0, True, False)),  # a divider: no defined level, reads 0
    (("src1", "-"), (1, False, False)),
    (("src0", "up"), (0, False, False)),  # a source beats a pull
    (("src1", "src1"), (1, False, False)),
    (("src1", "src0"), (0, False, True)),  # sources against each other: a short
    (("out1", "-"), (1, False, False)),
    (("out0", "up"), (0, False, False)),  # an output beats any pull
    (("out1", "src0"), (1, False, False)),  # an output beats any source
    (("out1", "out1"), (1, False, False)),
    (("out0", "out0"), (0, False, False)),
    (("out1", "out0"), (0, False, True)),  # outputs against each other: a short reads 0
]


def apply(chip: rc.SimChip, driver: rc.Driver, gpio: int, what: str) -> None:
    if what.startswith("out"):
        make_output(driver, gpio, int(what[-1]))
    elif what.startswith("src"):
        chip.drive(gpio, int(what[-1]))
    elif what in ("up", "down"):
        driver.set_pull(gpio, rc.PULL_UP if what == "up" else rc.PULL_DOWN)


@pytest.mark.parametrize(("ends", "expected"), TABLE, ids=["+".join(t[0]) for t in TABLE])
def test_net_resolution_table(kind, chip, driver, ends, expected, caplog):
    chip.wire([A, B, C])  # C: a plain input at the far end of the wire
    for gpio, what in zip((A, B), ends):
        apply(chip, driver, gpio, what)
    level, floating, shorted = expected
    for gpio in (A, B, C):
        assert chip.level(gpio) == level, (gpio, ends)
        assert chip.pin_state(gpio).floating is floating
    assert chip.shorted() == ((A, B, C) if shorted else ())
    assert driver.read(C) == level  # the register the drivers read agrees


def test_pull_on_one_end_decides_a_floating_input_on_the_other(chip, driver):
    chip.wire([A, B])
    assert chip.pin_state(B).floating
    driver.set_pull(A, rc.PULL_UP)
    assert chip.level(B) == 1 and not chip.pin_state(B).floating
    driver.set_pull(A, rc.PULL_OFF)
    assert chip.level(B) == 0 and chip.pin_state(B).floating


def test_propagation_is_synchronous_with_edges_and_causes(chip, driver):
    wire_id = chip.wire([A, B])
    line = chip.request_events(B)
    make_output(driver, A, 0)
    chip.clear_history()
    for value in (1, 0, 1):
        driver.write(A, value)
        assert chip.level(B) == value  # no delay: the model resolved the net in the write
    events = read_events(line)
    assert [e[1] for e in events] == [1, 2, 1]  # rising, falling, rising on B
    stamps = {e.gpio: [] for e in chip.history()}
    for entry in chip.history():
        stamps[entry.gpio].append(entry.t_ns)
        assert entry.cause == f"pid {os.getpid()} output"
    assert stamps[A] == stamps[B] == [e[0] for e in events]  # one time for the whole net
    chip.unwire(wire_id)
    assert chip.level(B) == 0 and chip.pin_state(B).floating  # on its own again
    assert chip.history()[-1].cause == f"wire pid {os.getpid()}"
    assert chip.wires() == []


def test_short_is_recorded_logged_once_and_ends(chip, driver, caplog):
    make_output(driver, A, 1)
    make_output(driver, B, 0)
    with caplog.at_level(logging.WARNING, logger="rpio_core.sim"):
        chip.wire([A, B])
        driver.write(B, 0)
        driver.write(A, 1)
    warnings = [r.getMessage() for r in caplog.records if r.name == "rpio_core.sim"]
    assert len(warnings) == 1 and f"short circuit on GPIO {A}, {B}" in warnings[0]
    assert [(e.gpio, e.level, e.cause) for e in chip.history()[-1:]] == [(A, 0, "short")]
    driver.write(B, 1)
    assert chip.shorted() == () and chip.level(A) == 1


def test_wire_errors_change_nothing(chip):
    n = chip.num_gpios()
    with pytest.raises(ValueError, match="at least two"):
        chip.wire([A])
    with pytest.raises(ValueError, match="twice"):
        chip.wire([A, A])
    with pytest.raises(IndexError):
        chip.wire([A, n])
    with pytest.raises(TypeError):
        chip.wire([A, "B"])
    with pytest.raises(KeyError):
        chip.unwire(12345)
    assert chip.wires() == [] and chip.net(A) == (A,)
    ids = [chip.wire([A, B]), chip.wire([B, C])]
    assert chip.net(A) == (A, B, C)
    assert chip.wires() == [(ids[0], (A, B)), (ids[1], (B, C))]


# -- parts -------------------------------------------------------------------------------------
def test_button_press_release_bounce(chip, driver):
    chip.add_part("button", "bell", A, active_low=True)
    driver.set_pull(A, rc.PULL_UP)
    chip.wire([A, B])
    line = chip.request_events(B)
    chip.button_set("bell", True)
    assert chip.level(B) == 0 and chip.part("bell")["pressed"] is True
    chip.button_set("bell", False)
    assert chip.level(B) == 1
    before = time.monotonic_ns()
    chip.button_bounce("bell", True, 3, 6.0)  # 3 bounces over 6 ms: 7 transitions, ends pressed
    took = time.monotonic_ns() - before
    events = read_events(line)
    assert [e[1] for e in events] == [2, 1] + [2, 1] * 3 + [2]  # falling = pressed (active low)
    assert took >= 6_000_000  # real time
    assert events[-1][0] - events[2][0] >= 6_000_000 * 0.99
    assert chip.level(A) == 0 and chip.history()[-1].cause == "part bell"
    with pytest.raises(ValueError, match="not a button"):
        chip.add_part("led", "lamp", C)
        chip.button_set("lamp", True)


def test_led_history_and_brightness(chip, driver):
    chip.add_part("led", "lamp", A)
    make_output(driver, A, 0)
    t_on = time.monotonic_ns()
    driver.write(A, 1)
    driver.write(A, 0)
    driver.write(A, 1)
    history = chip.led_history("lamp")
    assert [on for _t, on in history] == [False, True, False, True]
    assert history[1][0] >= t_on
    assert chip.part("lamp")["on"] is True
    assert 0.0 < chip.led_brightness("lamp") <= 1.0
    assert chip.led_brightness("lamp", since_ns=time.monotonic_ns()) == 1.0
    chip.add_part("led", "inverse", B, active_low=True)  # from 3V3: lit while the pin is low
    assert chip.part("inverse")["on"] is True  # B floats: reads 0


def test_led_brightness_under_pwm_from_a_generator(chip):
    chip.add_part("led", "lamp", A)
    chip.add_part("generator", "pwm", A, frequency=2000.0, duty=0.25)
    chip.generator_start("pwm")
    deadline = time.monotonic() + 5
    while len(chip.led_history("lamp")) < 200 and time.monotonic() < deadline:
        select.select([], [], [], 0.01)  # let the generator's thread run
    chip.generator_stop("pwm")
    timeline = chip.led_history("lamp")
    assert len(timeline) >= 200
    before = time.monotonic_ns()
    brightness = chip.led_brightness("lamp")
    after = time.monotonic_ns()
    on = sum(b[0] - a[0] for a, b in zip(timeline, timeline[1:]) if a[1])
    start = timeline[0][0]
    assert on / (after - start) <= brightness <= on / (before - start)  # exact bookkeeping
    highs = sorted(b[0] - a[0] for a, b in zip(timeline, timeline[1:]) if a[1])
    periods = sorted(c[0] - a[0] for a, c in zip(timeline[1::2], timeline[3::2]))
    # The generator's own timing, robust to a loaded machine: median high time / median period.
    assert highs[len(highs) // 2] / periods[len(periods) // 2] == pytest.approx(0.25, abs=0.1)


def test_servo_angles_from_pulse_widths(chip, driver):
    chip.add_part("servo", "arm", A)
    make_output(driver, A, 0)
    widths = [1000, 1500, 1500, 2000, 3000]  # the 3000 us pulse is not a servo pulse
    for width in widths:
        driver.write(A, 1)
        t0 = time.monotonic_ns()
        while time.monotonic_ns() - t0 < width * 1000:
            pass  # busy-wait the pulse: exact widths need no sleep
        driver.write(A, 0)
    # The widths the model saw (a loaded machine may stretch a busy-wait): the servo maps each
    # 500-2500 us pulse to (w - 1000) / 1000 * 180 degrees, clamped, and ignores moves under 1 degree.
    stamps = [e.t_ns for e in chip.history() if e.gpio == A]
    seen = [(b - a) / 1000 for a, b in zip(stamps[::2], stamps[1::2])]
    expected: list[float] = []
    for width in seen:
        if 500 <= width <= 2500:
            raw = min(180.0, max(0.0, (width - 1000) / 1000 * 180))
            degrees = math.floor(raw * 10 + 0.5) / 10  # rounded half up, to 0.1 degree
            if not expected or abs(expected[-1] - degrees) >= 1.0:
                expected.append(degrees)
    pulses = chip.servo_pulses("arm")
    assert [p[2] for p in pulses] == pytest.approx(expected, abs=0.051)
    assert {p[0] for p in pulses} <= set(stamps[1::2])  # stamped with the falling edge
    assert pulses and all(500 <= p[1] <= 2500 for p in pulses)
    assert all(any(abs(p[1] - w) < 0.01 for w in seen) for p in pulses)  # widths it saw


def test_generator_real_time_and_stop_releases(chip):
    chip.add_part("generator", "clk", A, frequency=1000.0, duty=0.5)
    line = chip.request_events(A)
    before = time.monotonic_ns()
    chip.generator_start("clk")
    returned = time.monotonic_ns()
    assert chip.part("clk")["running"] is True and chip.part("clk")["pid"] == os.getpid()
    with pytest.raises(RuntimeError, match="already running"):
        chip.generator_start("clk")
    events: list = []
    deadline = time.monotonic() + 30  # a timeout for a stuck generator, not a speed bound
    while len(events) < 41 and time.monotonic() < deadline:
        select.select([line.fileno()], [], [], 0.5)
        events += read_events(line)
    chip.generator_stop("clk")
    assert chip.part("clk")["running"] is False and chip.level(A) == 0  # let go: floats
    rising = [e[0] for e in events if e[1] == 1]
    periods = [b - a for a, b in zip(rising, rising[1:])]
    assert len(periods) >= 15
    # 1 kHz: a generator keeps its schedule (late wake-ups are caught up), so on average the
    # periods are 1 ms; a loaded machine can only make them longer, so only the lower bound
    # is asserted (an upper one would measure this machine's load, not the generator)
    assert (rising[-1] - rising[0]) / len(periods) >= 0.8 * 1_000_000
    assert before <= rising[0] <= returned  # high before start() returned
    chip.generator_set("clk", 50.0, 1.0)  # duty 1: steady high
    chip.generator_start("clk")
    assert chip.level(A) == 1
    chip.remove_part("clk")
    assert chip.level(A) == 0 and chip.parts() == []


def test_part_errors_change_nothing(chip):
    chip.add_part("button", "bell", A)
    before = chip.parts()
    for args, kwargs, error in [
        (("button", "bell", B), {}, ValueError),  # the name is taken
        (("button", "", B), {}, ValueError),
        (("button", "x" * 32, B), {}, ValueError),
        (("button", "bad name", B), {}, ValueError),
        (("relay", "r", B), {}, ValueError),
        (("led", "l", chip.num_gpios()), {}, IndexError),
        (("generator", "g", B), {"frequency": 0.0}, ValueError),
        (("generator", "g", B), {"frequency": 50.0, "duty": 1.5}, ValueError),
    ]:
        with pytest.raises(error):
            chip.add_part(*args, **kwargs)
    with pytest.raises(KeyError):
        chip.part("nothing")
    with pytest.raises(KeyError):
        chip.remove_part("nothing")
    with pytest.raises(ValueError):
        chip.button_bounce("bell", True, 2, -1.0)
    assert chip.parts() == before and chip.level(A) == 0
