"""The ``rpio`` command: inspect and set GPIOs, show the board, wait for interrupts.

Two interfaces share one exit-status scheme (``RPIO.cli_common``):

- RPIO 0.10's flags (``-i``, ``-I``, ``-s``, ``--setinput``, ``--setoutput``, ``-w``,
  ``--sysinfo``, ``--version``), output as 0.10 printed it (``GPIO 17: OUTPUT (1)``), but on
  standard output (0.10 logged it to standard error; see docs/compat.md);
- verbs for people who know the kernel's tools: ``rpio get``, ``set``, ``mon``, ``info``
  (``RPIO.cli_verbs``: physical pin numbers with ``-P``, ``--json`` for scripts), and the
  subcommands ``rpio sim``, ``rpio pinout``, ``rpio completion``, ``rpio man``.

``main(argv)`` takes a list, so tests call it in-process as well as by subprocess. GPIO ids are
BCM numbers, as in the original.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import List, Optional, Sequence

from rpio_interrupts.uapi import LineBusyError

from .cli_common import (
    EXIT_INVALID_GPIO,
    EXIT_STATUS_HELP,
    CommandError,
    UsageError,
    add_board_options,
    is_private_sim,
    open_board,
    parse_ids,
    run_command,
    sigterm_as_interrupt,
)

__all__ = ["EXIT_INVALID_GPIO", "SUBCOMMANDS", "UsageError", "build_parser", "main", "parse_ids"]

_PULLS = {"pullup": "PUD_UP", "pulldown": "PUD_DOWN", "pulloff": "PUD_OFF"}
_EDGES = ("both", "rising", "falling")
# RPIO 0.10's words for a pin's function in -i/-I (its map {0: OUTPUT, 1: INPUT, 4: ALT0}).
_FUNCTION_WORDS = {"IN": "INPUT", "OUT": "OUTPUT", "NONE": "-"}

# Subcommands with parsers of their own; everything else is the original's flag interface.
# Each is "module:function"; the function takes the arguments after the command's name.
SUBCOMMANDS = {
    "get": "RPIO.cli_verbs:get_main", "set": "RPIO.cli_verbs:set_main",
    "mon": "RPIO.cli_verbs:mon_main", "info": "RPIO.cli_verbs:info_main",
    "sim": "RPIO.cli_sim:main", "pinout": "RPIO.cli_pinout:main",
    "completion": "RPIO.cli_doc:completion_main", "man": "RPIO.cli_doc:man_main",
    "selftest": "RPIO.selftest.cli:main", "mqtt": "RPIO.mqtt.cli:main",
}
_USAGE = ("rpio [-h] {get,set,mon,info,sim,pinout,selftest,mqtt,completion,man} ...\n"
          "       rpio [-i IDS] [-I] [-s ID:V] [--setinput ID[:PULL]] [--setoutput ID[:0|1]]\n"
          "            [-w ID[:edge][:pull][,...]] [--count N] [--sysinfo] [--version] [--sim NAME] [-v]")


def _id_and_option(text: str, gpio_count: int, options: Sequence[str], default: str):
    gpio_text, _, option = text.partition(":")
    (gpio,) = parse_ids(gpio_text, gpio_count)
    option = option or default
    if option not in options:
        raise UsageError(f"'{option}' in '{text}': expected one of {', '.join(options)}")
    return gpio, option


def _interrupt_specs(text: str, gpio_count: int):
    """``ID[:edge][:pull][,...]`` -> [(gpio, edge, pull name or None)]. A range ``A-B`` skips the
    ids this board lacks; a listed id it lacks is an error (RPIO 0.10's rules). Without a pull the
    pin's bias stays as it is (as gpiomon leaves it)."""
    specs = []
    for item in text.split(","):
        gpio_text, *options = item.strip().split(":")
        edge, pull = "both", None
        for option in options:
            if option in _EDGES:
                edge = option
            elif option in _PULLS:
                pull = option
            else:
                raise UsageError(f"'{option}' in '{item}': expected an edge ({', '.join(_EDGES)}) "
                                 f"or a pull ({', '.join(_PULLS)})")
        for gpio in parse_ids(gpio_text, gpio_count, skip_invalid_in_range=True):
            specs.append((gpio, edge, None if pull is None else _PULLS[pull]))
    return specs


def wait_for_edges(RPIO, specs, count: Optional[int], emit, debounce_ms: Optional[int] = None):
    """Call ``emit(gpio, value, event)`` for every edge of ``specs`` [(gpio, edge, pull)] until
    Ctrl-C, SIGTERM or ``count`` events; the pins are released at the end. ``pull`` is the name of
    an RPIO pull constant ("PUD_UP", ...) or None to leave the bias as it is."""
    seen = [0]

    def report(gpio, value, event):
        emit(gpio, value, event)
        seen[0] += 1
        if count is not None and seen[0] >= count:
            RPIO.stop_waiting_for_interrupts()

    try:
        for gpio, edge, pull in specs:
            RPIO.add_interrupt_callback(
                gpio, report, edge=edge, with_event=True, debounce_timeout_ms=debounce_ms,
                pull_up_down=None if pull is None else getattr(RPIO, pull))
        gpios = ", ".join(str(gpio) for gpio, _, _ in specs)
        if is_private_sim():
            sys.stderr.write(
                "rpio: nothing drives a private simulated board: start this with --sim NAME and "
                f"drive the pins from another terminal (rpio sim drive {specs[0][0]} 1 --board "
                "NAME), or from a script using RPIO_SIM_SHARED=NAME.\n")
        with sigterm_as_interrupt():
            sys.stderr.write(f"rpio: waiting for edges on GPIO {gpios} (Ctrl-C ends)\n")
            sys.stderr.flush()
            RPIO.wait_for_interrupts()
    except KeyboardInterrupt:
        pass
    except (ValueError, OSError, RuntimeError) as error:
        raise CommandError(str(error)) from None
    finally:
        RPIO.cleanup_interrupts()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpio", usage=_USAGE,
        description="Inspect and set the GPIOs of a Raspberry Pi (or of RPIO's simulated board). "
        "GPIO ids are BCM numbers: ID[,ID...] or A-B.",
        epilog="Commands: get, set, mon, info (the kernel tools' verbs: -P for header pin numbers,"
        " --json for scripts); sim (the simulated board as a workbench); pinout (the header as a "
        "picture); completion bash|zsh; man (this manual as a man page). `rpio COMMAND -h` for "
        "more. " + EXIT_STATUS_HELP + ".",
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
        "(edge: both|rising|falling; pull: pullup|pulldown|pulloff; without a pull the bias "
        "stays as it is)",
    )
    parser.add_argument("--count", type=int, metavar="N",
                        help="with -w: stop after N events")
    parser.add_argument("--sysinfo", action="store_true", help="show what board this is")
    parser.add_argument("--version", action="store_true", help="show RPIO's version")
    add_board_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return parser


def _inspect(RPIO, gpios: Sequence[int], out) -> None:
    """RPIO 0.10's lines, ``GPIO 17: OUTPUT (1)``, with the ALT function's signal after them."""
    for gpio in gpios:
        try:
            info = RPIO.pin_info(gpio)
        except LineBusyError as error:  # the character device: a line someone else holds
            out.write(f"GPIO {gpio}: busy, {error.holder_text}\n")
            continue
        word = _FUNCTION_WORDS.get(info.function, info.function)
        signal = f"  {info.signal}" if info.signal else ""
        out.write(f"GPIO {gpio}: {word:<6} ({info.level}){signal}\n")


def _inspect_ids(text: str, count: int) -> tuple:
    """-i's ids: a range skips what the board lacks; a listed id it lacks is reported and skipped
    (RPIO 0.10), and the command then ends with status 5."""
    gpios: List[int] = []
    missing: List[str] = []
    for part in text.split(","):
        try:
            gpios.extend(parse_ids(part, count, skip_invalid_in_range=True))
        except CommandError as error:
            if error.status != EXIT_INVALID_GPIO:
                raise
            missing.append(part.strip())
    return gpios, missing


def _version_line(RPIO) -> str:
    import rpio_core
    import rpio_interrupts

    parts = [f"rpio-core {rpio_core.__version__}", f"rpio-interrupts {rpio_interrupts.__version__}"]
    try:
        import rpio_pwm

        parts.append(f"rpio-pwm {rpio_pwm.__version__}")
    except ImportError:  # pragma: no cover - the umbrella installs it
        pass
    return f"RPIO v{RPIO.version()[0]} ({', '.join(parts)})\n"


def _flags(args, parser, out) -> int:
    actions = (args.inspect, args.inspect_all, args.set, args.setinput, args.setoutput,
               args.wait_for_interrupts)
    if not any(actions) and not (args.sysinfo or args.version):
        parser.print_help(out)
        return 0
    announce = any(actions)  # --sysinfo and --version say "simulated" in their own output
    RPIO = open_board(args.sim, announce=announce)
    RPIO.setwarnings(False)
    count = RPIO.gpio_count()
    status = 0
    if args.version:
        out.write(_version_line(RPIO))
    if args.sysinfo:
        line = "%s: Model %s, Revision %s, RAM: %s MB, Maker: %s" % RPIO.sysinfo()
        from .cli_common import is_simulated

        if is_simulated():
            from . import sim

            name = sim.board_name()
            line += f" (simulated board{f' {name!r}' if name else ''}: no Raspberry Pi here)"
        out.write(line + "\n")
    if args.setinput:
        gpio, pull = _id_and_option(args.setinput, count, tuple(_PULLS), "pulloff")
        RPIO.setup(gpio, RPIO.IN, pull_up_down=getattr(RPIO, _PULLS[pull]))
    if args.setoutput:
        gpio, level = _id_and_option(args.setoutput, count, ("0", "1"), "0")
        RPIO.setup(gpio, RPIO.OUT, initial=int(level))
    if args.set:
        gpio, level = _id_and_option(args.set, count, ("0", "1"), "")
        if RPIO.gpio_function(gpio) != RPIO.OUT:
            raise CommandError(f"GPIO {gpio} is not an output. Use --setoutput {gpio} first.")
        RPIO.forceoutput(gpio, int(level))
    if args.inspect:
        gpios, missing = _inspect_ids(args.inspect, count)
        _inspect(RPIO, gpios, out)
        for text in missing:
            sys.stderr.write(f"rpio: GPIO {text} does not exist on this board (0-{count - 1})\n")
            status = EXIT_INVALID_GPIO
    if args.inspect_all:
        _inspect(RPIO, range(count), out)
    if args.wait_for_interrupts:
        specs = _interrupt_specs(args.wait_for_interrupts, count)
        if not specs:
            raise UsageError(f"no GPIO of this board in '{args.wait_for_interrupts}'")

        def emit(gpio, value, event):
            out.write(f"GPIO {gpio} interrupt: value = {value}, "
                      f"timestamp = {event.timestamp_ns / 1e9:.9f} s, seqno = {event.line_seqno}\n")
            out.flush()

        wait_for_edges(RPIO, specs, args.count, emit)
    return status


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = sys.stdout if out is None else out
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module_name, _, function = SUBCOMMANDS[argv[0]].partition(":")
        command = getattr(importlib.import_module(module_name), function)
        return run_command(f"rpio {argv[0]}", lambda: command(argv[1:], out=out), out)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(format="%(levelname)s | %(asctime)-15s | %(message)s", level=logging.DEBUG)
    return run_command("rpio", lambda: _flags(args, parser, out), out)


if __name__ == "__main__":  # pragma: no cover - `python -m RPIO.cli`
    sys.exit(main())
