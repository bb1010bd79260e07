"""Value change dumps (VCD) of the simulated board: export, record, read, replay.

VCD (IEEE 1364 §18) is the text format waveform viewers read: GTKWave, and PulseView through
libsigrok's VCD input. RPIO writes one 1-bit ``wire`` per GPIO, named ``GPIO17`` (or
``GPIO17_doorbell`` when a part sits on the pin), under the scope ``rpio``. A floating pin (nothing
drives it, no pull; the model reads it as 0) is written ``z``: GTKWave draws it as high impedance,
libsigrok reads it as 0 (as RPIO does) with a warning.

Writing
    ``write_vcd(file, changes, ...)`` writes any ``(t_ns, gpio, level)`` entries (the board's
    history entries, ``RPIO.sim.LevelChange``, tuples). ``export_vcd(path)`` writes the history of
    the board this process drives. ``Recorder`` (``with Recorder() as rec: ...; rec.write(path)``)
    records from now on, with every pin's level at the start, and survives a history ring that
    wraps or is cleared meanwhile (it follows the edge lines too); ``record(path, seconds)`` is
    ``rpio sim record``.

Timescale
    ``1us`` by default: microseconds are finer than anything Python times, and PulseView turns
    each tick into a sample (a 1 ns timescale would be a billion samples per second of trace).
    ``timescale="1ns"`` keeps the model's timestamps exactly.

Reading and replaying
    ``read_vcd(file)`` parses any VCD (timescales from 1 fs to 100 s, nested scopes, vectors,
    reals, ``$dumpvars``/``$dumpon``/``$dumpoff``) into a :class:`VcdTrace`. ``replay_vcd(path,
    scale=1.0)`` drives the simulated board's pins with its 1-bit signals, each change at its
    time, times multiplied by ``scale`` (2.0: half speed, 0.5: twice as fast, 0: at once, in
    order). ``0``/``1`` drive the pin, ``z``/``x`` let go of it. A signal named ``GPIOn``
    (``gpio_17``, ``BCM17``, ``GPIO17_doorbell``...) drives GPIO n; others need ``channels=
    {"name": gpio}`` (a logic analyser's ``D0``, say).
"""

from __future__ import annotations

import io
import os
import re
import select
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from rpio_interrupts._threads import start_signal_free

from .layout import layout_for, open_edge_lines

PathOrFile = Union[str, "os.PathLike[str]", IO[str]]

#: femtoseconds per unit
_UNITS = {"s": 10**15, "ms": 10**12, "us": 10**9, "µs": 10**9, "ns": 10**6, "ps": 10**3, "fs": 1}
_TIMESCALE = re.compile(r"^\s*(1|10|100)\s*(s|ms|us|µs|ns|ps|fs)\s*$")
_GPIO_NAME = re.compile(r"(?i)^(?:gpio|bcm)_?(\d+)(?:_.*)?$")
_SCALAR_VALUES = {"0": 0, "1": 1, "l": 0, "h": 1}  # anything else (x, z, u, w, -) lets go
DEFAULT_TIMESCALE = "1us"
SCOPE = "rpio"


def parse_timescale(text: str) -> int:
    """Femtoseconds per tick of a VCD timescale ("1us", "10 ns", "100ps")."""
    match = _TIMESCALE.match(text)
    if not match:
        raise ValueError(f"a VCD timescale is 1, 10 or 100 followed by s, ms, us, ns, ps or fs, "
                         f"not {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _identifier(index: int) -> str:
    """The index-th short VCD identifier: '!', '"', ... then two characters (printable ASCII)."""
    chars = []
    index += 1
    while index:
        index, digit = divmod(index - 1, 94)
        chars.append(chr(33 + digit))
    return "".join(reversed(chars))


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\[\]:-]", "_", name) or "_"


def gpio_of_name(name: str) -> Optional[int]:
    """The GPIO a signal name stands for ('GPIO17', 'gpio_17', 'BCM17', 'GPIO17_bell'), else None."""
    match = _GPIO_NAME.match(name.rsplit(".", 1)[-1])
    return int(match.group(1)) if match else None


def _entry(change) -> Tuple[int, int, int, bool]:
    """(t_ns, gpio, level, floating) of a history entry, a LevelChange or a plain tuple."""
    t_ns, gpio, level = int(change[0]), int(change[1]), int(change[2])
    floating = getattr(change, "floating", None)
    if floating is None:
        floating = bool(change[3]) if len(change) > 3 and isinstance(change[3], bool) else False
    return t_ns, gpio, level, bool(floating)


def _value(level: int, floating: bool) -> str:
    return "z" if floating else ("1" if level else "0")


def _initial_value(spec) -> str:
    if isinstance(spec, str):
        if spec not in ("0", "1", "x", "z"):
            raise ValueError(f"an initial value is 0, 1, 'x' or 'z', not {spec!r}")
        return spec
    if isinstance(spec, tuple):
        return _value(int(spec[0]), bool(spec[1]))
    return _value(int(spec), False)


@dataclass
class WriteSummary:
    """What write_vcd wrote: the signals (gpio -> name), how many changes, the time span."""

    signals: Dict[int, str]
    changes: int
    start_ns: int
    end_ns: int
    timescale: str
    save_file: Optional[str] = None  # the GTKWave save file written beside it


def write_vcd(out: PathOrFile, changes: Iterable, *, gpios: Optional[Sequence[int]] = None,
              initial: Optional[Mapping[int, Any]] = None,
              names: Optional[Mapping[int, str]] = None, timescale: str = DEFAULT_TIMESCALE,
              start_ns: Optional[int] = None, end_ns: Optional[int] = None,
              comment: Optional[str] = None, save_file: bool = True) -> WriteSummary:
    """Write level changes as a VCD file (a path or an open text file).

    ``changes``: entries ``(t_ns, gpio, level)`` in time order (history entries carry
    ``.floating``; a 4th tuple element True says the same). ``gpios``: the signals to write
    (default: every GPIO in ``changes`` and ``initial``); only their changes are written.
    ``initial``: ``{gpio: 0 | 1 | 'z' | (level, floating)}`` at ``start_ns``; a GPIO left out
    starts at the opposite of its first recorded level (the history records changes only), or
    ``x`` when it has none. ``start_ns`` is VCD time 0 (default: the first change); ``end_ns``
    adds a last timestamp so the trace shows its full length. ``names``: ``{gpio: "name"}``
    (default ``GPIOn``). Written to a path, a GTKWave save file goes beside it (``save_file``;
    :func:`write_gtkw`), its path in the summary's ``save_file``.
    """
    unit_fs = parse_timescale(timescale)
    entries = [_entry(change) for change in changes]
    entries.sort(key=lambda entry: entry[0])  # stable: same-time changes keep their order
    initial = dict(initial or {})
    wanted = sorted(set(gpios) if gpios is not None
                    else {entry[1] for entry in entries} | set(initial))
    wanted_set = set(wanted)
    entries = [entry for entry in entries if entry[1] in wanted_set]
    if start_ns is None:
        start_ns = entries[0][0] if entries else (end_ns if end_ns is not None else 0)
    entries = [entry for entry in entries if entry[0] >= start_ns]
    first_level: Dict[int, int] = {}
    for _t, gpio, level, _floating in entries:
        first_level.setdefault(gpio, level)
    ids = {gpio: _identifier(index) for index, gpio in enumerate(wanted)}
    signal_names = {gpio: _sanitize((names or {}).get(gpio) or f"GPIO{gpio}") for gpio in wanted}

    def ticks(t_ns: int) -> int:
        return ((t_ns - start_ns) * 10**6 + unit_fs // 2) // unit_fs

    from .. import _info

    lines = [
        "$date", f"\t{time.strftime('%a %b %d %H:%M:%S %Y')}", "$end",
        "$version", f"\tRPIO {_info.VERSION} (simulated Raspberry Pi board)", "$end",
    ]
    if comment:
        lines += ["$comment", *(f"\t{line}" for line in comment.splitlines()), "$end"]
    lines += [f"$timescale {timescale.replace(' ', '')} $end", f"$scope module {SCOPE} $end"]
    lines += [f"$var wire 1 {ids[gpio]} {signal_names[gpio]} $end" for gpio in wanted]
    lines += ["$upscope $end", "$enddefinitions $end", "#0", "$dumpvars"]
    for gpio in wanted:
        if gpio in initial:
            value = _initial_value(initial[gpio])
        elif gpio in first_level:
            value = "0" if first_level[gpio] else "1"
        else:
            value = "x"
        lines.append(f"{value}{ids[gpio]}")
    lines.append("$end")
    current = 0
    for t_ns, gpio, level, floating in entries:
        tick = ticks(t_ns)
        if tick != current:
            lines.append(f"#{tick}")
            current = tick
        lines.append(f"{_value(level, floating)}{ids[gpio]}")
    last_ns = entries[-1][0] if entries else start_ns
    if end_ns is not None and ticks(end_ns) > current:
        lines.append(f"#{ticks(end_ns)}")
        last_ns = end_ns
    text = "\n".join(lines) + "\n"
    summary = WriteSummary({gpio: signal_names[gpio] for gpio in wanted}, len(entries), start_ns,
                           last_ns, timescale)
    if hasattr(out, "write"):
        out.write(text)
    else:
        with open(out, "w", encoding="ascii", newline="\n") as file:
            file.write(text)
        if save_file:
            summary.save_file = write_gtkw(out, [signal_names[gpio] for gpio in wanted])
    return summary


def gtkw_path(vcd_path: PathOrFile) -> str:
    """The GTKWave save file beside a VCD file: board.vcd -> board.gtkw."""
    root, ext = os.path.splitext(os.fspath(vcd_path))
    return (root if ext.lower() == ".vcd" else os.fspath(vcd_path)) + ".gtkw"


def write_gtkw(vcd_path: PathOrFile, signals: Sequence[str], path: Optional[str] = None) -> str:
    """Write a GTKWave save file for a VCD file RPIO wrote: ``gtkwave board.gtkw`` (or opening
    the VCD with it) shows every signal at once, in GPIO order, instead of an empty wave pane.
    Returns its path (default: beside the VCD, ``.gtkw`` for ``.vcd``)."""
    path = gtkw_path(vcd_path) if path is None else path
    lines = ["[*] RPIO: the signals of a simulated Raspberry Pi board",
             f'[dumpfile] "{os.path.abspath(os.fspath(vcd_path))}"',
             "[timestart] 0",
             "[sst_expanded] 1",
             "[signals_width] 180",
             f"[treeopen] {SCOPE}.",
             "@28"]  # binary, right-justified: one line per 1-bit wire
    lines += [f"{SCOPE}.{name}" for name in signals]
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write("\n".join(lines) + "\n")
    return path


def _current_chip():
    """The simulated chip ``import RPIO`` drives here (what ``RPIO.sim.chip()`` returns: this
    module sits below RPIO.sim and reads RPIO's state directly, so imports go one way)."""
    from .._gpio import _state

    board = _state.board
    if not board.simulated:
        raise RuntimeError("RPIO drives a real Raspberry Pi here: there is no simulated board")
    _state.driver  # noqa: B018 - builds the model (or attaches to the shared board) on first use
    return board.chip


def _part_names(chip=None) -> Dict[int, str]:
    """GPIO -> 'GPIOn_part' for the pins parts sit on."""
    chip = _current_chip() if chip is None else chip
    names: Dict[int, str] = {}
    for part in chip.parts():
        gpio = part["gpio"]
        names[gpio] = f"{names.get(gpio, f'GPIO{gpio}')}_{part['name']}"
    return names


def _describe_board() -> str:
    from .._gpio import _state

    info = _state.board.info
    return f"{info.model}, revision {info.rpio_revision_hex} ({info.processor})"


def export_vcd(path: PathOrFile, *, gpios: Optional[Sequence[int]] = None,
               since_ns: Optional[int] = None, timescale: str = DEFAULT_TIMESCALE,
               names: Optional[Mapping[int, str]] = None) -> WriteSummary:
    """Write the history of the simulated board this process drives as a VCD file.

    ``gpios`` (BCM numbers) limits the signals (default: every GPIO that changed); ``since_ns``
    (CLOCK_MONOTONIC) starts the trace there, each pin at the level it had then.
    """
    history = [_entry(entry) for entry in _current_chip().history()]
    initial: Dict[int, Any] = {}
    if since_ns is not None:
        for t_ns, gpio, level, floating in history:  # the level each pin had at since_ns
            if t_ns < since_ns:
                initial[gpio] = (level, floating)
        history = [entry for entry in history if entry[0] >= since_ns]
    if gpios is not None:
        initial = {gpio: value for gpio, value in initial.items() if gpio in set(gpios)}
    elif since_ns is not None:
        initial = {gpio: value for gpio, value in initial.items()
                   if any(entry[1] == gpio for entry in history)}
    all_names = _part_names()
    all_names.update(names or {})
    return write_vcd(path, history, gpios=gpios, initial=initial, names=all_names,
                     timescale=timescale, start_ns=since_ns,
                     comment=f"history of a simulated {_describe_board()}")


# ---------------------------------------------------------------------------------------------
# Recording from now on
# ---------------------------------------------------------------------------------------------


class Recorder:
    """Record the simulated board's level changes from start() to stop(), then write them.

    ::

        with Recorder(gpios=[17, 27]) as recording:
            ...                                  # the script runs
        recording.write("doorbell.vcd")

    Each pin's level (and whether it floats) is read at the start. Changes come from the board's
    history when it still holds the whole recording at the end, with every detail; otherwise from
    the edge lines the recorder held open meanwhile (a ring that wrapped or was cleared).
    """

    def __init__(self, gpios: Optional[Sequence[int]] = None):
        from .._gpio import _state

        self._chip = _current_chip()
        self._info = _state.board.info
        if gpios is None:
            gpios = layout_for(self._info).gpios
        self.gpios = tuple(sorted(set(gpios)))
        self.start_ns: Optional[int] = None
        self.end_ns: Optional[int] = None
        self.initial: Dict[int, Tuple[int, bool]] = {}
        self.changes: List[Tuple[int, int, int, bool]] = []
        self._edges: List[Tuple[int, int, int, bool]] = []
        self._lines: list = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._wake_r = self._wake_w = -1

    def start(self) -> Recorder:
        if self.start_ns is not None:
            raise RuntimeError("this recorder has already been started")
        self._lines = open_edge_lines(self._chip, self.gpios, "the VCD recorder")
        self.start_ns = time.monotonic_ns()
        for gpio in self.gpios:
            state = self._chip.pin_state(gpio)
            self.initial[gpio] = (int(state.level), bool(state.floating))
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._follow, name="rpio-vcd-recorder",
                                        daemon=True)
        start_signal_free(self._thread)
        return self

    def _drain(self, fds) -> None:
        from rpio_interrupts.event import EVENT_SIZE, decode_events

        for line in self._lines:
            if line.fileno() not in fds:
                continue
            while True:
                try:
                    data = os.read(line.fileno(), EVENT_SIZE * 256)
                except BlockingIOError:
                    break
                if not data:
                    break
                self._edges.extend((e.timestamp_ns, e.offset, e.value, False)
                                   for e in decode_events(data))

    def _follow(self) -> None:
        fds = [line.fileno() for line in self._lines]
        while not self._stop.is_set():
            readable, _, _ = select.select(fds + [self._wake_r], [], [], 1.0)
            self._drain(readable)

    def stop(self) -> List[Tuple[int, int, int, bool]]:
        """End the recording; returns the changes, (t_ns, gpio, level, floating) in time order."""
        if self.start_ns is None:
            raise RuntimeError("this recorder was never started")
        if self.end_ns is not None:
            return self.changes
        self.end_ns = time.monotonic_ns()
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self._drain([line.fileno() for line in self._lines])
        for line in self._lines:
            line.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        wanted = set(self.gpios)
        history = self._chip.history()
        from_history = [_entry(entry) for entry in history
                        if self.start_ns <= entry[0] <= self.end_ns and entry[1] in wanted]
        edges = sorted((edge for edge in self._edges if edge[0] <= self.end_ns),
                       key=lambda edge: edge[0])
        # the history has the floating flags; it is complete unless the ring lost some of it
        self.changes = from_history if len(from_history) >= len(edges) else edges
        return self.changes

    def write(self, path: PathOrFile, *, timescale: str = DEFAULT_TIMESCALE,
              names: Optional[Mapping[int, str]] = None, only_changed: bool = False) -> WriteSummary:
        """Write the recording as VCD; ``only_changed`` leaves out the pins that never moved."""
        if self.end_ns is None:
            self.stop()
        gpios = self.gpios
        if only_changed:
            moved = {change[1] for change in self.changes}
            gpios = tuple(gpio for gpio in self.gpios if gpio in moved)
        all_names = _part_names(self._chip)
        all_names.update(names or {})
        info = self._info
        return write_vcd(path, self.changes, gpios=gpios, initial=self.initial, names=all_names,
                         timescale=timescale, start_ns=self.start_ns, end_ns=self.end_ns,
                         comment=f"recorded on a simulated {info.model}, revision "
                                 f"{info.rpio_revision_hex} ({info.processor})")

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def record(path: PathOrFile, seconds: Optional[float] = None, *,
           gpios: Optional[Sequence[int]] = None, timescale: str = DEFAULT_TIMESCALE,
           until: Optional[threading.Event] = None, only_changed: bool = False) -> WriteSummary:
    """Record for ``seconds`` (or until ``until`` is set, or Ctrl-C), then write the VCD file."""
    recorder = Recorder(gpios).start()
    event = until or threading.Event()
    try:
        event.wait(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        recorder.stop()
    return recorder.write(path, timescale=timescale, only_changed=only_changed)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcdSignal:
    """One ``$var``: its identifier code, reference name, scope path, width and type."""

    id: str
    name: str
    scope: Tuple[str, ...]
    width: int
    type: str

    @property
    def path(self) -> str:
        return ".".join(self.scope + (self.name,))


@dataclass
class VcdTrace:
    """A parsed VCD file. ``changes`` are (tick, identifier, value text) in file order."""

    timescale_fs: int
    signals: List[VcdSignal]
    changes: List[Tuple[int, str, str]]
    date: str = ""
    version: str = ""
    comments: List[str] = field(default_factory=list)
    end_tick: int = 0  # the last timestamp of the file (a trace may end after its last change)
    source: str = "the VCD text"  # the file it was read from, for messages

    def t_ns(self, tick: int) -> float:
        return tick * self.timescale_fs / 10**6

    def signal(self, name: str) -> VcdSignal:
        """A signal by reference name ('GPIO17') or full path ('rpio.GPIO17')."""
        for signal in self.signals:
            if name in (signal.name, signal.path):
                return signal
        raise KeyError(f"no signal {name!r} in this VCD (it has "
                       f"{', '.join(s.path for s in self.signals) or 'none'})")

    def values(self, name: str) -> List[Tuple[float, str]]:
        """Every (t_ns, value) of one signal, its $dumpvars value first."""
        ident = self.signal(name).id
        return [(self.t_ns(tick), value) for tick, code, value in self.changes if code == ident]

    def levels(self, name: str) -> List[Tuple[float, Optional[Union[int, float]]]]:
        """(t_ns, value) of a signal: 0 | 1 for a 1-bit wire; the number for a vector (an 8-bit
        bus ``b10100101`` is 165); a float for a ``real``. None for x, z and the like (a vector
        with any x or z bit)."""
        signal = self.signal(name)
        return [(t, _number(value, signal)) for t, value in self.values(name)]


def _number(value: str, signal: VcdSignal) -> Optional[Union[int, float]]:
    if signal.type == "real" or signal.type == "realtime":
        try:
            return float(value)
        except ValueError:
            return None
    if signal.width == 1 and len(value) == 1:
        return _SCALAR_VALUES.get(value.lower())
    bits = value.lower().replace("l", "0").replace("h", "1")
    if not bits or set(bits) - {"0", "1"}:
        return None
    return int(bits, 2)


def _tokens(text: str):
    for line in text.splitlines():
        yield from line.split()


#: the largest VCD file read_vcd reads (bytes); its changes take about 10 times as much memory
MAX_VCD_BYTES = 64 << 20
MAX_SCOPE_DEPTH = 64


def read_vcd(source: PathOrFile, *, max_bytes: int = MAX_VCD_BYTES) -> VcdTrace:
    """Parse a VCD file (a path, an open text file, or the text itself if it starts with '$').

    A path must be a regular file of at most ``max_bytes`` bytes of text (a FIFO or a device is
    refused at once, never waited on). Every error is one ValueError line naming the file.
    """
    from .._files import decode_text, read_regular_file

    name = "the VCD text"
    if hasattr(source, "read"):
        name = getattr(source, "name", None) or "the VCD stream"
        text = source.read(max_bytes + 1)
        if isinstance(text, bytes):
            text = decode_text(text, name, "VCD file")
        if len(text) > max_bytes:
            raise ValueError(f"{name}: larger than {max_bytes} bytes, the most read_vcd reads")
    elif isinstance(source, str) and source.lstrip().startswith("$"):
        text = source
    else:
        name = os.fspath(source)
        text = decode_text(read_regular_file(name, max_bytes, "VCD file"), name, "VCD file")
    if "\0" in text:
        raise ValueError(f"{name}: binary data (a NUL character), not a VCD file")
    try:
        trace = _parse_vcd(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    trace.source = name
    return trace


def _parse_vcd(text: str) -> VcdTrace:
    tokens = _tokens(text)
    timescale_fs = 10**6  # 1 ns when the file does not say (IEEE 1364 leaves it to the tool)
    signals: List[VcdSignal] = []
    by_id: Dict[str, VcdSignal] = {}
    scope: List[str] = []
    changes: List[Tuple[int, str, str]] = []
    date = version = ""
    comments: List[str] = []
    tick = 0
    in_definitions = True

    def section() -> List[str]:
        words = []
        for word in tokens:
            if word == "$end":
                return words
            words.append(word)
        raise ValueError("a VCD section is not closed with $end")

    for token in tokens:
        if token.startswith("$"):
            keyword = token[1:]
            if keyword in ("dumpvars", "dumpall", "dumpon", "dumpoff"):
                continue  # their contents are ordinary value changes; their $end is skipped
            if keyword == "end":
                continue
            words = section()
            if keyword == "timescale":
                timescale_fs = parse_timescale("".join(words))
            elif keyword == "scope":
                if len(scope) >= MAX_SCOPE_DEPTH:
                    raise ValueError(f"scopes nest deeper than {MAX_SCOPE_DEPTH} levels")
                scope.append(words[1] if len(words) > 1 else (words[0] if words else ""))
            elif keyword == "upscope":
                if scope:
                    scope.pop()
            elif keyword == "var":
                if len(words) < 4 or not words[1].isdigit() or not 0 < int(words[1]) <= 4096:
                    raise ValueError(f"malformed $var: {' '.join(words)[:80]!r} (expected "
                                     "$var TYPE WIDTH ID NAME $end, a width of 1 to 4096)")
                signal = VcdSignal(words[2], words[3], tuple(scope), int(words[1]), words[0])
                signals.append(signal)
                by_id.setdefault(signal.id, signal)
            elif keyword == "enddefinitions":
                in_definitions = False
            elif keyword == "date":
                date = " ".join(words)
            elif keyword == "version":
                version = " ".join(words)
            elif keyword == "comment":
                comments.append(" ".join(words))
            continue
        if in_definitions:
            continue  # stray text in the header (some tools print a banner into the file)
        first = token[0]
        if first == "#":
            if not token[1:].isdigit() or not token[1:].isascii():
                raise ValueError(f"a VCD time is #DIGITS, not {token[:40]!r}")
            new_tick = int(token[1:])
            if new_tick < tick:
                raise ValueError(f"VCD time goes backwards: #{new_tick} after #{tick}")
            tick = new_tick
        elif first in "bBrRsS":
            ident = next(tokens, None)
            if ident is None:
                raise ValueError(f"value {token[:40]!r} has no identifier")
            if ident not in by_id:
                raise ValueError(f"value change for an undeclared identifier {ident[:40]!r}")
            changes.append((tick, ident, token[1:]))
        elif first in "01xXzZuUwWlLhH-":
            ident = token[1:]
            if not ident:
                ident = next(tokens, "")
            if ident not in by_id:
                raise ValueError(f"value change for an undeclared identifier {ident[:40]!r}")
            changes.append((tick, ident, first))
        else:
            raise ValueError(f"unexpected token in VCD data: {token[:40]!r}")
    return VcdTrace(timescale_fs, signals, changes, date, version, comments, tick)


# ---------------------------------------------------------------------------------------------
# Replaying
# ---------------------------------------------------------------------------------------------


class Replay:
    """Drive the simulated board's pins with a VCD trace's 1-bit signals, on its timing.

    ``start()`` runs it in a thread (``wait()``, ``stop()``), ``run()`` in the caller's. The
    first timestamp of the file happens at the start; each change at ``start + (t - t_first) *
    scale``. ``applied`` lists what was driven, as (t_ns actual, gpio, level or None).

    When it ends (its last change, ``stop()``, or an error) each pin it drove gets back the
    outside drive it had before (released, most often), as a probe lifted off the board: a
    button's next press, a generator, the script's own output decide the pin again.
    ``hold=True`` leaves the pins driven at the file's last levels instead. ``restored`` lists
    what was given back, as (gpio, drive).
    """

    def __init__(self, trace: Union[VcdTrace, PathOrFile], scale: float = 1.0, *,
                 channels: Optional[Mapping[str, int]] = None,
                 drive: Optional[Callable[[int, Optional[int]], None]] = None,
                 gpio_count: Optional[int] = None, hold: bool = False,
                 drive_state: Optional[Callable[[int], Optional[int]]] = None):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
            raise ValueError(f"scale is a number >= 0 (1.0: real time), not {scale!r}")
        self.trace = trace if isinstance(trace, VcdTrace) else read_vcd(trace)
        self.scale = float(scale)
        if drive is None:
            chip = _current_chip()
            drive = chip.drive
            if gpio_count is None:
                gpio_count = chip.num_gpios()
            if drive_state is None:
                drive_state = lambda gpio: chip.pin_state(gpio).drive  # noqa: E731
        self._drive = drive
        self._drive_state = drive_state  # None: every pin was undriven before
        self.hold = bool(hold)
        self.restored: List[Tuple[int, Optional[int]]] = []
        mapping: Dict[str, int] = {}
        self.skipped: List[str] = []
        for signal in self.trace.signals:
            gpio = None
            if channels:
                gpio = channels.get(signal.path, channels.get(signal.name))
            if gpio is None and not channels:
                gpio = gpio_of_name(signal.name)
            if gpio is None or signal.width != 1:
                self.skipped.append(signal.path)
                continue
            if isinstance(gpio, bool) or not isinstance(gpio, int) or gpio < 0 or (
                    gpio_count is not None and gpio >= gpio_count):
                lacks = f"this board has GPIO 0-{gpio_count - 1}" if gpio_count else "no such GPIO"
                raise ValueError(f"{self.trace.source}: signal {signal.path} drives GPIO {gpio}: "
                                 f"{lacks} (map it elsewhere with channels={{'{signal.name}': "
                                 "gpio}, or rpio sim replay --map)")
            mapping[signal.id] = int(gpio)
        if channels:
            known = {s.path for s in self.trace.signals} | {s.name for s in self.trace.signals}
            unknown = sorted(set(channels) - known)
            if unknown:
                raise KeyError(f"no signal {', '.join(map(repr, unknown))} in this VCD")
        if not mapping:
            raise ValueError("no 1-bit signal of this VCD names a GPIO (GPIOn): map them with "
                             "channels={'signal': gpio}")
        self.mapping = mapping  # identifier -> gpio
        first_tick = self.trace.changes[0][0] if self.trace.changes else 0
        self.plan: List[Tuple[int, int, Optional[int]]] = [
            (round(self.trace.t_ns(tick - first_tick) * self.scale), mapping[ident],
             _SCALAR_VALUES.get(value.lower()))
            for tick, ident, value in self.trace.changes if ident in mapping
        ]
        self.applied: List[Tuple[int, int, Optional[int]]] = []
        self.started_ns: Optional[int] = None
        self.error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def duration_s(self) -> float:
        return self.plan[-1][0] / 1e9 if self.plan else 0.0

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _sleep_until(self, deadline_ns: int) -> bool:
        """Wait for the deadline (coarse waits, then a short spin); False if stopped."""
        while True:
            remaining = deadline_ns - time.monotonic_ns()
            if remaining <= 0:
                return not self._stop.is_set()
            if remaining > 2_000_000:
                if self._stop.wait((remaining - 1_000_000) / 1e9):
                    return False
            elif self._stop.is_set():
                return False
            else:
                time.sleep(0)

    def run(self) -> Replay:
        """Replay in this thread; returns when the last change is driven (or stop()), the pins
        it drove given back their drive from before (unless ``hold``)."""
        found: Dict[int, Optional[int]] = {}
        try:
            for gpio in sorted(set(self.mapping.values())):
                found[gpio] = self._drive_state(gpio) if self._drive_state else None
            self.started_ns = time.monotonic_ns()
            for offset, gpio, level in self.plan:
                if not self._sleep_until(self.started_ns + offset):
                    break
                self._drive(gpio, level)
                self.applied.append((time.monotonic_ns(), gpio, level))
        except BaseException as error:  # reported by wait()
            self.error = error
            raise
        finally:
            try:
                if not self.hold:
                    self._restore(found)
            finally:
                self._done.set()
        return self

    def _restore(self, found: Dict[int, Optional[int]]) -> None:
        driven = []
        for _t, gpio, _level in self.applied:
            if gpio not in driven:
                driven.append(gpio)
        for gpio in driven:
            before = found.get(gpio)
            self._drive(gpio, before)
            self.restored.append((gpio, before))

    def start(self) -> Replay:
        """Replay in a background thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("this replay has already been started")

        def target():
            try:
                self.run()
            except BaseException:
                pass  # kept in self.error

        self._thread = threading.Thread(target=target, name="rpio-vcd-replay", daemon=True)
        start_signal_free(self._thread)
        return self

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the end; True when every change was driven. Raises what the replay raised."""
        finished = self._done.wait(timeout)
        if self.error is not None:
            raise self.error
        return finished and len(self.applied) == len(self.plan)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)


def replay_vcd(path: Union[VcdTrace, PathOrFile], scale: float = 1.0, *,
               channels: Optional[Mapping[str, int]] = None, wait: bool = True,
               hold: bool = False) -> Replay:
    """Replay a VCD file on the simulated board's pins (see :class:`Replay`).

    ``wait=True`` returns when done; ``wait=False`` returns the running replay at once. The pins
    get their drive from before back at the end, unless ``hold=True``.
    """
    replay = Replay(path, scale, channels=channels, hold=hold)
    if wait:
        return replay.run()
    return replay.start()


def dumps(changes: Iterable, **options) -> str:
    """write_vcd to a string."""
    buffer = io.StringIO()
    write_vcd(buffer, changes, **options)
    return buffer.getvalue()


__all__ = [
    "DEFAULT_TIMESCALE",
    "Recorder",
    "Replay",
    "VcdSignal",
    "VcdTrace",
    "WriteSummary",
    "dumps",
    "export_vcd",
    "gpio_of_name",
    "gtkw_path",
    "write_gtkw",
    "parse_timescale",
    "read_vcd",
    "record",
    "replay_vcd",
    "write_vcd",
]
