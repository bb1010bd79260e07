"""Fixtures for rpio-pwm: every test runs on the model with a manual clock, and leaves no session."""


import pytest
from rpio_pwm import _pwm, _session

TICKS = _pwm.TICKS_PER_US


@pytest.fixture(autouse=True)
def pwm_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RPIO_PWM_BACKEND", "model")
    monkeypatch.setenv("RPIO_PWM_MODEL_CLOCK", "manual")
    monkeypatch.setenv("RPIO_PWM_DT_ROOT", str(tmp_path / "no-device-tree"))
    for var in ("RPIO_PWM_MODEL_SOC", "RPIO_PWM_DMA_CHANNEL", "RPIO_PWM_SYSFS_ROOT", "RPIO_PWM_HW_PINS"):
        monkeypatch.delenv(var, raising=False)
    # rpio_pwm on its own: no umbrella board (tests/rpio may have imported RPIO in this process).
    sources = _session._pin_writer_source, _session._sim_board_source, _session._writer
    _session.set_pin_writer_source(None)
    _session.set_sim_board_source(None)
    _session.reset()
    yield
    _session.reset()
    _session.set_gpio_writer(sources[2])
    _session.set_pin_writer_source(sources[0])
    _session.set_sim_board_source(sources[1])


@pytest.fixture
def sim():
    return _pwm.SimSoc("BCM2837")


@pytest.fixture
def ctrl(sim):
    c = _pwm.Controller(sim)
    yield c
    c.cleanup()
