"""``rpio sim``: the simulated board as a workbench, from a terminal.

::

    rpio sim serve [--host 127.0.0.1] [--port 8765] [--board NAME] [--allow-writes]
                   [--run SCRIPT [ARGS...]]          the board page (and a script beside it)
    rpio sim list                                    the shared boards, their models and users
    rpio sim reset NAME                              start a shared board afresh
    rpio sim press PART | release PART | click PART  a button part on the board
    rpio sim drive GPIO 0|1|release                  drive a pin from outside (BCM number)
    rpio sim record FILE.vcd [--seconds S]           record the board's level changes as VCD
    rpio sim export FILE.vcd                         write the board's whole history as VCD
    rpio sim replay FILE.vcd [--scale X]             drive the pins with a VCD's signals

The board is the shared simulated board named by ``--board NAME``, else by ``$RPIO_SIM_SHARED``:
the one a script started with ``RPIO_SIM_SHARED=NAME`` uses. ``serve`` without a name serves the
board of its own process, which only a script given with ``--run`` shares. On a Raspberry Pi,
``serve`` shows the real pins, read-only unless ``--allow-writes``.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import threading
import traceback
from typing import Dict, List, Optional, Sequence

from .cli_common import EXIT_FAILED, CommandError, InvalidGpioError, sigterm_as_interrupt

__all__ = ["CommandError", "build_parser", "main"]


def _board_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", "--sim", dest="board", metavar="NAME",
                        help="the shared simulated board (default: $RPIO_SIM_SHARED)")
    parser.add_argument("--model", metavar="CODE",
                        help="the model of a shared board that does not exist yet (c03111, pi5...)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rpio sim",
                                     description="Watch, drive, record and replay the simulated "
                                                 "board (shared between processes by name).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="the board page in a browser, live")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (8765; 0 picks a free one)")
    _board_option(serve)
    serve.add_argument("--allow-writes", action="store_true",
                       help="on a real Pi, let the page set outputs (read-only otherwise)")
    serve.add_argument("--read-only", action="store_true",
                       help="refuse writes from the page on the simulated board too")
    serve.add_argument("--run", nargs=argparse.REMAINDER, metavar="SCRIPT",
                       help="run SCRIPT [ARGS...] in this process, on the board the page shows "
                            "(last: everything after it goes to the script)")
    serve.add_argument("--exit-with-script", action="store_true",
                       help="with --run: stop serving when the script ends")

    commands.add_parser("list", help="list the shared simulated boards")
    reset = commands.add_parser("reset", help="start a shared board afresh")
    reset.add_argument("name")

    for action, text in (("press", "press a button part (until released)"),
                         ("release", "release a button part"),
                         ("click", "press and release a button part")):
        sub = commands.add_parser(action, help=text)
        sub.add_argument("part", help="the part's name")
        _board_option(sub)

    drive = commands.add_parser("drive", help="drive a pin from outside, or let go of it")
    drive.add_argument("gpio", type=int, help="BCM GPIO number")
    drive.add_argument("level", choices=("0", "1", "release"))
    _board_option(drive)

    record = commands.add_parser("record", help="record level changes to a VCD file")
    record.add_argument("file", help="the VCD file to write")
    record.add_argument("--seconds", type=float, metavar="S",
                        help="stop after S seconds (default: at Ctrl-C)")
    record.add_argument("--gpios", metavar="LIST",
                        help="GPIOs to record: 17,27 or 2-27 (default: every header GPIO)")
    record.add_argument("--changed-only", action="store_true",
                        help="leave out the pins that never changed")
    record.add_argument("--timescale", default="1us", help="VCD timescale (1us; 1ns is exact)")
    _board_option(record)

    export = commands.add_parser("export", help="write the board's whole history as VCD")
    export.add_argument("file")
    export.add_argument("--gpios", metavar="LIST", help="only these GPIOs")
    export.add_argument("--timescale", default="1us", help="VCD timescale (1us; 1ns is exact)")
    _board_option(export)

    replay = commands.add_parser("replay", help="drive pins with a VCD file's signals")
    replay.add_argument("file")
    replay.add_argument("--scale", type=float, default=1.0,
                        help="time factor: 1 real time (default), 2 half speed, 0.5 double, "
                             "0 at once")
    replay.add_argument("--map", action="append", default=[], metavar="SIGNAL=GPIO",
                        help="drive GPIO with SIGNAL (signals named GPIOn map themselves)")
    _board_option(replay)
    return parser


# ---------------------------------------------------------------------------------------------


def _parse_gpios(text: Optional[str]) -> Optional[List[int]]:
    if text is None:
        return None
    from .cli_common import parse_ids

    return parse_ids(text, 64)


def _board_name(args, required: bool = True) -> Optional[str]:
    name = getattr(args, "board", None) or os.environ.get("RPIO_SIM_SHARED") or None
    if name is None and required:
        raise CommandError("which board? Name the shared simulated board with --board NAME or "
                           "RPIO_SIM_SHARED=NAME (the script you watch must use the same name)")
    return name


def _attach(args, required: bool = True) -> Optional[str]:
    """Attach this process to the board the command names; returns its name (None: private)."""
    from .workbench.board import attach_shared

    name = _board_name(args, required)
    if name is not None:
        try:
            attach_shared(name, getattr(args, "model", None))
        except (RuntimeError, ValueError, OSError) as error:
            raise CommandError(str(error)) from None
    elif getattr(args, "model", None):
        from . import sim

        sim.use_board(args.model)
    return name


def _sim():
    from . import sim

    if not sim.is_simulated():
        raise CommandError("RPIO drives a real Raspberry Pi here: there is no simulated board "
                           "(RPIO_BACKEND=sim simulates one)")
    return sim


def _require(name: str):
    sim = _sim()
    function = getattr(sim, name, None)
    if function is None:
        raise CommandError(f"this RPIO's simulated board has no RPIO.sim.{name}() (wires, parts "
                           "and shared boards come with the workbench model)")
    return function


# ---------------------------------------------------------------------------------------------


def _serve(args, out) -> int:
    from .workbench.server import BoardServer

    if args.run is not None and not args.run:
        raise CommandError("--run needs a script: --run SCRIPT [ARGS...]")
    name = _attach(args, required=False)
    from . import sim

    if sim.is_simulated():
        name = sim.board_name() if hasattr(sim, "board_name") else name  # RPIO_SIM_CONFIG too
    if sim.is_simulated() and name is None and not args.run:
        sys.stderr.write("rpio sim serve: no shared board named (--board NAME or RPIO_SIM_SHARED):"
                         " the page shows this process's own board, which only a script given "
                         "with --run drives\n")
    if not sim.is_simulated() and args.run:
        raise CommandError("--run is for the simulated board")
    with sigterm_as_interrupt() as terminated:  # SIGTERM stops the server as Ctrl-C does
        try:
            server = BoardServer(host=args.host, port=args.port, allow_writes=args.allow_writes,
                                 read_only=args.read_only)
            server.start()
        except OSError as error:
            raise CommandError(f"cannot listen on {args.host}:{args.port}: {error}") from None
        try:
            return _serving(server, name, args, out, terminated)
        except KeyboardInterrupt:
            return 0
        finally:
            server.stop()


def _serving(server, name, args, out, terminated) -> int:
    layout = server.source.layout
    mode = "read-only" if not server.source.writable else "writes allowed"
    out.write(f"RPIO board page of {layout.info.model}"
              f"{f' (shared board {name!r})' if name else ''}, {mode}: {server.url}\n")
    out.flush()
    if not args.run:
        threading.Event().wait()  # until Ctrl-C or SIGTERM
        return 0
    script, *script_args = args.run
    status = 0
    saved_argv = sys.argv
    try:
        sys.argv = [script, *script_args]
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        raise
    except BaseException:
        traceback.print_exc()
        status = EXIT_FAILED
    finally:
        sys.argv = saved_argv
    if terminated:  # SIGTERM ended the script (which may have caught it): it ends us too
        return status
    if args.exit_with_script:
        return status
    out.write(f"{script} ended (status {status}); the page stays up until Ctrl-C\n")
    out.flush()
    threading.Event().wait()
    return status


def _list(args, out) -> int:
    boards = _require("list_boards")()
    if not boards:
        out.write("no shared simulated board\n")
        return 0
    width = max(20, *(len(board.name) + 1 for board in boards))
    out.write(f"{'NAME':<{width}} {'MODEL':<10} {'PROCESSES':<20} STATE\n")
    for board in boards:
        pids = ", ".join(str(pid) for pid in board.pids) or "-"
        dead = getattr(board, "dead_pids", ())
        if not getattr(board, "compatible", True):
            state = "made by another RPIO version"
        elif dead and not board.pids:
            state = f"stale (process {', '.join(map(str, dead))} ended without leaving it)"
        elif dead:
            state = f"in use ({', '.join(map(str, dead))} gone)"
        else:
            state = "in use" if board.pids else "idle"
        out.write(f"{board.name:<{width}} {board.model or '?':<10} {pids:<20} {state}\n")
    return 0


def _reset(args, out) -> int:
    try:
        found = _require("reset_board")(args.name)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if found is False:
        raise CommandError(f"there is no shared board {args.name!r} (rpio sim list)")
    out.write(f"shared board {args.name!r} reset\n")
    return 0


def _part_action(args, out) -> int:
    _attach(args)
    finder = _require("part")
    try:
        part = finder(args.part)
    except (KeyError, LookupError, ValueError) as error:
        names = ", ".join(view.name for view in _require("parts")()) or "none"
        # a KeyError's str() is the repr of its key: say it plainly
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise CommandError(f"{message} (parts on this board: {names})") from None
    getattr(part, args.command)()
    out.write(f"{args.part}: {args.command}\n")
    return 0


def _drive(args, out) -> int:
    _attach(args)
    sim = _sim()
    chip = sim.chip()
    if not 0 <= args.gpio < chip.num_gpios():
        raise InvalidGpioError(f"GPIO {args.gpio} does not exist on this board "
                           f"(0-{chip.num_gpios() - 1})")
    level = None if args.level == "release" else int(args.level)
    chip.drive(args.gpio, level)
    shown = chip.level(args.gpio)
    what = "released" if level is None else f"driven to {level}"
    out.write(f"GPIO {args.gpio} {what}; it reads {shown}\n")
    return 0


def _record(args, out) -> int:
    from .workbench import vcd

    _attach(args)
    _sim()
    gpios = _parse_gpios(args.gpios)
    if args.seconds is not None and args.seconds < 0:
        raise CommandError("--seconds must be >= 0")
    if args.seconds is None:
        sys.stderr.write("recording until Ctrl-C...\n")
    with sigterm_as_interrupt():
        summary = vcd.record(args.file, args.seconds, gpios=gpios, timescale=args.timescale,
                             only_changed=args.changed_only)
    span = (summary.end_ns - summary.start_ns) / 1e9
    out.write(f"{args.file}: {summary.changes} changes of {len(summary.signals)} pins over "
              f"{span:.3f} s\n")
    return 0


def _export(args, out) -> int:
    from .workbench import vcd

    _attach(args)
    _sim()
    summary = vcd.export_vcd(args.file, gpios=_parse_gpios(args.gpios), timescale=args.timescale)
    out.write(f"{args.file}: {summary.changes} changes of {len(summary.signals)} pins\n")
    return 0


def _replay(args, out) -> int:
    from .workbench import vcd

    mapping: Dict[str, int] = {}
    for item in args.map:
        signal, sep, gpio = item.rpartition("=")
        if not sep or not signal or not gpio.isdigit():
            raise CommandError(f"--map {item!r}: expected SIGNAL=GPIO")
        mapping[signal] = int(gpio)
    if args.scale < 0:
        raise CommandError("--scale must be >= 0")
    _attach(args)
    _sim()
    try:
        replay = vcd.Replay(args.file, args.scale, channels=mapping or None)
    except (KeyError, ValueError) as error:
        raise CommandError(f"{args.file}: {error}") from None
    if replay.skipped:
        sys.stderr.write(f"not replayed (no GPIO): {', '.join(replay.skipped)}\n")
    try:
        with sigterm_as_interrupt():
            replay.run()
    except KeyboardInterrupt:
        replay.stop()
    out.write(f"{args.file}: {len(replay.applied)} of {len(replay.plan)} changes driven on "
              f"GPIO {', '.join(str(g) for g in sorted(set(replay.mapping.values())))} "
              f"over {replay.duration_s:.3f} s\n")
    return 0


_COMMANDS = {
    "serve": _serve,
    "list": _list,
    "reset": _reset,
    "press": _part_action,
    "release": _part_action,
    "click": _part_action,
    "drive": _drive,
    "record": _record,
    "export": _export,
    "replay": _replay,
}


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    from .cli_common import run_command

    out = sys.stdout if out is None else out
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_command(f"rpio sim {args.command}", lambda: _COMMANDS[args.command](args, out), out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
