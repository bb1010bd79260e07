"""Shared pytest options. Tiers: the default run (simulated chips), tests/kernel (inside the
gpio-sim VM, via `tox -e kernel`), tests/hardware (a real Pi, `tox -e hardware`)."""

import os

os.environ.setdefault("RPIO_BACKEND", "sim")  # never touch a real board from the default tier


def pytest_addoption(parser):
    parser.addoption(
        "--run-hardware",
        action="store_true",
        help="run tests/hardware against this machine's real GPIO (a Raspberry Pi)",
    )
