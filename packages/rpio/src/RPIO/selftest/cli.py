"""``rpio selftest [--jumper OUT,IN] [--json FILE] [--quick]``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from ..cli_common import EXIT_FAILED, EXIT_STATUS_HELP, CommandError, UsageError, sigterm_as_interrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpio selftest",
        description="Check this Raspberry Pi through one jumper wire between two free GPIOs "
                    "(default GPIO 22 and 27: header pins 15 and 13), and print a report to paste "
                    "into a bug report. Off a Pi it runs on the simulated board, with the wire.",
        epilog="Status 0: every check passed (warnings allowed); 1: a check failed, a pin is in "
               "use, or it was interrupted. " + EXIT_STATUS_HELP + ".")
    parser.add_argument("--jumper", metavar="OUT,IN", default="22,27",
                        help="the two BCM GPIOs the wire joins (default 22,27)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the report as JSON to FILE ('-': standard output)")
    parser.add_argument("--quick", action="store_true", help="fewer edges and periods (seconds)")
    parser.add_argument("--sim", "--board", dest="sim", metavar="NAME",
                        help="off a Pi: the shared simulated board NAME")
    parser.add_argument("--sim-no-wire", action="store_true",
                        help="off a Pi: leave the simulated wire out (what a missing jumper does)")
    return parser


def _jumper(text: str):
    try:
        out_gpio, in_gpio = (int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--jumper {text!r}: expected two BCM GPIOs, OUT,IN (22,27)") from None
    return out_gpio, in_gpio


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = sys.stdout if out is None else out
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    jumper = _jumper(args.jumper)
    from ..cli_common import open_board
    from . import PinsNotFree, run

    open_board(args.sim, announce=False)
    interactive = sys.stderr.isatty()

    def progress(text: str) -> None:
        if interactive:
            sys.stderr.write(f"\r\x1b[K... {text}")
        sys.stderr.flush()

    def on_step(step) -> None:
        if interactive:
            sys.stderr.write("\r\x1b[K")
        out.write(step.line() + "\n")
        out.flush()

    try:
        with sigterm_as_interrupt():
            report = run(jumper, quick=args.quick, sim_wire=not args.sim_no_wire,
                         on_step=on_step, progress=progress)
    except PinsNotFree as error:
        raise CommandError(f"refusing to start: {error}") from None
    except KeyboardInterrupt:
        sys.stderr.write("rpio selftest: interrupted; GPIO %d and %d are inputs without pull "
                         "again\n" % jumper)
        return EXIT_FAILED
    text = report.text().splitlines()
    out.write(text[-1] + "\n")
    if args.json:
        document = json.dumps(report.to_json(), indent=2) + "\n"
        if args.json == "-":
            out.write(document)
        else:
            with open(args.json, "w", encoding="utf-8") as file:
                file.write(document)
    return 0 if report.passed else EXIT_FAILED
