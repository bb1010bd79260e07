"""The board as its watchers see it: the header's layout, each pin's state, the parts.

One vocabulary for the board page (``rpio sim serve``) and the terminal picture (``rpio pinout``):

- :func:`layout_for` turns a revision code's :class:`~rpio_core.boards.BoardInfo` into a
  :class:`Layout`: the header's rows of two pins (40-pin, 26-pin rev 1 or rev 2, plus the P5 pads
  of rev 2 boards), or, for a compute module (no header), the chip's GPIOs in a list.
- A *source* reads the pins: :class:`SimSource` the simulated board this process drives (private,
  or shared when ``RPIO.sim`` offers shared boards), :class:`HardwareSource` a Raspberry Pi's
  registers (read-only unless writes were allowed), :class:`OfflineSource` a model with no state
  at all (``rpio pinout --board pi5``). :func:`current_source` picks the one ``import RPIO`` uses.

Every pin state is a :class:`PinState` with the function by name (``IN``, ``OUT``, ``ALT0``...
``ALT8``, ``NONE``), the ALT signal (``SDA1``), the level, the pull (``up``/``down``/``off``, or
None where the chip cannot say), the outside drive of a simulated pin and whether it floats.
GPIOs are BCM numbers here, whatever numbering mode a script chose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import rpio_core

from .._gpio import function_name  # 'IN', 'OUT', 'ALT0'..'ALT8', 'NONE': RPIO's one mapping
from .layout import Layout, Pin, layout_for, open_edge_lines, signal_name

log = logging.getLogger("RPIO.workbench")

PULL_NAMES = {rpio_core.PULL_OFF: "off", rpio_core.PULL_DOWN: "down", rpio_core.PULL_UP: "up"}

#: what a click in the page (or ``rpio sim press``) may ask of a part, by kind
PART_ACTIONS = {
    "button": ("press", "release", "click"),
    "generator": ("start", "stop"),
}


class ReadOnlyError(PermissionError):
    """A write was asked of a board that is watched read-only (a real Pi without --allow-writes)."""


# ---------------------------------------------------------------------------------------------
# Pin and part states
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinState:
    """What one GPIO is doing right now."""

    gpio: int
    function: str  # 'IN', 'OUT', 'ALT0'..'ALT8', 'NONE'
    signal: Optional[str]  # the ALT function's signal name, else None
    level: int
    pull: Optional[str]  # 'up', 'down', 'off', or None where the chip cannot say (BCM2835/6/7)
    drive: Optional[int] = None  # simulated board: the outside drive (None: not driven)
    floating: bool = False  # simulated board: nothing decides the level (it reads 0)
    consumer: Optional[str] = None  # who holds it for edge detection ("bell.py (pid 42)")

    def as_dict(self) -> Dict[str, Any]:
        return {"gpio": self.gpio, "function": self.function, "signal": self.signal,
                "level": self.level, "pull": self.pull, "drive": self.drive,
                "floating": self.floating, "consumer": self.consumer}


@dataclass(frozen=True)
class PartState:
    """A part on the simulated board (button, LED, servo, generator) and what it shows."""

    name: str
    kind: str
    gpios: Tuple[int, ...]
    state: Dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """The state for people: "on, brightness 50 %", "angle 90°", "pressed"..."""
        return describe_part(self.kind, self.state)

    def as_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "gpios": list(self.gpios),
                "state": {key: _jsonable(value) for key, value in self.state.items()},
                "summary": self.summary,
                "actions": list(PART_ACTIONS.get(self.kind, ()))}


def _number(value: float, digits: int = 0) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def describe_part(kind: str, state: Dict[str, Any]) -> str:
    """A part's state as people say it: brightness 50 %, angle 90°, 200 Hz at duty 50 %."""
    if kind == "button":
        return "pressed" if state.get("pressed") else "released"
    if kind == "led":
        text = "on" if state.get("on") else "off"
        brightness = state.get("brightness")
        if isinstance(brightness, (int, float)):
            text += f", brightness {_number(brightness * 100)} %"
        return text
    if kind == "servo":
        angle, pulse = state.get("angle"), state.get("pulse_us")
        if angle is None:
            return "no pulse yet"
        text = f"angle {_number(angle)}°"
        if isinstance(pulse, (int, float)):
            text += f" (pulse {_number(pulse)} µs)"
        return text
    if kind == "generator":
        frequency, duty = state.get("frequency"), state.get("duty")
        what = (f"{_number(frequency, 1)} Hz, duty {_number(duty * 100)} %"
                if isinstance(frequency, (int, float)) and isinstance(duty, (int, float)) else "")
        running = "running" if state.get("running") else "stopped"
        return f"{running}, {what}" if what else running
    return ", ".join(f"{key} {value}" for key, value in state.items())


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)


@dataclass(frozen=True)
class Edge:
    """One level change for the timeline: when (CLOCK_MONOTONIC ns), which GPIO, which level."""

    t_ns: int
    gpio: int
    level: int
    cause: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return {"t_ns": self.t_ns, "gpio": self.gpio, "level": self.level, "cause": self.cause}


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


class Source:
    """Where the pins are read (and, if allowed, written). Subclasses fill in the reading."""

    kind = "offline"
    simulated = False
    live = False  # has pin states at all
    writable = False

    def __init__(self, layout: Layout):
        self.layout = layout

    # -- reading -----------------------------------------------------------------------------
    def pin_states(self, gpios: Optional[Sequence[int]] = None) -> Dict[int, PinState]:
        return {}

    def parts(self) -> List[PartState]:
        return []

    def wires(self) -> List[Tuple[int, ...]]:
        """The wires on the board, each the BCM gpios it joins."""
        return []

    def recent_edges(self, limit: int) -> List[Edge]:
        """The last ``limit`` level changes the board remembers (oldest first)."""
        return []

    def generation(self) -> Any:
        """Changes when the board behind the source is replaced (RPIO.sim.use_board())."""
        return None

    def history(self) -> Tuple[List[Tuple[int, int, int]], bool]:
        """Every level change the board's history ring holds, oldest first, as (t_ns, gpio,
        level), and whether the ring has wrapped (older changes are lost)."""
        return [], False

    def open_edge_lines(self, gpios: Sequence[int]) -> list:
        """Readable handles yielding 48-byte gpio_v2_line_event records, [] if none."""
        return []

    def describe(self) -> Dict[str, Any]:
        return {"kind": self.kind, "simulated": self.simulated, "live": self.live,
                "writable": self.writable, "shared": None}

    # -- writing -----------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if not self.writable:
            if self.simulated:
                raise ReadOnlyError("this board is watched read-only (--read-only)")
            raise ReadOnlyError(
                "this board is watched read-only: on a Raspberry Pi start the server with "
                "--allow-writes to change pins from the page"
            )

    def drive(self, gpio: int, level: Optional[int]) -> None:
        self._check_writable()
        raise ReadOnlyError("this board has no pins to drive")

    def part_action(self, name: str, action: str) -> None:
        self._check_writable()
        raise LookupError("this board has no parts")


class OfflineSource(Source):
    """A model and nothing else: the picture of its header, no levels."""

    def __init__(self, model):
        super().__init__(layout_for(model))


def _check_gpio(layout: Layout, gpio) -> int:
    if isinstance(gpio, bool) or not isinstance(gpio, int):
        raise ValueError(f"a GPIO is a BCM number, not {gpio!r}")
    count = layout.info.gpio_count or 0
    if not 0 <= gpio < count:
        raise ValueError(f"GPIO {gpio} does not exist on this board (0-{count - 1})")
    return gpio


def _check_level(level) -> Optional[int]:
    if level is None:
        return None
    if isinstance(level, bool) or level not in (0, 1):
        raise ValueError(f"a level is 0, 1 or None (release), not {level!r}")
    return int(level)


class SimSource(Source):
    """The simulated board RPIO drives in this process (``RPIO.sim``).

    With shared boards (several processes on one board, ``RPIO.sim.use_board(shared=...)``) the
    same code watches whatever process changes the pins: edges arrive on the event lines.
    """

    kind = "sim"
    simulated = True
    live = True
    writable = True

    def __init__(self):
        from .. import sim
        from .._gpio import _state

        self._sim, self._state = sim, _state
        self._lines: list = []  # the edge lines this source opened (the page's own)
        sim.chip()  # builds the model now, so a wrong model fails here rather than in a thread
        super().__init__(layout_for(_state.board.info))

    def refresh_layout(self) -> None:
        self.layout = layout_for(self._state.board.info)

    def chip(self):
        return self._sim.chip()

    def generation(self) -> Any:
        board = self._state.board
        return (id(board), id(board.chip))

    def describe(self) -> Dict[str, Any]:
        description = super().describe()
        name_of = getattr(self._sim, "board_name", None)
        description["shared"] = name_of() if callable(name_of) else None
        return description

    def pin_states(self, gpios: Optional[Sequence[int]] = None) -> Dict[int, PinState]:
        chip = self.chip()
        kind = self.layout.info.chip
        own: Dict[int, int] = {}  # this source's own edge lines hold no pin for anyone
        self._lines = [line for line in self._lines if not line.closed]
        for line in self._lines:
            own[line.gpio] = own.get(line.gpio, 0) + 1
        consumers = self._sim.edge_holders(own)
        states = {}
        for gpio in self.layout.gpios if gpios is None else gpios:
            raw = chip.pin_state(gpio)
            states[gpio] = PinState(
                gpio,
                function_name(raw.function),
                signal_name(kind, gpio, raw.function),
                int(raw.level),
                PULL_NAMES.get(raw.pull),
                raw.drive,
                bool(raw.floating),
                consumers.get(gpio),
            )
        return states

    def wires(self) -> List[Tuple[int, ...]]:
        return [tuple(wire.gpios) for wire in self._sim.wires()]

    def parts(self) -> List[PartState]:
        listing = getattr(self._sim, "parts", None)
        if listing is None:  # an RPIO.sim without wires and parts
            return []
        found = []
        for view in listing():
            found.append(PartState(str(view.name), str(view.kind), tuple(view.gpios),
                                   dict(view.state or {})))
        return found

    def recent_edges(self, limit: int) -> List[Edge]:
        if limit <= 0:
            return []
        entries = self.chip().history()[-limit:]
        return [Edge(e[0], e[1], e[2], getattr(e, "cause", None) or None) for e in entries]

    def history(self) -> Tuple[List[Tuple[int, int, int]], bool]:
        chip = self.chip()
        entries = chip.history()
        return [(e[0], e[1], e[2]) for e in entries], len(entries) >= chip.history_capacity

    def with_causes(self, edges: Sequence[Edge]) -> List[Edge]:
        """The edges with their causes ("pid 4242 output", "part doorbell"...) from the history."""
        tail = self.chip().history()[-(len(edges) + 256):]
        causes = {(e[0], e[1]): getattr(e, "cause", None) or None for e in tail}
        return [Edge(e.t_ns, e.gpio, e.level, causes.get((e.t_ns, e.gpio))) for e in edges]

    def open_edge_lines(self, gpios: Sequence[int]) -> list:
        lines = open_edge_lines(self.chip(), gpios, "the board page")
        self._lines.extend(lines)
        return lines

    def drive(self, gpio: int, level: Optional[int]) -> None:
        self._check_writable()
        gpio, level = _check_gpio(self.layout, gpio), _check_level(level)
        self.chip().drive(gpio, level)

    def part_action(self, name: str, action: str) -> None:
        self._check_writable()
        finder = getattr(self._sim, "part", None)
        if finder is None:
            raise LookupError("this RPIO's simulated board has no parts")
        part = finder(name)  # raises for an unknown name
        kind = getattr(part, "kind", None) or type(part).__name__.lower()
        allowed = PART_ACTIONS.get(kind, ())
        if action not in allowed:
            raise ValueError(f"part {name!r} ({kind}) cannot {action!r}"
                             + (f": it can {', '.join(allowed)}" if allowed else ""))
        getattr(part, action)()


class HardwareSource(Source):
    """A Raspberry Pi's GPIO registers (through RPIO's driver: /dev/gpiomem or /dev/gpiomem0).

    Read-only unless ``allow_writes``: then an output's level can be set from the page. Inputs of
    a real board are driven by its circuit; nothing here pretends to drive them. Edges are not
    subscribed to (a line request would take the pins from the programs using them): the page
    polls the registers instead.
    """

    kind = "hardware"
    live = True

    def __init__(self, allow_writes: bool = False):
        from .._gpio import _state

        self._state = _state
        self._driver = _state.driver  # maps the registers now: errors show here, not in a thread
        self.writable = bool(allow_writes)
        super().__init__(layout_for(_state.board.info))

    def generation(self) -> Any:
        return id(self._state.board)

    def pin_states(self, gpios: Optional[Sequence[int]] = None) -> Dict[int, PinState]:
        driver = self._driver
        kind = self.layout.info.chip
        states = {}
        for gpio in self.layout.gpios if gpios is None else gpios:
            function = driver.get_function(gpio)
            pull = driver.get_pull(gpio)
            states[gpio] = PinState(gpio, function_name(function), signal_name(kind, gpio, function),
                                    int(driver.read(gpio)), PULL_NAMES.get(pull))
        return states

    def drive(self, gpio: int, level: Optional[int]) -> None:
        self._check_writable()
        gpio, level = _check_gpio(self.layout, gpio), _check_level(level)
        if self._driver.get_function(gpio) != rpio_core.OUTPUT or level is None:
            raise ValueError(f"GPIO {gpio} of a real board can only be set while it is an "
                             "output (0 or 1); its circuit drives it otherwise")
        self._driver.write(gpio, level)


def shared_boards_available() -> bool:
    """Whether this RPIO's simulated board can be shared between processes."""
    import inspect

    from .. import sim

    try:
        return "shared" in inspect.signature(sim.use_board).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False


def attach_shared(name: str, model: Optional[str] = None):
    """Make this process drive the shared simulated board ``name`` (created if it is new).

    ``model`` is the model of a board that does not exist yet (RPIO's default otherwise).
    """
    from .. import sim

    if not shared_boards_available():
        raise RuntimeError(
            "this RPIO's simulated board is private to each process: it cannot attach to the "
            f"shared board {name!r} (RPIO.sim.use_board has no shared=...)"
        )
    if model is None:
        return sim.use_board(shared=name)
    return sim.use_board(model, shared=name)


def current_source(allow_writes: bool = False) -> Source:
    """The board ``import RPIO`` drives here: the simulated one, or this Pi's registers."""
    from .._gpio import _state

    if _state.board.simulated:
        return SimSource()
    return HardwareSource(allow_writes=allow_writes)


__all__ = [
    "Edge",
    "HardwareSource",
    "Layout",
    "OfflineSource",
    "PART_ACTIONS",
    "Pin",
    "PinState",
    "PartState",
    "ReadOnlyError",
    "SimSource",
    "Source",
    "current_source",
    "describe_part",
    "function_name",
    "layout_for",
    "open_edge_lines",
    "signal_name",
]
