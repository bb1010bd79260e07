"""Issue 10, finding 9: a DMA channel another program holds is refused, never taken over."""

import pytest
import rpio_pwm as PWM
from rpio_pwm import _session, model
from rpio_pwm.gpio_pwm import make_pwm_class


def _sim():
    PWM.setup()
    return model.board().sim


@pytest.mark.parametrize("active", [True, False], ids=["active", "paused"])
def test_servo_on_a_busy_default_channel_is_refused(active):
    sim = _sim()
    ch = PWM.default_dma_channel()
    sim.occupy_channel(ch, active, 0xCD000100)
    with pytest.raises(PWM.DMAChannelBusyError) as err:
        PWM.Servo().set_servo(17, 1500)
    text = str(err.value)
    assert f"DMA channel {ch} is in use" in text
    assert "Servo(dma_channel=N)" in text and "RPIO_PWM_DMA_CHANNEL" in text
    assert isinstance(err.value, RuntimeError)  # RPIO 0.10's error type still catches it
    assert sim.takeovers == 0 and sim.channel_foreign(ch)
    assert not PWM.is_channel_initialized(ch)
    # Choosing another channel works, and the other program's channel stays untouched.
    servo = PWM.Servo(dma_channel=ch - 1)
    servo.set_servo(17, 1500)
    board = model.board()
    board.advance_us(60000)
    assert [round(w) for _, w in board.pulses(17)][:2] == [1500, 1500]
    PWM.cleanup()
    assert sim.takeovers == 0 and sim.channel_foreign(ch)


def test_init_channel_on_a_busy_channel_changes_nothing():
    sim = _sim()
    sim.occupy_channel(5)
    with pytest.raises(PWM.DMAChannelBusyError, match="DMA channel 5 is in use"):
        PWM.init_channel(5)
    assert PWM.is_channel_initialized(5) == 0 and sim.takeovers == 0


def test_rpi_gpio_pwm_skips_busy_channels():
    sim = _sim()
    be = _session.backend()
    first, second = be.candidate_channels()[:2]
    sim.occupy_channel(first)
    writes = []
    cls = make_pwm_class(lambda c: c, lambda g, lv: writes.append((g, lv)))
    p = cls(18, 100)
    p.start(25)
    assert be.is_channel_initialized(second) and not be.is_channel_initialized(first)
    assert sim.takeovers == 0 and sim.channel_foreign(first)
    p.stop()
