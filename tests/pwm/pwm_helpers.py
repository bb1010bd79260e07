"""Waveform helpers shared by the PWM tests (ticks to us, pulses of a gpio, first CB of a ring)."""

from rpio_pwm import _pwm

TICKS = _pwm.TICKS_PER_US


def us(t):
    """microseconds -> model ticks"""
    return round(t * TICKS)


def pulses(sim, gpio, since_ticks=0):
    """Completed high pulses of a pin as (start_ticks, width_ticks)."""
    out, rise = [], None
    for t, g, lv in sim.transitions():
        if g != gpio or t < since_ticks:
            continue
        if lv:
            rise = t
        elif rise is not None:
            out.append((rise, t - rise))
            rise = None
    return out


def first_cb(ctrl, ch):
    return ctrl.ring_info(ch)["first_cb_bus"]
