"""``rpio mqtt CONFIG.toml``: serve a board's pins on an MQTT broker until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Optional, Sequence

# rpio's one exit-status scheme: a configuration that cannot be used, like a pin that cannot be
# had, is "could not be carried out" (1); argparse's own errors stay 2.
from ..cli_common import EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpio mqtt",
        description="Bridge this board's pins to an MQTT broker, with Home Assistant discovery "
        "(topics and configuration: docs/mqtt.md). Runs until SIGTERM or Ctrl-C; then it "
        "publishes 'offline' and releases the pins.")
    parser.add_argument("config", help="the TOML configuration file")
    parser.add_argument("--check", action="store_true",
                        help="check the configuration and the pins, then exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return parser


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = sys.stdout if out is None else out
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s",
                        level=logging.DEBUG if args.verbose else logging.INFO)
    from . import ConfigError, load_config, serve
    from .bridge import Bridge

    try:
        config = load_config(args.config)
        if args.check:
            async def check():
                bridge = Bridge(config)
                await bridge.start()
                bridge.release()

            asyncio.run(check())
            out.write(f"{args.config}: OK ({len(config.pins)} pins, device {config.device}, "
                      f"broker {config.broker.host}:{config.broker.port})\n")
            return 0
        asyncio.run(serve(config))
    except ConfigError as error:
        sys.stderr.write(f"rpio mqtt: {error}\n")
        return EXIT_FAILED
    except (RuntimeError, OSError, ValueError) as error:
        # no paho-mqtt, a line another program holds, no permission: said, not a traceback
        sys.stderr.write(f"rpio mqtt: {error}\n")
        return EXIT_FAILED
    return 0
