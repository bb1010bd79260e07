"""The ``rpio`` command: inspect and set GPIOs, show the board, wait for interrupts.

``main(argv)`` takes a list, so tests call it in-process as well as by subprocess. Results go to
standard output (the original logged them to standard error); diagnostics to standard error.
GPIO ids are BCM numbers, as in the original.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional, Sequence

EXIT_INVALID_GPIO = 5  # the original's exit status for a GPIO that does not exist

_PULLS = {"pullup": "PUD_UP", "pulldown": "PUD_DOWN", "pulloff": "PUD_OFF"}
_EDGES = ("both", "rising", "falling")


class UsageError(Exception):
    """Bad ids or values on the command line; exits with EXIT_INVALID_GPIO."""


def parse_ids(text: str, gpio_count: int) -> List[int]:
    """``ID[,ID...]`` or ``A-B``. A range skips nothing; every id must exist on this board."""
    ids: List[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                ids.extend(range(first, last + 1))
            else:
                ids.append(int(part))
        except ValueError:
            raise UsageError(f"'{part}' is not a GPIO id or range (e.g. 17 or 2-27)") from None
    for gpio in ids:
        if not 0 <= gpio < gpio_count:
            raise UsageError(f"GPIO {gpio} does not exist on this board (0-{gpio_count - 1})")
    return ids


def _id_and_option(text: str, gpio_count: int, options: Sequence[str], default: str):
    gpio_text, _, option = text.partition(":")
    (gpio,) = parse_ids(gpio_text, gpio_count)
    option = option or default
    if option not in options:
        raise UsageError(f"'{option}' in '{text}': expected one of {', '.join(options)}")
    return gpio, option


def _interrupt_spec(text: str, gpio_count: int):
    """``ID[:edge][:pull]`` (either option may come alone) -> (gpio, edge, pull name)."""
    gpio_text, *options = text.strip().split(":")
    (gpio,) = parse_ids(gpio_text, gpio_count)
    edge, pull = "both", "pulloff"
    for option in options:
        if option in _EDGES:
            edge = option
        elif option in _PULLS:
            pull = option
        else:
            raise UsageError(f"'{option}' in '{text}': expected an edge ({', '.join(_EDGES)}) "
                             f"or a pull ({', '.join(_PULLS)})")
    return gpio, edge, pull


def _wait_for_interrupts(RPIO, specs, count: Optional[int], out) -> None:
    """One line per edge: the original's "GPIO n interrupt: value = v", plus the timestamp."""
    seen = [0]

    def report(gpio, value, event):
        out.write(f"GPIO {gpio} interrupt: value = {value}, "
                  f"timestamp = {event.timestamp_ns / 1e9:.9f} s, seqno = {event.line_seqno}\n")
        out.flush()
        seen[0] += 1
        if count is not None and seen[0] >= count:
            RPIO.stop_waiting_for_interrupts()

    for gpio, edge, pull in specs:
        RPIO.add_interrupt_callback(gpio, report, edge=edge,
                                    pull_up_down=getattr(RPIO, _PULLS[pull]), with_event=True)
    try:
        RPIO.wait_for_interrupts()
    except KeyboardInterrupt:
        pass
    finally:
        RPIO.cleanup_interrupts()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpio",
        description="Inspect and set the GPIOs of a Raspberry Pi (or of RPIO's simulated board). "
        "GPIO ids are BCM numbers: ID[,ID...] or A-B.",
        epilog="Subcommands: `rpio sim ...` (the simulated board as a workbench: serve a live "
        "board page, list/reset shared boards, press parts, drive pins, record and replay VCD) "
        "and `rpio pinout` (the header as a picture); `rpio sim -h`, `rpio pinout -h` for more.",
    )
    parser.add_argument("-i", "--inspect", metavar="IDS", help="show function and level of GPIOs")
    parser.add_argument(
        "-I", "--inspect-all", action="store_true", help="show every GPIO of the chip"
    )
    parser.add_argument("-s", "--set", metavar="ID:V", help="write 0/1 to a GPIO set up as output")
    parser.add_argument(
        "--setinput", metavar="ID[:pullup|pulldown|pulloff]", help="make a GPIO an input"
    )
    parser.add_argument("--setoutput", metavar="ID[:0|1]", help="make a GPIO an output")
    parser.add_argument(
        "-w", "--wait_for_interrupts", metavar="ID[:edge][:pull][,...]",
        help="print every edge of these GPIOs with its kernel timestamp, until Ctrl-C "
        "(edge: both|rising|falling; pull: pullup|pulldown|pulloff)",
    )
    parser.add_argument("--count", type=int, metavar="N",
                        help="with -w: stop after N events")
    parser.add_argument("--sysinfo", action="store_true", help="show what board this is")
    parser.add_argument("--version", action="store_true", help="show RPIO's version")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return parser


def _inspect(RPIO, gpios: Sequence[int], out) -> None:
    for gpio in gpios:
        info = RPIO.pin_info(gpio)
        signal = f"  {info.signal}" if info.signal else ""
        out.write(f"GPIO {gpio:<2}: {info.function:<6} ({info.level}){signal}\n")


# Subcommands with parsers of their own: `rpio sim ...` (the simulated board as a workbench) and
# `rpio pinout` (the header as a picture). Everything else is the original's flag interface.
SUBCOMMANDS = {"sim": "RPIO.cli_sim", "pinout": "RPIO.cli_pinout", "mqtt": "RPIO.mqtt.cli"}


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = sys.stdout if out is None else out
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:], out=out)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(format="%(levelname)s | %(asctime)-15s | %(message)s", level=logging.DEBUG)
    actions = (args.inspect, args.inspect_all, args.set, args.setinput, args.setoutput,
               args.wait_for_interrupts)
    if not any(actions) and not (args.sysinfo or args.version):
        parser.print_help(out)
        return 0

    import RPIO  # after logging is configured, so the backend's log line shows with -v

    RPIO.setwarnings(False)
    try:
        count = RPIO.gpio_count()
        if args.version:
            out.write("RPIO v%s (gpio-lib v%s)\n" % RPIO.version())
        if args.sysinfo:
            out.write("%s: Model %s, Revision %s, RAM: %s MB, Maker: %s\n" % RPIO.sysinfo())
        if args.setinput:
            gpio, pull = _id_and_option(args.setinput, count, tuple(_PULLS), "pulloff")
            RPIO.setup(gpio, RPIO.IN, pull_up_down=getattr(RPIO, _PULLS[pull]))
        if args.setoutput:
            gpio, level = _id_and_option(args.setoutput, count, ("0", "1"), "0")
            RPIO.setup(gpio, RPIO.OUT, initial=int(level))
        if args.set:
            gpio, level = _id_and_option(args.set, count, ("0", "1"), "")
            if RPIO.gpio_function(gpio) != RPIO.OUT:
                sys.stderr.write(
                    f"rpio: GPIO {gpio} is not an output. Use --setoutput {gpio} first.\n"
                )
                return EXIT_INVALID_GPIO
            RPIO.forceoutput(gpio, int(level))
        if args.inspect:
            _inspect(RPIO, parse_ids(args.inspect, count), out)
        if args.inspect_all:
            _inspect(RPIO, range(count), out)
        if args.wait_for_interrupts:
            specs = [_interrupt_spec(text, count) for text in args.wait_for_interrupts.split(",")]
            _wait_for_interrupts(RPIO, specs, args.count, out)
    except UsageError as error:
        sys.stderr.write(f"rpio: {error}\n")
        return EXIT_INVALID_GPIO
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m RPIO.cli`
    sys.exit(main())
