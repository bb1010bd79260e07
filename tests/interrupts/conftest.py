"""Fixtures for the rpio-interrupts tests (helpers in intr_helpers.py)."""

from __future__ import annotations

import logging

import pytest
from intr_helpers import PipeProvider, live_threads, open_fds
from rpio_interrupts import Interruptor


@pytest.fixture
def provider() -> PipeProvider:
    prov = PipeProvider()
    yield prov
    prov.close_all()


@pytest.fixture
def loop(provider):
    intr = Interruptor(provider)
    yield intr
    intr.cleanup_interrupts()


@pytest.fixture
def running(loop):
    """The loop, running in its thread."""
    loop.wait_for_interrupts(threaded=True)
    return loop


@pytest.fixture
def caplog_rpio(caplog):
    caplog.set_level(logging.DEBUG, logger="RPIO")
    return caplog


@pytest.fixture
def no_leaks():
    """Fails the test if file descriptors or threads outlive it."""
    fds = open_fds()
    threads = live_threads()
    yield
    leaked_threads = [t.name for t in live_threads() - threads]
    leaked_fds = open_fds() - fds
    assert not leaked_threads, f"threads left running: {leaked_threads}"
    assert not leaked_fds, f"file descriptors left open: {sorted(leaked_fds)}"
