"""RPi.GPIO's PWM class from make_pwm_class: exact errors, lifecycle, and waveforms on the model."""

import gc
import re

import pytest
import rpio_pwm as PWMmod
from rpio_pwm import _session, model
from rpio_pwm.gpio_pwm import SoftwarePwmEngine, make_pwm_class
from rpio_pwm.software import SoftwareEngine

OUTPUT_MSG = "You must setup() the GPIO channel as an output first"


class Host:
    """A stand-in for the umbrella: which channels are outputs, and the pin writes."""

    def __init__(self, outputs=(17, 18, 22, 23, 24, 25, 26, 27)):
        self.outputs = set(outputs)
        self.writes = []

    def check_output(self, channel):
        if not isinstance(channel, int):
            raise ValueError("The channel sent is invalid on a Raspberry Pi")
        if channel not in self.outputs:
            raise RuntimeError(OUTPUT_MSG)
        return channel

    def write(self, gpio, level):
        self.writes.append((gpio, level))


@pytest.fixture
def host():
    return Host()


@pytest.fixture
def PWM(host):
    return make_pwm_class(host.check_output, host.write)


def test_errors_are_rpi_gpio_s(PWM, host):
    with pytest.raises(RuntimeError, match=f"^{re.escape(OUTPUT_MSG)}$"):
        PWM(4, 50)
    for f in (0, -1, 0.0, 1e-50):  # 1e-50 is 0.0 as a C float
        with pytest.raises(ValueError, match="^frequency must be greater than 0.0$"):
            PWM(17, f)
    PWM(17, float("nan")).stop()  # RPi.GPIO's "<= 0.0" test lets NaN through (docs/compat.md)
    with pytest.raises(TypeError, match="^must be real number, not str$"):
        PWM(17, "50")
    p = PWM(17, 50)
    with pytest.raises(RuntimeError, match="^A PWM object already exists for this GPIO channel$"):
        PWM(17, 100)
    for dc in (-0.1, 100.1):
        with pytest.raises(ValueError, match=r"^dutycycle must have a value from 0.0 to 100.0$"):
            p.start(dc)
        with pytest.raises(ValueError, match=r"^dutycycle must have a value from 0.0 to 100.0$"):
            p.ChangeDutyCycle(dc)
    with pytest.raises(TypeError, match="^must be real number, not str$"):
        p.ChangeDutyCycle("5")
    with pytest.raises(TypeError, match="^must be real number, not NoneType$"):
        p.start(None)
    with pytest.raises(ValueError, match="^frequency must be greater than 0.0$"):
        p.ChangeFrequency(0)
    with pytest.raises(TypeError):
        PWM(channel=18, frequency=50)  # positional only, as in RPi.GPIO
    p.stop()


def test_check_order_with_to_gpio(host):
    PWM = make_pwm_class(host.check_output, host.write, to_gpio=lambda ch: ch)
    p = PWM(17, 50)
    host.outputs.discard(17)
    with pytest.raises(RuntimeError, match="already exists"):  # RPi.GPIO checks this first
        PWM(17, 50)
    p.stop()


def test_subclassable_and_named(PWM):
    assert PWM.__name__ == "PWM"

    class Dimmer(PWM):
        def half(self):
            self.ChangeDutyCycle(50)

    d = Dimmer(18, 100)
    d.start(10)
    d.half()
    d.stop()


def test_dma_waveform_on_the_model(PWM, host):
    p = PWM(17, 50)
    p.start(25)
    b = model.board()
    ch = _session.backend().ctrl.owner(17)
    assert ch >= 1
    b.advance_us(60_020)
    t0 = b.ring_starts_us(ch)[0]
    assert b.pulses(17)[:3] == [(t0 + 20000 * k, 5000.0) for k in range(3)]
    b.advance_us(20_000)
    p.ChangeDutyCycle(50)
    b.advance_us(40_000)
    assert [w for _, w in b.pulses(17)][-2:] == [10000.0, 10000.0]
    p.ChangeFrequency(200)  # 5 ms period: a new ring
    b.advance_us(20_000)
    ps = b.pulses(17)[-3:]
    assert [w for _, w in ps] == [2500.0] * 3 and ps[1][0] - ps[0][0] == 5000.0
    p.stop()
    assert b.level(17) == 0 and _session.backend().ctrl.owner(17) == -1
    p.stop()  # idempotent


def test_zero_and_full_duty_on_the_model(PWM):
    lo, hi = PWM(22, 1000), PWM(23, 1000)
    lo.start(0)
    hi.start(100)
    b = model.board()
    b.advance_us(10_000)
    assert b.level(22) == 0 and b.level(23) == 1
    assert [lv for _, g, lv in b.transitions(23)] == [1]  # high, never a gap
    hi.ChangeDutyCycle(0)
    b.advance_us(2_000)
    assert b.level(23) == 0
    lo.stop()
    hi.stop()


def test_stop_drives_low_and_frees_the_pin(PWM, host):
    p = PWM(24, 10)
    p.stop()
    assert host.writes == [(24, 0)]  # never started: stop still drives the pin low
    p.stop()
    assert host.writes == [(24, 0)]
    q = PWM(24, 10)  # the record was dropped: a new PWM is fine
    q.start(50)
    q.stop()
    q.start(20)  # and start() again after stop() works
    with pytest.raises(RuntimeError, match="already exists"):
        PWM(24, 10)
    q.stop()


def test_deleting_the_object_stops_it(PWM):
    p = PWM(25, 100)
    p.start(50)
    ch = _session.backend().ctrl.owner(25)
    assert ch >= 0
    del p
    gc.collect()
    assert _session.backend().ctrl.owner(25) == -1 and model.board().level(25) == 0
    PWM(25, 100).stop()


def test_software_engine_choice(host):
    clock = [0]
    log = []
    eng = SoftwareEngine(lambda g, lv: log.append((eng.due_ns, g, lv)), clock_ns=lambda: clock[0], threaded=False)
    PWM = make_pwm_class(host.check_output, host.write, lambda g, w: SoftwarePwmEngine(g, w, engine=eng))
    p = PWM(26, 1000)
    p.start(30)
    eng.run_until(2_000_000)
    assert log == [(0, 26, 1), (300_000, 26, 0), (1_000_000, 26, 1), (1_300_000, 26, 0), (2_000_000, 26, 1)]
    p.stop()
    assert log[-1][1:] == (26, 0) and eng.pins() == []


def test_falls_back_to_software_when_no_dma_pacing_fits(PWM, host, monkeypatch):
    started = []
    monkeypatch.setattr(SoftwarePwmEngine, "start", lambda self, f, dc: started.append(self.gpio))
    monkeypatch.setattr(SoftwarePwmEngine, "stop", lambda self: None)
    pwms = [PWM(g, 100) for g in (17, 18, 22, 23, 24, 25, 26)]
    for p in pwms:
        p.start(50)
    assert started == [26]  # 6 channels share the FIFO exactly at 10 us; a 7th cannot
    assert PWMmod.is_setup() == 1
    for p in pwms:
        p.stop()
