"""PWM that keeps time (issue 17) as users meet it: no hang at any frequency, DMA PWM on the
simulated board driving the board's pins at the model's times, and the engine table."""

import os
import subprocess
import sys
import time

import pytest

import RPIO
import RPIO.sim
from RPIO import PWM
from rpio_pwm import _session, model


@pytest.fixture(autouse=True)
def pwm_reset():
    _session.reset()
    yield
    PWM.cleanup()
    _session.reset()


@pytest.fixture
def manual_clock(monkeypatch):
    monkeypatch.setenv("RPIO_PWM_MODEL_CLOCK", "manual")


def _run(script, **env):
    full = dict(os.environ, RPIO_BACKEND="sim", **env)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=full, timeout=120)


@pytest.mark.timeout(180)
def test_1mhz_pwm_returns_and_the_program_exits():
    r = _run("""
import logging
logging.basicConfig(level=logging.WARNING)
import RPIO as GPIO
GPIO.setmode(GPIO.BCM)
GPIO.setup(23, GPIO.OUT)
p = GPIO.PWM(23, 1e6)
p.start(50)
p.ChangeDutyCycle(10)
p.ChangeFrequency(2e6)
p.stop()
GPIO.setup(24, GPIO.OUT)
q = GPIO.PWM(24, 1e6)
q.start(50)          # the program ends with this PWM running
print("returned")
""")
    assert r.returncode == 0, r.stderr
    assert "returned" in r.stdout
    assert r.stderr.count("runs as closely as it can") == 2  # one log line per pin


def test_dma_servo_drives_the_simulated_board(fresh_board, manual_clock):
    fresh_board.add_part("servo", "arm", 17)
    fresh_board.add_part("led", "lamp", 18)
    PWM.Servo().set_servo(17, 1500)
    PWM.setup()
    PWM.init_channel(9, 10000)
    PWM.add_channel_pulse(9, 18, 0, 250)  # 2.5 ms of 10 ms on the LED
    board = model.board()
    board.advance_us(100_000)
    link = _session.backend().link
    hist = [(e.t_ns, e.gpio, e.level) for e in fresh_board.history() if e.gpio in (17, 18)]
    in_model = [(link.ticks_to_ns(t), g, lv) for t, g, lv in board.transitions_ticks() if g in (17, 18)]
    assert hist == in_model and len(hist) >= 18  # the board shows the model's edges at the model's times
    rises = [t for t, g, lv in hist if g == 17 and lv]
    falls = [t for t, g, lv in hist if g == 17 and not lv]
    assert all(b - a == 20_000_000 for a, b in zip(rises, rises[1:]))
    assert all(f - r == 1_500_000 for r, f in zip(rises, [f for f in falls if f > rises[0]]))
    angles = fresh_board.servo_pulses("arm")
    assert angles and all(width == 1500.0 and deg == 90.0 for _, width, deg in angles)
    lamp = fresh_board.led_history("lamp")  # (t_ns, on): 2.5 ms on, 7.5 ms off, at the model's times
    ons = [t for t, on in lamp if on]
    offs = [t for t, on in lamp if not on and t > ons[0]]
    assert len(ons) >= 5 and all(f - o == 2_500_000 for o, f in zip(ons, offs))
    assert all(b - a == 10_000_000 for a, b in zip(ons, ons[1:]))


def test_dma_on_the_board_with_the_wall_clock(fresh_board):
    PWM.Servo().set_servo(17, 1200)
    deadline = time.monotonic() + 30
    while len([e for e in fresh_board.history() if e.gpio == 17]) < 8:  # the pump thread, no Python
        assert time.monotonic() < deadline, "the DMA model's edges never reached the board"
        time.sleep(0.02)
    hist = [(e.t_ns, e.level) for e in fresh_board.history() if e.gpio == 17]
    rises = [t for t, lv in hist if lv]
    pairs = [(r, f) for r, f in zip(rises, [t for t, lv in hist if not lv and t > rises[0]])]
    assert all(f - r == 1_200_000 for r, f in pairs[1:])  # exact: the model's times (the 1st may be cut)
    PWM.cleanup()
    assert fresh_board.level(17) == 0


def test_the_model_follows_the_current_board(fresh_board, board, manual_clock):
    PWM.Servo().set_servo(17, 1000)
    assert _session.backend().sim.soc == "BCM2711"
    chip = board("a02082")  # a Pi 3: a new board, a new model of its SoC
    PWM.Servo().set_servo(4, 1000)
    be = _session.backend()
    assert be.sim.soc == "BCM2837"
    model.board().advance_us(50_000)
    assert [e for e in chip.history() if e.gpio == 4]


MS = 200_000  # PIO cycles (200 MHz) in a millisecond


def _pulses(chip, gpio):
    hist = [(e.t_ns, e.level) for e in chip.history() if e.gpio == gpio]
    rises = [t for t, lv in hist if lv]
    falls = [t for t, lv in hist if not lv and rises and t > rises[0]]
    return rises, [f - r for r, f in zip(rises, falls)]


def test_simulated_pi5_servo_on_a_pio_state_machine(board, manual_clock):
    chip = board("pi5")
    PWM.Servo().set_servo(4, 1500)
    be = _session.backend()
    assert be.pio.sm_of(4) == 0 and be.pio.plan(4)["exact"]
    dev = be.pio_device
    dev.run_to_cycle(dev.now + 100 * MS)
    rises, widths = _pulses(chip, 4)
    assert len(rises) >= 4
    assert all(b - a == 20_000_000 for a, b in zip(rises, rises[1:]))  # exact, from the emulator's cycles
    assert set(widths) == {1_500_000}
    PWM.Servo().set_servo(4, 1210)
    dev.run_to_cycle(dev.now + 100 * MS)
    rises, widths = _pulses(chip, 4)
    assert widths[-1] == 1_210_000 and set(widths) <= {1_500_000, 1_210_000}
    PWM.Servo().stop_servo(4)
    assert chip.level(4) == 0 and be.pio.pins() == []


def test_simulated_pi5_gpio_pwm_exact_and_changes_on_period_boundaries(board, manual_clock):
    chip = board("pi5")
    RPIO.setup(4, RPIO.OUT)
    p = RPIO.PWM(4, 50)
    p.start(7.5)
    be = _session.backend()
    dev = be.pio_device
    dev.run_to_cycle(dev.now + 70 * MS)
    p.ChangeDutyCycle(5)
    dev.run_to_cycle(dev.now + 70 * MS)
    rises, widths = _pulses(chip, 4)
    assert all(b - a == 20_000_000 for a, b in zip(rises, rises[1:]))  # no period cut by the change
    assert widths[0] == 1_500_000 and widths[-1] == 1_000_000 and set(widths) == {1_500_000, 1_000_000}
    changed = widths.index(1_000_000)
    assert all(w == 1_000_000 for w in widths[changed:])
    p.ChangeFrequency(1000)  # 1 kHz, 5 %: another divider, restarted at once
    dev.run_to_cycle(dev.now + 5 * MS)
    rises, widths = _pulses(chip, 4)
    assert widths[-1] == 50_000 and rises[-1] - rises[-2] == 1_000_000
    p.stop()
    assert chip.level(4) == 0


def test_simulated_pi5_fallback_when_the_state_machines_are_taken(board, manual_clock, caplog):
    import logging

    chip = board("pi5")
    PWM.setup()
    be = _session.backend()
    for sm in range(4):
        be.pio_device.claim_foreign(sm)  # e.g. the kernel's pwm-pio overlay holds them
    with caplog.at_level(logging.INFO, logger="rpio_pwm"):
        PWM.Servo().set_servo(5, 1500)
    assert be.pio.pins() == [] and 5 in be.engine.pins()  # the C++ engine took over
    assert any("4 state machines are taken" in r.message for r in caplog.records)
    assert [e for e in chip.history() if e.gpio == 5]


def test_the_pin_writer_capsule_through_its_c_abi(fresh_board):
    """rpio_core.pin_writer(driver) called as a C consumer does (ctypes): write, write_at stamps the
    history at the given time, make_output, retain/release."""
    import ctypes

    import rpio_core

    class Table(ctypes.Structure):
        _fields_ = [("abi_version", ctypes.c_uint32), ("struct_size", ctypes.c_uint32),
                    ("num_gpios", ctypes.c_uint32), ("simulated", ctypes.c_uint32), ("ctx", ctypes.c_void_p),
                    ("retain", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)),
                    ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
                    ("write", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int)),
                    ("write_at", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                  ctypes.c_int64)),
                    ("make_output", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int))]

    from RPIO._gpio import _state

    cap = rpio_core.pin_writer(_state.driver)
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    t = Table.from_address(get(cap, b"rpio_core.pin_writer_v1"))
    assert t.abi_version == 1 and t.struct_size == ctypes.sizeof(Table) and t.simulated == 1
    assert t.num_gpios == _state.driver.num_gpios()
    write, release = t.write, t.release  # copies of the pointers: the table goes with the capsule
    ref = t.retain(t.ctx)
    assert t.make_output(ref, 21, 0) == 0
    stamp = time.monotonic_ns() - 5_000_000
    assert t.write_at(ref, 21, 1, stamp) == 0
    assert t.write(ref, 21, 0) == 0
    assert t.write(ref, 9999, 1) == -1  # a bad gpio is refused, not a crash
    hist = [(e.t_ns, e.level) for e in fresh_board.history() if e.gpio == 21]
    assert hist[0] == (stamp, 1) and hist[1][1] == 0 and hist[1][0] > stamp
    del cap, t  # the table and its own reference go; ours keeps the driver alive
    assert write(ref, 21, 1) == 0 and fresh_board.level(21) == 1
    release(ref)


def test_simulated_pi5_gpio_pwm_with_the_wall_clock(board):
    chip = board("pi5")
    RPIO.setup(6, RPIO.OUT)
    p = RPIO.PWM(6, 100)
    p.start(25)  # 2.5 ms of 10 ms, on the emulator's pump thread
    deadline = time.monotonic() + 30
    while len(_pulses(chip, 6)[1]) < 3:
        assert time.monotonic() < deadline, "the PIO emulator's edges never reached the board"
        time.sleep(0.02)
    rises, widths = _pulses(chip, 6)
    assert set(widths) == {2_500_000} and all(b - a == 10_000_000 for a, b in zip(rises, rises[1:]))
    p.stop()
    assert chip.level(6) == 0
