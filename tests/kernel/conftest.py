"""Kernel tier: tests against the real Linux GPIO stack (gpio-sim + the GPIO character device).

Tests marked ``gpiosim`` need root and the gpio-sim driver with configfs, which is what the VM of
``python tests/kernel/run_tier.py`` provides; anywhere else they are skipped at once, with the
reason. Unmarked tests here (``test_kernel_uapi_offline.py``) run everywhere.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for `import gpiosim`, any import mode

import gpiosim


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gpiosim: needs the gpio-sim kernel driver (run inside the VM: python tests/kernel/run_tier.py)"
    )


def pytest_collection_modifyitems(config, items):
    ok, why = gpiosim.available()
    if ok:
        return
    skip = pytest.mark.skip(
        reason=f"kernel tier: {why}; run it in the gpio-sim VM with `python tests/kernel/run_tier.py`"
    )
    for item in items:
        if item.get_closest_marker("gpiosim") is not None:
            item.add_marker(skip)


@pytest.fixture
def sim():
    """Factory for simulated chips, all taken down at the end of the test:
    ``sim(num_lines=8, label='pinctrl-bcm2711', line_names={...}, hogs={...})``."""
    chips = []

    def make(num_lines=8, label="rpio-test", **kw):
        chip = gpiosim.Chip(num_lines=num_lines, label=label, **kw)
        chips.append(chip)
        return chip

    yield make
    for chip in reversed(chips):
        chip.close()
