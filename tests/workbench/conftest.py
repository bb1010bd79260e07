"""Shared fixtures of the workbench tests: a fresh simulated Pi 4 per test."""

import pytest

import RPIO
import RPIO.sim


@pytest.fixture(autouse=True)
def fresh_board():
    """Every test starts on a fresh private simulated Pi 4, RPIO as just imported."""
    chip = RPIO.sim.use_board("c03111")
    RPIO.setwarnings(False)
    yield chip
    RPIO.cleanup_interrupts()
    RPIO.sim.use_board("c03111")
