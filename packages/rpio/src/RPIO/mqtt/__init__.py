"""``RPIO.mqtt``: a board's pins on an MQTT broker, with Home Assistant discovery.

From the command line: ``rpio mqtt CONFIG.toml``. From code::

    import asyncio, RPIO.mqtt

    config = RPIO.mqtt.load_config("garage.toml")   # checked whole; ConfigError names file and key
    asyncio.run(RPIO.mqtt.serve(config))             # until SIGTERM/SIGINT

or, to control its lifetime yourself, ``bridge = RPIO.mqtt.Bridge(config)``,
``await bridge.start()`` (sets the pins up), ``await bridge.run()`` and ``bridge.stop()``.
Needs the ``mqtt`` extra (paho-mqtt 2): ``pip install 'rpio[mqtt]'``. Topics, payloads and the
configuration format: docs/mqtt.md.
"""

from __future__ import annotations

import asyncio
import signal

from . import topics
from .bridge import Bridge
from .config import Config, ConfigError, load as load_config, parse as parse_config

__all__ = ["Bridge", "Config", "ConfigError", "load_config", "parse_config", "serve", "topics"]


async def serve(config: Config) -> Bridge:
    """Run a bridge until SIGTERM or SIGINT; then it publishes offline and releases the pins."""
    bridge = Bridge(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before the pins are set up: a signal
        loop.add_signal_handler(signum, bridge.stop)  # then still releases them
    try:
        await bridge.start()
        await bridge.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return bridge
