"""Fixtures for the rpio-core tests: fresh simulated chips and a clean fast path."""

from __future__ import annotations

import pytest
import rpio_core

KINDS = ("bcm2835", "bcm2836", "bcm2837", "bcm2711", "rp1")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def chip(kind: str) -> rpio_core.SimChip:
    return rpio_core.sim_chip(kind)


@pytest.fixture
def driver(kind: str, chip: rpio_core.SimChip) -> rpio_core.Driver:
    return rpio_core.make_driver(kind, chip)


@pytest.fixture
def clean_fastpath():
    rpio_core.fastpath_reset()
    yield
    rpio_core.fastpath_reset()
