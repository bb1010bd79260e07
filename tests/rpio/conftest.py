import warnings

import pytest

import RPIO
import RPIO.sim


@pytest.fixture(autouse=True)
def fresh_board():
    """Every test starts on a fresh simulated Pi 4 with RPIO as just imported."""
    chip = RPIO.sim.use_board("c03111")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unexpected RuntimeWarning fails the test
        yield chip


@pytest.fixture
def board():
    """Switch to another model: board('0002') gives a rev-1 Pi 1 Model B, and so on."""
    return RPIO.sim.use_board
