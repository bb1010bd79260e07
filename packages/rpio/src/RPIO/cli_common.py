"""What every ``rpio`` command shares: one exit-status scheme, the board it acts on, and the way
it ends when standard output goes away.

Exit status (the same for every command, documented in ``rpio man`` and docs/cli.md):

====  ===========================================================================================
0     done (a monitor stopped by Ctrl-C or SIGTERM is done too)
1     the command could not be carried out (no access, a board error, a part that is not there)
2     the command line is wrong (argparse's own status: unknown option, bad value)
5     a GPIO that this board does not have (RPIO 0.10's status for it, kept for scripts)
141   standard output was closed early (``rpio -I | head``): no traceback, like a C tool's SIGPIPE
====  ===========================================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from typing import Callable, Iterator, List, Optional, Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_GPIO = 5
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE

EXIT_STATUS_HELP = (
    "exit status: 0 done, 1 could not be carried out, 2 bad command line, "
    "5 no such GPIO on this board, 141 output closed early"
)


class CommandError(Exception):
    """A command that cannot be carried out; its message goes to standard error, status 1."""

    status = EXIT_FAILED


class UsageError(CommandError):
    """Bad ids or values on the command line (status 2)."""

    status = EXIT_USAGE


class InvalidGpioError(UsageError):
    """A GPIO id this board does not have (status 5, RPIO 0.10's)."""

    status = EXIT_INVALID_GPIO


def add_board_options(parser: argparse.ArgumentParser) -> None:
    """``--sim NAME`` (also spelt ``--board NAME``): the shared simulated board to act on."""
    parser.add_argument("--sim", "--board", dest="sim", metavar="NAME",
                        help="act on the shared simulated board NAME (as RPIO_SIM_SHARED=NAME); "
                             "other processes using that name see the same pins")


def run_command(name: str, body: Callable[[], int], out) -> int:
    """Run a command's body under the one exit-status scheme."""
    try:
        status = body()
        out.flush()  # here, not at exit: a reader gone by now is a BrokenPipeError handled below
        return status
    except CommandError as error:
        sys.stderr.write(f"{name}: {error}\n")
        return error.status
    except BrokenPipeError:
        return broken_pipe(out)


def broken_pipe(out) -> int:
    """The reader of standard output went away: stop quietly (no flush error at exit either)."""
    if out is sys.stdout:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    return EXIT_BROKEN_PIPE


def open_board(sim_name: Optional[str], announce: bool = True):
    """Import RPIO on the board the command names; errors become CommandError.

    Off a Pi without a shared board named, the command acts on a throwaway private board: say so
    on standard error once (with how to use a shared one), since its effects end with the command.
    """
    try:
        import RPIO

        if sim_name:
            from .workbench.board import attach_shared

            attach_shared(sim_name)
        RPIO.gpio_count()  # the backend is chosen here: a Pi's registers, or a simulated board
    except (RuntimeError, OSError, ValueError) as error:
        hint = ""
        if os.environ.get("RPIO_BACKEND", "").strip().lower() == "hardware":
            hint = " (RPIO_BACKEND=hardware insists on a Raspberry Pi's registers; unset it to " \
                   "use the simulated board elsewhere)"
        raise CommandError(f"{error}{hint}") from None
    if announce and is_private_sim():
        revision, model = RPIO.sysinfo()[:2]
        what = f"a simulated Raspberry Pi {model} ({revision})"
        sys.stderr.write(
            f"rpio: no Raspberry Pi here: this command acts on {what} private to it, which ends "
            "with it. For a board other processes share: --sim NAME (or RPIO_SIM_SHARED=NAME).\n")
    return RPIO


def is_private_sim() -> bool:
    """True when RPIO drives a simulated board that no other process can see."""
    from . import sim

    return sim.is_simulated() and sim.board_name() is None


def is_simulated() -> bool:
    from . import sim

    return sim.is_simulated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[List[bool]]:
    """SIGTERM ends a long command as Ctrl-C does (cleanly); yields a flag list set when it came."""
    came: List[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return

    def interrupt(signum, frame):
        came.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield came
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- GPIO ids ------------------------------------------------------------------------------------


def parse_ids(text: str, gpio_count: int, *, skip_invalid_in_range: bool = False) -> List[int]:
    """``ID[,ID...]`` or ``A-B`` (or a mix). Every id must exist on this board; with
    ``skip_invalid_in_range`` the ids of a range that do not exist are left out (RPIO 0.10)."""
    ids: List[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part.lstrip("-"):
                first, last = (int(x) for x in part.split("-", 1))
                span = range(first, last + 1)
                if skip_invalid_in_range:
                    span = [g for g in span if 0 <= g < gpio_count]
                ids.extend(span)
            else:
                ids.append(int(part))
        except ValueError:
            raise UsageError(f"'{part}' is not a GPIO id or range (e.g. 17 or 2-27)") from None
    for gpio in ids:
        check_gpio(gpio, gpio_count)
    return ids


def check_gpio(gpio: int, gpio_count: int) -> int:
    if not 0 <= gpio < gpio_count:
        raise InvalidGpioError(f"GPIO {gpio} does not exist on this board (0-{gpio_count - 1})")
    return gpio


def physical_to_gpio(RPIO, pin: int) -> int:
    """A header pin number (BOARD numbering) -> its BCM GPIO, or an error saying why not."""
    from rpio_core import boards

    from ._gpio import _state

    mapping = boards.board_to_bcm_map(_state.board.info.p1_revision)
    if mapping is None:
        raise UsageError("this board has no GPIO header table (a compute module): use BCM numbers")
    if pin not in mapping:
        raise InvalidGpioError(f"header pin {pin} is not a GPIO (GPIO pins: "
                               f"{', '.join(str(p) for p in sorted(mapping))})")
    return mapping[pin]


def gpio_to_physical(gpio: int) -> Optional[int]:
    """The header pin of a BCM GPIO on this board, or None."""
    from rpio_core import boards

    from ._gpio import _state

    mapping = boards.bcm_to_board_map(_state.board.info.p1_revision)
    return None if mapping is None else mapping.get(gpio)


def resolve_ids(RPIO, texts: Sequence[str], physical: bool) -> List[int]:
    """Command-line ids (BCM, or header pins with ``physical``) -> BCM GPIOs."""
    count = RPIO.gpio_count()
    gpios: List[int] = []
    for text in texts:
        if physical:
            gpios.extend(physical_to_gpio(RPIO, pin) for pin in parse_ids(text, 1 << 16))
        else:
            gpios.extend(parse_ids(text, count))
    return gpios
