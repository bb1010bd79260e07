"""The engine table as a function (issue 17): which engine serves a pin."""

import pytest
from rpio_pwm import engine_table, pwm_engine


def test_pi0_4_dma_and_its_fallback():
    for soc in ("BCM2835", "BCM2837", "BCM2711"):
        assert pwm_engine(18, soc, simulated=False) == "dma"
        assert pwm_engine(18, soc, api="GPIO.PWM", simulated=False) == "dma"
        assert pwm_engine(18, soc, api="GPIO.PWM", simulated=False, dma_channel_free=False) == "software"
        assert pwm_engine(40, soc, simulated=False) is None  # the DMA path covers GPIO 0-31
        assert pwm_engine(40, soc, api="GPIO.PWM", simulated=False) == "software"


def test_pi5_pio_then_hardware_pwm_then_software():
    assert pwm_engine(4, "BCM2712", simulated=False, pio_device=True) == "pio"
    assert pwm_engine(4, "BCM2712", api="GPIO.PWM", simulated=False, pio_device=True) == "pio"
    assert pwm_engine(30, "BCM2712", simulated=False, pio_device=True) == "software"  # not on the header
    without = dict(simulated=False, pio_device=False)
    assert [pwm_engine(g, "BCM2712", **without) for g in (12, 13, 18, 19)] == ["hardware-pwm"] * 4
    assert pwm_engine(4, "BCM2712", **without) == "software"
    assert pwm_engine(18, "BCM2712", hardware_pwm_pins=(12,), **without) == "software"


def test_simulated_boards():
    assert pwm_engine(17, "BCM2711", simulated=True) == "dma-model"
    assert pwm_engine(17, "BCM2711", api="GPIO.PWM", simulated=True) == "software"
    assert pwm_engine(4, "BCM2712", simulated=True) == "pio"  # the emulator
    assert pwm_engine(4, "BCM2712", api="GPIO.PWM", simulated=True) == "pio"


def test_this_machine_and_the_table():
    assert pwm_engine(17) == "dma-model"  # the test machine is no Pi: rpio_pwm's simulated SoC
    rows = engine_table()
    assert {r["board"] for r in rows} >= {"Pi 0-4", "Pi 5", "simulated Pi 0-4", "simulated Pi 5"}
    with pytest.raises(ValueError):
        pwm_engine(17, "BCM2711", api="pigpio")
