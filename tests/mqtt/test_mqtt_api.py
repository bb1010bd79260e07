"""RPIO.mqtt from code: Bridge.start/run/stop on this process's own (private) simulated board,
in a running asyncio loop, against a real Mosquitto; and the reconnect delays doubling."""

import asyncio
import logging

import pytest

import RPIO
import RPIO.mqtt
import RPIO.sim as sim
from mqtt_helpers import free_port, write_config

pytest.importorskip("paho.mqtt.client", reason="needs paho-mqtt 2 (rpio[mqtt])")

PINS = """
[[input]]
name = "button"
gpio = 5
pull = "up"
[[output]]
name = "led"
gpio = 6
"""


def test_the_bridge_from_code(tmp_path, broker, watchers):
    sim.use_board("c03111")
    watcher = watchers(broker, ["rpio/#"])
    config = RPIO.mqtt.load_config(write_config(tmp_path / "c.toml", broker, pins=PINS))

    async def main():
        loop = asyncio.get_running_loop()

        def expect(*args):
            return loop.run_in_executor(None, watcher.expect, *args)

        bridge = RPIO.mqtt.Bridge(config)
        await bridge.start()
        assert RPIO.gpio_function(6) == RPIO.OUT  # set up before anything connects
        task = asyncio.create_task(bridge.run())
        await expect("rpio/pi1/gpio/button/state", b"1")
        sim.drive(5, 0)
        await expect("rpio/pi1/gpio/button/state", b"0")
        watcher.publish("rpio/pi1/gpio/led/set", b"ON")
        await expect("rpio/pi1/gpio/led/state", b"1")
        assert sim.level(6) == 1
        bridge.stop()
        await asyncio.wait_for(task, 20)
        await expect("rpio/pi1/availability", b"offline")
        assert bridge.pins == {} and RPIO.gpio_function(6) == RPIO.IN

    asyncio.run(main())
    # the line of GPIO 5 is free again: the interrupt loop may take it
    RPIO.add_interrupt_callback(5, lambda gpio, value: None)
    RPIO.cleanup_interrupts()


def test_reconnect_delays_double_up_to_the_maximum(tmp_path):
    sim.use_board("c03111")
    # a port that was free a moment ago: nothing listens, every attempt is refused
    path = tmp_path / "c.toml"
    path.write_text(f'device = "pi1"\n[broker]\nhost = "127.0.0.1"\nport = {free_port()}\n'
                    'reconnect_min = 0.01\nreconnect_max = 0.08\n' + PINS)
    config = RPIO.mqtt.load_config(str(path))
    delays = []
    handler = logging.Handler()
    handler.emit = lambda record: delays.append(record.args[-1]) \
        if "next try in" in record.msg else None
    logging.getLogger("RPIO.mqtt").addHandler(handler)

    async def main():
        bridge = RPIO.mqtt.Bridge(config)
        task = asyncio.create_task(bridge.run())
        while len(delays) < 6:
            await asyncio.sleep(0.01)
        bridge.stop()
        await asyncio.wait_for(task, 20)

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        logging.getLogger("RPIO.mqtt").removeHandler(handler)
    assert delays[:6] == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08]
