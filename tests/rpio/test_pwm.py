"""RPIO.PWM as RPIO 0.10's module and as RPi.GPIO's class, on the simulated board."""

import re
import time

import pytest

import RPIO
import RPIO.PWM
from RPIO import PWM


@pytest.fixture(autouse=True)
def pwm_cleanup():
    yield
    PWM.cleanup()


def test_rpio_010_module_uses():
    assert PWM is RPIO.PWM
    assert PWM.DELAY_VIA_PWM == 0 and PWM.SUBCYCLE_TIME_US_DEFAULT == 20000
    servo = PWM.Servo(subcycle_time_us=20000, pulse_incr_us=10)
    servo.set_servo(17, 1200)
    assert RPIO.PWM.is_setup()
    assert RPIO.PWM.get_pulse_incr_us() == 10
    servo.stop_servo(17)


def test_the_dma_waveform_is_exact_on_the_model():
    from rpio_pwm import model

    PWM.setup(pulse_incr_us=10)
    PWM.init_channel(10, subcycle_time_us=20000)
    PWM.add_channel_pulse(10, 18, start=5, width=120)
    board = model.board()
    start = board.now_us
    board.run_until_us(start + 60000)
    pulses = [p for p in board.pulses(18) if p[0] > start]
    assert pulses and all(round(width) == 1200 for _, width in pulses[:2])


def test_rpigpio_class_uses():
    RPIO.setup(17, RPIO.OUT)
    p = RPIO.PWM(17, 50)
    assert isinstance(p, RPIO.PWM)
    assert type(p).__name__ == "PWM"

    class Dimmer(RPIO.PWM):  # RPi.GPIO's PWM is subclassable
        pass

    assert issubclass(Dimmer, RPIO.PWM)
    with pytest.raises(RuntimeError, match="A PWM object already exists for this GPIO channel"):
        Dimmer(17, 100)
    p.stop()


def test_rpigpio_class_errors():
    with pytest.raises(RuntimeError, match=re.escape("You must setup() the GPIO channel as an output first")):
        RPIO.PWM(18, 50)
    RPIO.setup(18, RPIO.OUT)
    with pytest.raises(ValueError, match=re.escape("frequency must be greater than 0.0")):
        RPIO.PWM(18, 0)
    p = RPIO.PWM(18, 100)
    with pytest.raises(ValueError, match=re.escape("dutycycle must have a value from 0.0 to 100.0")):
        p.start(101)
    with pytest.raises(TypeError, match="must be real number, not str"):
        p.ChangeDutyCycle("50")
    p.stop()
    p.stop()  # idempotent


def test_software_pwm_lands_on_the_simulated_pins(fresh_board):
    """The C++ engine's edges reach the board's history at the times it wrote them, and its schedule
    is exact (25 % of 5 ms). No wall-clock bounds: how late the edges are is bench/pwm_soft.py's."""
    RPIO.setup(22, RPIO.OUT)
    p = RPIO.PWM(22, 200)  # 5 ms period
    fresh_board.clear_history()
    p.start(25)
    engine = p._engine.engine  # the C++ engine serving the pin
    engine.set_edge_log(4096)
    deadline = time.monotonic() + 30
    while len([e for e in engine.edge_log() if e[2] == 22]) < 20:
        assert time.monotonic() < deadline, "no PWM edges"
        time.sleep(0.01)
    p.stop()
    edges = [e for e in engine.edge_log() if e[2] == 22]
    history = [(e.t_ns, e.level) for e in fresh_board.history() if e.gpio == 22]
    for due, written, _, level in edges:  # every scheduled edge is on the board, when it was written
        assert any(due <= t <= written and lv == level for t, lv in history), (due, written, level)
    rises = [due for due, _, _, lv in edges if lv == 1]
    falls = [due for due, _, _, lv in edges if lv == 0]
    assert all(b - a == 5_000_000 for a, b in zip(rises, rises[1:]))
    assert all(f - r == 1_250_000 for r, f in zip(rises, [f for f in falls if f > rises[0]]))
    levels = [lv for _, lv in history]
    assert all(a != b for a, b in zip(levels, levels[1:]))
    assert fresh_board.level(22) == 0  # stop() drives the pin LOW
