"""Fixtures of tests/mqtt: a Mosquitto per test (mqtt_helpers.Broker), the test's own MQTT
clients, a shared simulated board, `rpio mqtt` subprocesses; all stopped after the test."""

import os

import pytest
from mqtt_helpers import Broker, BridgeProcess, Watcher


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    yield b
    b.stop()

@pytest.fixture
def watchers():
    made = []

    def make(*args, **kwargs):
        watcher = Watcher(*args, **kwargs)
        made.append(watcher)
        return watcher

    yield make
    for watcher in made:
        watcher.close()

@pytest.fixture
def shared_board(request):
    """This process attached to a fresh shared simulated board; removed afterwards."""
    import gc

    import RPIO
    import RPIO.sim as sim

    name = f"mqtt-{os.getpid()}-{request.node.name}"[:60]
    chip = sim.use_board("c03111", shared=name)  # a model named: no look at other boards
    yield name
    RPIO.cleanup_interrupts()
    sim.use_board("c03111")
    chip.detach()
    del chip
    gc.collect()
    sim.reset_board(name)


@pytest.fixture
def bridges():
    made = []

    def make(*args):
        bridge = BridgeProcess(*args)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.kill()
