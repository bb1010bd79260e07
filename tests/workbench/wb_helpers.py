"""Helpers of the workbench tests (a module of its own: tests/ has several conftest.py)."""

import os
import sys
import time

import RPIO

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# the directory this test run imports RPIO from (a checkout's src/ or site-packages): children
# started by the tests import the very same code
RPIO_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(RPIO.__file__)))


def poll(condition, timeout=5.0, interval=0.002, message="condition"):
    """Poll ``condition()`` until it is truthy (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout} s")
        time.sleep(interval)


def subprocess_env(**extra):
    """The environment for a child Python: the RPIO this run tests, the simulated backend."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [RPIO_PARENT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["RPIO_BACKEND"] = "sim"
    env.pop("RPIO_SIM_SHARED", None)
    env.update(extra)
    return env


PYTHON = sys.executable
