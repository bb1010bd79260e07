"""RPIO 0.10's RPIO.PWM API, on the model: names, values, errors, lifecycle, Servo."""

import logging

import pytest
import rpio_pwm as PWM
from rpio_pwm import _session, model


def test_constants():
    assert (PWM.DELAY_VIA_PWM, PWM.DELAY_VIA_PCM) == (0, 1)
    assert (PWM.LOG_LEVEL_DEBUG, PWM.LOG_LEVEL_ERRORS) == (0, 1)
    assert PWM.SUBCYCLE_TIME_US_DEFAULT == 20000
    assert PWM.PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT == 10
    assert PWM.VERSION == PWM.__version__
    for name in PWM.__all__:
        assert hasattr(PWM, name), name


def test_before_setup():
    assert PWM.is_setup() == 0
    assert PWM.get_pulse_incr_us() == 65535
    assert PWM.is_channel_initialized(3) == 0
    assert PWM.get_channel_subcycle_time_us(3) == 0
    with pytest.raises(RuntimeError, match="call `setup"):
        PWM.init_channel(3)
    with pytest.raises(RuntimeError, match="channel 3 has not been initialized"):
        PWM.add_channel_pulse(3, 17, 0, 10)
    PWM.cleanup()  # nothing to clean: fine


def test_backend_is_announced_once(caplog):
    with caplog.at_level(logging.INFO, logger="rpio_pwm"):
        PWM.setup()
        PWM.setup()
    lines = [r.getMessage() for r in caplog.records if "backend" in r.getMessage()]
    assert len(lines) == 1 and "model" in lines[0]
    assert PWM.backend_name() == "model"


def test_setup_is_idempotent_and_cleanup_allows_another_setup():
    PWM.setup()
    PWM.setup(10, PWM.DELAY_VIA_PWM)
    assert PWM.is_setup() == 1 and PWM.get_pulse_incr_us() == 10
    with pytest.raises(RuntimeError, match="already called"):
        PWM.setup(5)
    PWM.cleanup()
    PWM.cleanup()
    assert PWM.is_setup() == 0
    PWM.setup(5, PWM.DELAY_VIA_PCM)
    assert PWM.get_pulse_incr_us() == 5
    PWM.init_channel(4, 3000)
    assert PWM.get_channel_subcycle_time_us(4) == 3000


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: PWM.init_channel(15), ValueError, "maximum channel is 14"),
    (lambda: PWM.init_channel(-1), ValueError, "maximum channel is 14"),
    (lambda: PWM.init_channel(3, 2990), ValueError, "too small"),
    (lambda: PWM.init_channel(3, 20005), ValueError, "not a multiple"),
    (lambda: PWM.init_channel(3, 10_000_000), ValueError, "max 200000"),
    (lambda: PWM.init_channel(3, 3000.0), TypeError, "integer"),
    (lambda: PWM.setup(0), ValueError, "pulse_incr_us"),
    (lambda: PWM.setup(10, 2), ValueError, "delay_hw"),
    (lambda: PWM.set_loglevel(7), ValueError, "log level"),
])
def test_argument_errors(call, exc, msg):
    if "setup" not in repr(call.__code__.co_names):
        PWM.setup()
    with pytest.raises(exc, match=msg) as ei:
        call()
    if exc is ValueError:
        assert isinstance(ei.value, RuntimeError)  # RPIO 0.10 raised RuntimeError: still true


def test_pulse_errors_and_nothing_half_applied():
    PWM.setup()
    PWM.init_channel(3, 3000)
    PWM.add_channel_pulse(3, 17, 10, 20)
    ctrl = _session.backend().ctrl
    before = [ctrl.ring_masks(3, s) for s in range(300)]
    bad = [(3, 17, 290, 11), (3, 17, -1, 5), (3, 17, 5, -1), (3, 40, 0, 1), (3, -1, 0, 1)]
    for args in bad:
        with pytest.raises(PWM.PWMArgumentError):
            PWM.add_channel_pulse(*args)
    with pytest.raises(PWM.PWMArgumentError):
        PWM.set_channel_pulses(3, 17, [(0, 10), (295, 10)])  # the second is bad: none is applied
    assert [ctrl.ring_masks(3, s) for s in range(300)] == before
    PWM.init_channel(4, 3000)
    with pytest.raises(ValueError, match="already driven by DMA channel 3"):
        PWM.add_channel_pulse(4, 17, 0, 1)
    with pytest.raises(RuntimeError, match="already initialized"):
        PWM.init_channel(3, 3000)
    with pytest.raises(RuntimeError, match="not yet been set up"):
        PWM.clear_channel_gpio(3, 22)
    with pytest.raises(ValueError, match="driven by DMA channel 3, not 4"):
        PWM.clear_channel_gpio(4, 17)


def test_full_width_and_last_sample_are_allowed():
    PWM.setup()
    PWM.init_channel(3, 3000)
    PWM.add_channel_pulse(3, 17, 0, 300)
    PWM.add_channel_pulse(3, 18, 299, 1)


def test_waveform_through_the_api():
    PWM.setup()
    PWM.init_channel(2, 20000)
    PWM.add_channel_pulse(2, 17, 0, 50)
    PWM.add_channel_pulse(2, 17, 100, 50)
    PWM.add_channel_pulse(2, 18, 49, 2)
    b = model.board()
    b.advance_us(40_020)
    t0 = b.ring_starts_us(2)[0]
    assert b.pulses(17)[:4] == [(t0, 500.0), (t0 + 1000, 500.0), (t0 + 20000, 500.0), (t0 + 21000, 500.0)]
    assert b.pulses(18)[:2] == [(t0 + 490, 20.0), (t0 + 20490, 20.0)]
    PWM.clear_channel(2)
    assert b.level(17) == 0 and b.level(18) == 0
    n = len(b.transitions())
    b.advance_us(40_000)
    assert len(b.transitions()) == n


def test_print_channel(capsys):
    PWM.setup()
    PWM.init_channel(1, 3000)
    PWM.add_channel_pulse(1, 17, 5, 10)
    PWM.print_channel(1)
    out = capsys.readouterr().out
    assert "Subcycle time: 3000us" in out and "Num samples:   300" in out and "GPIO 17: [5, +10)" in out
    PWM.print_channel(2)
    assert "not initialized" in capsys.readouterr().out
    PWM.set_loglevel(PWM.LOG_LEVEL_ERRORS)
    PWM.print_channel(1)
    assert capsys.readouterr().out == ""
    PWM.set_loglevel(PWM.LOG_LEVEL_DEBUG)
    with pytest.raises(ValueError, match="max channel is 14"):
        PWM.print_channel(15)


def test_servo_defaults_and_widths():
    s = PWM.Servo()
    assert s.dma_channel == PWM.default_dma_channel() == 14  # a Pi 0-3 model: the highest legacy channel
    s.set_servo(17, 1500)
    s.set_servo(18, 10)
    b = model.board()
    b.advance_us(40_020)
    t0 = b.ring_starts_us(14)[0]
    assert b.pulses(17)[:2] == [(t0, 1500.0), (t0 + 20000, 1500.0)]
    assert b.pulses(18)[:2] == [(t0, 10.0), (t0 + 20000, 10.0)]


def test_set_servo_changes_width_without_a_dropout():
    s = PWM.Servo(dma_channel=6)
    s.set_servo(17, 1500)
    b = model.board()
    b.advance_us(20_000)
    for w in (1510, 1490, 2000, 1000):
        s.set_servo(17, w)
        b.advance_us(20_000)
    widths = [w for _, w in b.pulses(17)]
    assert widths == [1500.0, 1510.0, 1490.0, 2000.0, 1000.0]  # one pulse per subcycle, none missing
    s.stop_servo(17)
    assert b.level(17) == 0


def test_servo_errors_are_attribute_errors():
    s = PWM.Servo(dma_channel=5, subcycle_time_us=10000)
    with pytest.raises(AttributeError, match="cannot divide a pulse-time of 1505us"):
        s.set_servo(17, 1505)
    with pytest.raises(AttributeError, match="outside 0..10000us"):
        s.set_servo(17, 10010)
    with pytest.raises(ValueError, match="GPIO 0..31"):
        s.set_servo(40, 1000)
    with pytest.raises(AttributeError, match="increment granularity of 10us instead of 20us"):
        PWM.Servo(pulse_incr_us=20)
    PWM.init_channel(7, 3000)
    with pytest.raises(AttributeError, match="DMA channel 7 is setup with a subcycle_time of 3000us \\(instead of 20000us\\)"):
        PWM.Servo(dma_channel=7).set_servo(17, 1000)
    with pytest.raises(AttributeError, match="integer"):
        PWM.Servo(dma_channel="7")
    with pytest.raises(PWM.ServoError):
        PWM.Servo(dma_channel=15)


def test_dma_channel_from_environment(monkeypatch):
    monkeypatch.setenv("RPIO_PWM_DMA_CHANNEL", "9")
    assert PWM.Servo().dma_channel == 9


def test_model_soc_choice(monkeypatch):
    monkeypatch.setenv("RPIO_PWM_MODEL_SOC", "BCM2711")
    PWM.setup()
    assert model.board().soc == "BCM2711"
    assert PWM.default_dma_channel() == 10
    with pytest.raises(ValueError, match="DMA4"):
        PWM.init_channel(12)


def test_wall_clock_model_follows_time(monkeypatch):
    monkeypatch.setenv("RPIO_PWM_MODEL_CLOCK", "wall")
    fake = [1_000_000_000]
    monkeypatch.setattr(_session.time, "monotonic_ns", lambda: fake[0])
    PWM.setup()
    PWM.init_channel(3, 20000)
    PWM.add_channel_pulse(3, 17, 0, 100)
    fake[0] += 100_000_000  # 100 ms later: five subcycles have run, without any Python per pulse
    b = model.board()
    assert b.now_us == 100_000
    assert [w for _, w in b.pulses(17)] == [1000.0] * 5
    fake[0] += 3600 * 10**9  # an hour of idling: only the last 2 s are simulated
    assert b.now_us == 100_000 + 3600 * 10**6
    assert len(b.pulses(17)) == 5 + 100


def test_atexit_cleanup_is_registered():
    PWM.setup()
    assert _session._atexit_registered
    _session._at_exit()
    assert PWM.is_setup() == 0
