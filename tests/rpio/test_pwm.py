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
    """The edges reach the board's history in order, alternating, and stop() leaves the pin low.
    No wall-clock bounds: how close the edges are to their schedule is bench/pwm_soft.py's figure."""
    RPIO.setup(22, RPIO.OUT)
    p = RPIO.PWM(22, 200)  # 5 ms period
    fresh_board.clear_history()
    p.start(25)
    deadline = time.monotonic() + 30
    while len([e for e in fresh_board.history() if e.gpio == 22]) < 20:
        assert time.monotonic() < deadline, "no PWM edges on the board"
        time.sleep(0.01)
    p.stop()
    entries = [e for e in fresh_board.history() if e.gpio == 22]
    levels = [e.level for e in entries]
    assert levels[0] == 1 and all(a != b for a, b in zip(levels, levels[1:]))
    times = [e.t_ns for e in entries]
    assert times == sorted(times)
    assert fresh_board.level(22) == 0  # stop() drives the pin LOW
