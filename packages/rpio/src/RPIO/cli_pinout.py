"""``rpio pinout``: the GPIO header as a coloured picture in the terminal.

::

    rpio pinout                     this board's header (a Pi's, or the simulated one's)
    rpio pinout --model pi5         any model, offline: a revision code (c03111) or a name
    rpio pinout --watch             live: function, level and pull of every GPIO, redrawn as they
                                    change (Ctrl-C ends it; --count N stops after N pictures)
    rpio pinout --watch --sim bench the shared simulated board "bench" (as RPIO_SIM_SHARED=bench;
                                    --board bench is the same, as in `rpio sim`)

Colour is used when standard output is a terminal (and NO_COLOR is not set); --color and
--no-color decide instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

from .cli_common import CommandError, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rpio pinout",
        description="Draw the GPIO header of this board, or of any Raspberry Pi model offline.",
    )
    parser.add_argument("--model", metavar="CODE",
                        help="a model instead of this board: revision code (c03111, 0002) or "
                             "name (pi4, pi5, zero2w, 'pi 3b+'); offline, no levels")
    parser.add_argument("--watch", action="store_true",
                        help="show each GPIO's function, level and pull, redrawn live")
    parser.add_argument("--sim", "--board", dest="sim", metavar="NAME",
                        help="the shared simulated board NAME (as RPIO_SIM_SHARED=NAME does)")
    parser.add_argument("--interval", type=float, default=0.2, metavar="S",
                        help="with --watch: seconds between looks (default 0.2)")
    parser.add_argument("--count", type=int, metavar="N",
                        help="with --watch: stop after N pictures")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None,
                       help="colour even when not writing to a terminal")
    color.add_argument("--no-color", dest="color", action="store_false",
                       help="no colour")
    return parser


def _use_color(choice: Optional[bool], out) -> bool:
    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _watch(source, out, color: bool, interval: float, count: Optional[int]) -> None:
    from .workbench.pinout import render

    tty = bool(getattr(out, "isatty", None) and out.isatty())
    shown = 0
    previous = None
    while count is None or shown < count:
        states, parts = source.pin_states(), source.parts()
        picture = render(source.layout, states, parts, color=color)
        if picture != previous:
            if tty:
                out.write("\x1b[H\x1b[2J")  # home, clear: redraw in place
            elif shown:
                out.write("\n")
            out.write(picture)
            out.flush()
            previous = picture
            shown += 1
            if count is not None and shown >= count:
                break
        time.sleep(interval)


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    from .cli_common import run_command

    out = sys.stdout if out is None else out
    return run_command("rpio pinout", lambda: _main(argv, out), out)


def _main(argv: Optional[Sequence[str]], out) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    color = _use_color(args.color, out)
    from .workbench import board as wb
    from .workbench.pinout import render

    if args.model is not None:
        if args.watch or args.sim:
            parser.error("--model draws a model offline; --watch and --sim show a live board")
        try:
            source = wb.OfflineSource(args.model)
        except ValueError as error:
            raise UsageError(str(error)) from None
        out.write(render(source.layout, color=color))
        return 0
    if args.interval <= 0:
        parser.error("--interval must be positive")
    try:
        if args.sim:
            wb.attach_shared(args.sim)
        if not args.watch:  # the picture of this board's model: no register is read for it
            from ._gpio import _state

            out.write(render(wb.layout_for(_state.board.info), color=color))
            return 0
        source = wb.current_source(allow_writes=False)
    except (RuntimeError, ValueError, OSError) as error:
        raise CommandError(str(error)) from None
    try:
        _watch(source, out, color, args.interval, args.count)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
