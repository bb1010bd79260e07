"""pytest plugin shipped with rpio: test GPIO programs on a fresh simulated board, no Pi needed.

Installed with rpio (entry point ``pytest11``: ``rpio``), so any project's tests can ask for the
``sim_board`` fixture::

    def test_the_led_follows_the_button(sim_board):
        import mylamp                                   # the program under test
        mylamp.start()                                  # sets up GPIO 17 (in) and 27 (out)
        sim_board.drive(17, 0)                          # someone presses the button
        sim_board.wait_for(27, 1)                       # the LED comes on (deadline: 1 s)
        assert sim_board.trace(27).levels == [1]

Each test gets a private simulated board of its own (no other process or test sees it), RPIO as
just imported (BCM numbering, nothing set up), and at the end everything is cleaned up and the
board RPIO had before comes back. ``sim_board`` offers:

- the outside world: ``drive(ch, 0 | 1 | None)``, ``release(ch)``, ``level(ch)``, ``pin(ch)``;
- wiring and parts: every name of ``RPIO.sim`` (``sim_board.wire(17, 27)``,
  ``sim_board.Button("bell", 17)``, ``sim_board.LED("lamp", 27)``, ``sim_board.parts()``...), on
  this test's board;
- traces: ``history(ch)``, ``trace(ch)`` (a :class:`Trace`: ``(seconds since the board was made,
  level)`` pairs with ``levels``, ``times``, ``pulses()``), ``wait_for(ch, level)``,
  ``wait_for_edges(ch, n)``, ``assert_levels(ch, [...])``, ``export_vcd(path)``.

Channels are in the current numbering mode, as everywhere in RPIO. Options: ``--sim-board MODEL``
(default ``c03111``, a Pi 4 B) or ``@pytest.mark.sim_board("pi5")`` per test; ``--sim-board-vcd
DIR`` writes the trace of every failing test there as a VCD file. A failing test's report shows
the board's last level changes.

Without the entry point (a checkout that is not pip-installed): ``pytest -p
RPIO.workbench.pytest_plugin``.
"""

from __future__ import annotations

import collections.abc
import os
import re
import select
import time
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import pytest

DEFAULT_MODEL = "c03111"
_REPORT_LINES = 40


class Trace(collections.abc.Sequence):
    """One pin's level changes: ``(t, level)`` pairs, t in seconds since the board was made.

    ``trace == [(0.01, 1), ...]`` compares the pairs exactly; for timing use ``pytest.approx``
    on ``times`` or ``pulses()``, and ``levels`` for the order of levels.
    """

    def __init__(self, gpio: int, changes: Sequence[Tuple[int, int]], start_ns: int,
                 initial: Optional[int] = None):
        self.gpio, self.start_ns, self.initial = gpio, start_ns, initial
        self._changes = [((t_ns - start_ns) / 1e9, int(level)) for t_ns, level in changes]
        self.timestamps_ns = [int(t_ns) for t_ns, _level in changes]

    def __getitem__(self, index):
        return self._changes[index]

    def __len__(self) -> int:
        return len(self._changes)

    def __eq__(self, other) -> bool:
        if isinstance(other, Trace):
            other = other._changes
        if isinstance(other, (list, tuple)):
            return self._changes == [tuple(item) for item in other]
        return NotImplemented

    __hash__ = None  # a Sequence that compares by value

    @property
    def levels(self) -> List[int]:
        """The levels in order: [1, 0, 1, 0] for two pulses."""
        return [level for _t, level in self._changes]

    @property
    def times(self) -> List[float]:
        return [t for t, _level in self._changes]

    def pulses(self, level: int = 1) -> List[float]:
        """Widths (s) of the complete pulses at ``level``: from a change to it to the next change."""
        widths = []
        for (t0, l0), (t1, _l1) in zip(self._changes, self._changes[1:]):
            if l0 == level:
                widths.append(t1 - t0)
        return widths

    def rising(self) -> List[float]:
        return [t for t, level in self._changes if level == 1]

    def falling(self) -> List[float]:
        return [t for t, level in self._changes if level == 0]

    def waveform(self, width: int = 60) -> str:
        """A one-line drawing of the trace (_ low, ‾ high), for failure messages."""
        if not self._changes:
            level = "‾" if self.initial else "_"
            return f"GPIO{self.gpio}: {level * width} (no change)"
        end = max(self.times[-1], 1e-9) * 1.05
        level = self.initial if self.initial is not None else 1 - self._changes[0][1]
        cells = []
        index = 0
        for cell in range(width):
            t = end * (cell + 1) / width  # the level at the end of each cell
            while index < len(self._changes) and self._changes[index][0] <= t:
                level = self._changes[index][1]
                index += 1
            cells.append("‾" if level else "_")
        return f"GPIO{self.gpio}: {''.join(cells)}  ({len(self)} changes in {end:.3f} s)"

    def __repr__(self) -> str:
        pairs = ", ".join(f"({t:.6f}, {level})" for t, level in self._changes)
        return f"Trace(GPIO{self.gpio}: [{pairs}])"


class SimBoard:
    """This test's simulated board (see the module docstring). Made by the ``sim_board`` fixture."""

    def __init__(self, model: str = DEFAULT_MODEL):
        from .. import sim
        from .._gpio import _state

        self._sim, self._state = sim, _state
        self._previous = _state._board
        self.model = model
        self.chip = sim.use_board(model)  # a fresh private board, RPIO as just imported
        self.info = _state.board.info
        self.start_ns = time.monotonic_ns()
        self._closed = False

    # -- RPIO.sim's whole API (wires, parts, board files...) on this board ------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return getattr(self._sim, name)
        except AttributeError:
            raise AttributeError(f"neither the sim_board fixture nor RPIO.sim has {name!r}") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | {n for n in dir(self._sim) if not n.startswith("_")})

    # -- the outside world ------------------------------------------------------------------
    def gpio(self, channel: int) -> int:
        """The BCM gpio of a channel in the current numbering mode."""
        return self._state.gpio_number(channel)

    def drive(self, channel: int, level: Optional[int]) -> None:
        self._sim.drive(channel, level)

    def release(self, channel: int) -> None:
        self._sim.release(channel)

    def level(self, channel: int) -> int:
        return self._sim.level(channel)

    def pin(self, channel: int):
        """Function, signal, level, pull, drive and floating of one pin (a board.PinState)."""
        from .board import PULL_NAMES, PinState, function_name, signal_name

        gpio = self.gpio(channel)
        raw = self.chip.pin_state(gpio)
        return PinState(gpio, function_name(raw.function),
                        signal_name(self.info.chip, gpio, raw.function), int(raw.level),
                        PULL_NAMES.get(raw.pull), raw.drive, bool(raw.floating))

    # -- traces -----------------------------------------------------------------------------
    def history(self, channel: Optional[int] = None) -> list:
        """The board's level changes since it was made (RPIO.sim.history entries)."""
        return [entry for entry in self._sim.history(channel) if entry[0] >= self.start_ns]

    def trace(self, channel: int) -> Trace:
        """One pin's changes as a :class:`Trace` of (seconds since the board was made, level)."""
        entries = self.history(channel)
        initial = None
        if not entries:
            initial = self.level(channel)
        return Trace(self.gpio(channel), [(e[0], e[2]) for e in entries], self.start_ns, initial)

    def _watch(self, channel: int):
        line = self.chip.request_events(self.gpio(channel), True, True)
        os.set_blocking(line.fileno(), False)
        return line

    def _wait_readable(self, line, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        readable, _, _ = select.select([line.fileno()], [], [], remaining)
        if readable:
            try:
                os.read(line.fileno(), 48 * 64)
            except BlockingIOError:
                pass
        return bool(readable)

    def wait_for(self, channel: int, level: int, timeout: float = 1.0) -> float:
        """Wait until the pin shows ``level``; returns when (s since the board was made).

        Raises AssertionError (with the pin's trace) after ``timeout`` seconds.
        """
        with self._watch(channel) as line:
            deadline = time.monotonic() + timeout
            while True:
                if self.chip.level(self.gpio(channel)) == level:
                    return (time.monotonic_ns() - self.start_ns) / 1e9
                if not self._wait_readable(line, deadline):
                    if self.chip.level(self.gpio(channel)) == level:
                        return (time.monotonic_ns() - self.start_ns) / 1e9
                    trace = self.trace(channel)
                    raise AssertionError(f"GPIO{trace.gpio} did not reach {level} within "
                                         f"{timeout} s\n{trace.waveform()}\n{trace!r}")

    def wait_for_edges(self, channel: int, count: int, timeout: float = 1.0) -> Trace:
        """Wait until the pin's trace has at least ``count`` changes; returns the trace."""
        with self._watch(channel) as line:
            deadline = time.monotonic() + timeout
            while True:
                trace = self.trace(channel)
                if len(trace) >= count:
                    return trace
                if not self._wait_readable(line, deadline) and len(self.trace(channel)) < count:
                    trace = self.trace(channel)
                    raise AssertionError(f"GPIO{trace.gpio}: {len(trace)} changes within "
                                         f"{timeout} s, {count} expected\n{trace.waveform()}\n"
                                         f"{trace!r}")

    def assert_levels(self, channel: int, expected: Sequence[int]) -> Trace:
        """The pin went through exactly these levels (in order) since the board was made."""
        trace = self.trace(channel)
        if trace.levels != list(expected):
            raise AssertionError(f"GPIO{trace.gpio} went through {trace.levels}, expected "
                                 f"{list(expected)}\n{trace.waveform()}\n{trace!r}")
        return trace

    def export_vcd(self, path, **options):
        """This test's trace as a VCD file (RPIO.workbench.vcd.export_vcd from the board's start)."""
        from .vcd import export_vcd

        options.setdefault("since_ns", self.start_ns)
        return export_vcd(path, **options)

    def report(self, limit: int = _REPORT_LINES) -> str:
        """The last level changes, one line each, for a failing test's report."""
        entries = self.history()
        if not entries:
            return "no level change since the board was made"
        shown = entries[-limit:]
        lines = [f"{len(entries)} level changes on a simulated {self.info.model}"
                 + (f", the last {len(shown)}:" if len(shown) < len(entries) else ":")]
        for entry in shown:
            cause = getattr(entry, "cause", None)
            lines.append(f"  {(entry[0] - self.start_ns) / 1e9:10.6f} s  GPIO{entry[1]:<2} -> "
                         f"{entry[2]}" + (f"  ({cause})" if cause else ""))
        return "\n".join(lines)

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop what runs on the board (interrupts, generators), give RPIO its board back."""
        if self._closed:
            return
        self._closed = True
        try:
            import RPIO

            RPIO.cleanup_interrupts()
            parts = getattr(self._sim, "parts", None)
            if parts is not None:
                for view in parts():
                    if view.kind == "generator":
                        self._sim.part(view.name).stop()
        finally:
            if self._previous is not None:
                self._state.use_board(self._previous)
            else:
                self._sim.use_board(DEFAULT_MODEL)


def _model_for(request) -> str:
    marker = request.node.get_closest_marker("sim_board")
    if marker is not None:
        if marker.args:
            return str(marker.args[0])
        if "model" in marker.kwargs:
            return str(marker.kwargs["model"])
    return request.config.getoption("sim_board_model") or request.config.getini(
        "sim_board_model") or DEFAULT_MODEL


@pytest.fixture
def sim_board(request) -> Iterator[SimBoard]:
    """A fresh private simulated Raspberry Pi for this test (see RPIO.workbench.pytest_plugin)."""
    board = SimBoard(_model_for(request))
    request.node._rpio_sim_board = board
    try:
        yield board
    finally:
        board.close()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("rpio", "RPIO's simulated board")
    group.addoption("--sim-board", dest="sim_board_model", default=None, metavar="MODEL",
                    help="model of the sim_board fixture's board: a revision code (c03111) or a "
                         "name (pi5, pi3b+, zero2w); default c03111")
    group.addoption("--sim-board-vcd", dest="sim_board_vcd", default=None, metavar="DIR",
                    help="write the board trace of every failing test using sim_board to DIR as VCD")
    parser.addini("sim_board_model", "default model of the sim_board fixture", default="")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sim_board(model): the simulated model the sim_board "
                                       "fixture builds for this test (e.g. 'pi5', '0002')")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    board = getattr(item, "_rpio_sim_board", None)
    if board is None or report.passed or call.when != "call":
        return
    try:
        report.sections.append(("sim_board: level changes", board.report()))
        directory = item.config.getoption("sim_board_vcd")
        if directory:
            os.makedirs(directory, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
            path = os.path.join(directory, f"{name}.vcd")
            board.export_vcd(path)
            report.sections.append(("sim_board: VCD", f"trace written to {path}"))
    except Exception as error:  # a report must never hide the test's own failure
        report.sections.append(("sim_board", f"(no trace: {error})"))


def pytest_assertrepr_compare(op, left, right):
    if op == "==" and (isinstance(left, Trace) or isinstance(right, Trace)):
        trace = left if isinstance(left, Trace) else right
        other = right if trace is left else left
        return [f"{trace!r} == {other!r}", trace.waveform(),
                f"levels: {trace.levels}", f"times (s): {[round(t, 6) for t in trace.times]}"]
    return None
