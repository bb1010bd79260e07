"""``rpio get``, ``rpio set``, ``rpio mon``, ``rpio info``: the verbs of the kernel's GPIO tools
(gpioget, gpioset, gpiomon, gpioinfo) on RPIO's board.

::

    rpio get 17 27                 17=1 27=0               the levels, nothing reconfigured
    rpio set 17=1 27=0             makes them outputs at those levels (no glitch: the level is
                                   latched before the pin turns output); refuses a pin in an ALT
                                   function unless --force
    rpio mon 17 --edge rising      one line per edge with its kernel timestamp, until Ctrl-C,
                                   SIGTERM or --count N; the bias stays as it is unless --bias
    rpio info [17 27]              function, ALT signal, level and pull of every (or these) GPIO

Every verb takes ``-P/--physical`` (the ids are header pin numbers, BOARD numbering), ``--json``
(one JSON document; ``mon`` writes one JSON object a line) and ``--sim NAME`` (a shared
simulated board). Ids are ``17``, ``2-27`` or ``17,27``, as in RPIO 0.10's flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .cli_common import (
    EXIT_STATUS_HELP,
    CommandError,
    UsageError,
    add_board_options,
    gpio_to_physical,
    open_board,
    resolve_ids,
)

_BIASES = {"as-is": None, "pull-up": "PUD_UP", "pull-down": "PUD_DOWN", "disabled": "PUD_OFF"}
_PULL_NAMES = {20: "off", 21: "down", 22: "up", None: "unknown"}


def _parser(verb: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"rpio {verb}", description=description,
                                     epilog=EXIT_STATUS_HELP + ".")
    parser.add_argument("-P", "--physical", action="store_true",
                        help="the ids are header pin numbers (BOARD numbering), not BCM GPIOs")
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")
    add_board_options(parser)
    return parser


def build_parsers() -> Dict[str, argparse.ArgumentParser]:
    """The verbs' parsers by name (also read by ``rpio man`` and ``rpio completion``)."""
    get = _parser("get", "Read GPIO levels (nothing is reconfigured).")
    get.add_argument("ids", nargs="+", metavar="ID", help="17, 2-27 or 17,27")

    set_ = _parser("set", "Make GPIOs outputs at the given levels.")
    set_.add_argument("assignments", nargs="+", metavar="ID=LEVEL", help="17=1 (or 17:1)")
    set_.add_argument("--force", action="store_true",
                      help="also take a pin that is in an ALT function (an I2C, SPI, UART... pin)")

    mon = _parser("mon", "Print every edge of GPIOs with its kernel timestamp.")
    mon.add_argument("ids", nargs="+", metavar="ID", help="17, 2-27 or 17,27")
    mon.add_argument("--edge", choices=("both", "rising", "falling"), default="both")
    mon.add_argument("--bias", choices=tuple(_BIASES), default="as-is",
                     help="the pull while monitoring (default: leave it as it is)")
    mon.add_argument("--debounce-ms", type=int, metavar="MS",
                     help="ignore edges closer than MS ms to the last one")
    mon.add_argument("--count", type=int, metavar="N", help="stop after N edges")

    info = _parser("info", "Show function, ALT signal, level and pull of GPIOs.")
    info.add_argument("ids", nargs="*", metavar="ID", help="17, 2-27 or 17,27 (default: all)")
    return {"get": get, "set": set_, "mon": mon, "info": info}


def _pin(gpio: int) -> Optional[int]:
    return gpio_to_physical(gpio)


def get_main(argv: Sequence[str], out=None) -> int:
    out = sys.stdout if out is None else out
    args = build_parsers()["get"].parse_args(list(argv))
    RPIO = open_board(args.sim)
    gpios = resolve_ids(RPIO, args.ids, args.physical)
    levels = [(gpio, RPIO.pin_info(gpio).level) for gpio in gpios]
    if args.json:
        json.dump([{"gpio": g, "pin": _pin(g), "level": v} for g, v in levels], out)
        out.write("\n")
    else:
        shown = [(_pin(g) if args.physical else g, v) for g, v in levels]
        out.write(" ".join(f"{i}={v}" for i, v in shown) + "\n")
    return 0


def _assignment(text: str) -> tuple:
    for separator in ("=", ":"):
        ident, found, level = text.partition(separator)
        if found:
            break
    else:
        raise UsageError(f"'{text}': expected ID=LEVEL (17=1)")
    if level.strip() not in ("0", "1"):
        raise UsageError(f"'{text}': the level is 0 or 1")
    return ident.strip(), int(level)


def set_main(argv: Sequence[str], out=None) -> int:
    out = sys.stdout if out is None else out
    args = build_parsers()["set"].parse_args(list(argv))
    wanted = [_assignment(text) for text in args.assignments]  # all checked before any change
    RPIO = open_board(args.sim)
    RPIO.setwarnings(False)
    plan: List[tuple] = []
    for ident, level in wanted:
        for gpio in resolve_ids(RPIO, [ident], args.physical):
            info = RPIO.pin_info(gpio)
            if info.function.startswith("ALT") and not args.force:
                raise CommandError(
                    f"GPIO {gpio} is in {info.function}{f' ({info.signal})' if info.signal else ''}"
                    ": something else may use it; --force takes it anyway")
            plan.append((gpio, level))
    for gpio, level in plan:
        RPIO.setup(gpio, RPIO.OUT, initial=level)
    if args.json:
        json.dump([{"gpio": g, "pin": _pin(g), "level": v} for g, v in plan], out)
        out.write("\n")
    else:
        for gpio, level in plan:
            out.write(f"GPIO {gpio} = {level} (output)\n")
    return 0


def mon_main(argv: Sequence[str], out=None) -> int:
    from .cli import wait_for_edges

    out = sys.stdout if out is None else out
    parser = build_parsers()["mon"]
    args = parser.parse_args(list(argv))
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    if args.debounce_ms is not None and args.debounce_ms < 0:
        parser.error("--debounce-ms must be >= 0")
    RPIO = open_board(args.sim)
    gpios = resolve_ids(RPIO, args.ids, args.physical)
    if len(set(gpios)) != len(gpios):
        raise UsageError("a GPIO is named twice")
    pull = _BIASES[args.bias]

    def emit(gpio: int, value: int, event: Any) -> None:
        record = {"gpio": gpio, "pin": _pin(gpio), "edge": "rising" if value else "falling",
                  "value": value, "timestamp_ns": event.timestamp_ns, "seqno": event.seqno,
                  "line_seqno": event.line_seqno}
        if args.json:
            out.write(json.dumps(record) + "\n")
        else:
            shown = f"pin {record['pin']}" if args.physical else f"GPIO {gpio}"
            out.write(f"{event.timestamp_ns / 1e9:.9f} {shown} {record['edge']}\n")
        out.flush()

    wait_for_edges(RPIO, [(gpio, args.edge, pull) for gpio in gpios], args.count, emit,
                   debounce_ms=args.debounce_ms or None)
    return 0


def info_main(argv: Sequence[str], out=None) -> int:
    out = sys.stdout if out is None else out
    args = build_parsers()["info"].parse_args(list(argv))
    RPIO = open_board(args.sim, announce=False)
    gpios = (resolve_ids(RPIO, args.ids, args.physical) if args.ids
             else list(range(RPIO.gpio_count())))
    engine = _pwm_engine_of()
    rows = []
    for gpio in gpios:
        info = RPIO.pin_info(gpio)
        rows.append({"gpio": gpio, "pin": _pin(gpio), "function": info.function,
                     "signal": info.signal, "level": info.level,
                     "pull": _PULL_NAMES.get(info.pull, "unknown"), "pwm_engine": engine(gpio)})
    if args.json:
        json.dump(rows, out)
        out.write("\n")
        return 0
    out.write(f"{'GPIO':<5}{'PIN':<5}{'FUNCTION':<10}{'SIGNAL':<14}{'LEVEL':<7}{'PULL':<9}PWM\n")
    for row in rows:
        out.write(f"{row['gpio']:<5}{row['pin'] if row['pin'] is not None else '-':<5}"
                  f"{row['function']:<10}{row['signal'] or '-':<14}{row['level']:<7}{row['pull']:<9}"
                  f"{row['pwm_engine'] or '-'}\n")
    return 0


def _pwm_engine_of():
    """gpio -> the engine RPi.GPIO's PWM class would use on it here (rpio_pwm.pwm_engine)."""
    from rpio_pwm import engines

    from ._gpio import _state

    board = _state.board
    soc = board.info.processor  # BCM2835 ... BCM2712, from the revision code
    if board.backend == "chardev" or not soc:
        return lambda gpio: "software"  # DMA needs the registers; a line is this process's request
    return lambda gpio: engines.pwm_engine(gpio, soc, api="GPIO.PWM", simulated=board.simulated)
