"""The simulated board, seen from outside the chip: wires, parts, drives, levels and history.

On a machine without GPIO hardware ``import RPIO`` drives a simulated Raspberry Pi (a register
model of its chip, running the same driver code as a real Pi). This module is the bench around it::

    import RPIO, RPIO.sim
    RPIO.sim.wire(17, 27)                      # a jumper from GPIO 17 to GPIO 27
    RPIO.setup(17, RPIO.OUT)
    RPIO.setup(27, RPIO.IN)
    RPIO.output(17, 1)
    assert RPIO.input(27) == 1                 # resolved in the model, at once

    bell = RPIO.sim.Button("doorbell", 22)     # pressed pulls GPIO 22 to 0
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    bell.press(bounce=(3, 5))                  # 3 bounces over 5 ms, in real time

Channels are given in the current numbering mode (BCM by default), like every RPIO call; parts
and wires report BCM gpio numbers. A board is private to its process unless it is shared by name
(``use_board(shared="bench")`` or ``RPIO_SIM_SHARED=bench``): then every process of this user on
this machine that attaches sees and drives the same pins, wires and parts, and receives the edges
any of them causes. ``docs/develop-without-a-pi.md`` has the whole guide.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import rpio_core
from rpio_core import boards

from . import _backend
from ._constants import PUD_DOWN, PUD_OFF, PUD_UP
from ._gpio import _state, function_name

_PULLS = {rpio_core.PULL_OFF: PUD_OFF, rpio_core.PULL_DOWN: PUD_DOWN, rpio_core.PULL_UP: PUD_UP}


class _LevelChangeTuple(NamedTuple):
    timestamp_ns: int
    gpio: int
    level: int


class LevelChange(_LevelChangeTuple):
    """One entry of the board's history: ``(timestamp_ns, gpio, level)`` (CLOCK_MONOTONIC ns),
    plus ``.cause`` (who: ``"pid 4242 output"``, ``"part doorbell"``, ``"drive pid 4242"``,
    ``"short"``, ...) and ``.floating`` (nothing drives or pulls the pin: it reads 0)."""

    def __new__(cls, timestamp_ns: int, gpio: int, level: int, cause: str = "",
                floating: bool = False):
        self = super().__new__(cls, timestamp_ns, gpio, level)
        self.cause = cause
        self.floating = floating
        return self

    def __reduce__(self):
        return (LevelChange, (*self, self.cause, self.floating))

    def __repr__(self) -> str:
        return (f"LevelChange(timestamp_ns={self.timestamp_ns}, gpio={self.gpio}, "
                f"level={self.level}, cause={self.cause!r}, floating={self.floating})")


class PinView(NamedTuple):
    """What one pin of the board is doing.

    function: 'IN', 'OUT', 'ALT0'..'ALT8' or 'NONE' (RP1: not connected); signal: the ALT
    function's signal ('SDA1') or None; level 0/1; pull: PUD_UP, PUD_DOWN, PUD_OFF or None (RP1's
    bus keeper); drive: the outside-world drive (0, 1 or None); floating: nothing drives or pulls
    its net (it reads 0).
    """

    gpio: int
    function: str
    signal: Optional[str]
    level: int
    pull: Optional[int]
    drive: Optional[int]
    floating: bool


class PartView(NamedTuple):
    """A part on the board: its name, kind ('button', 'led', 'servo', 'generator'), the BCM gpios
    it is attached to and its state (button: pressed, active_low; led: on, active_low, brightness;
    servo: angle, pulse_us; generator: frequency, duty, running, pid)."""

    name: str
    kind: str
    gpios: Tuple[int, ...]
    state: Dict[str, Any]


class _BoardListingTuple(NamedTuple):
    name: str
    model: str
    pids: Tuple[int, ...]


class BoardListing(_BoardListingTuple):
    """A shared board: ``(name, model, pids)`` (the live processes attached), plus ``.kind`` (the
    chip), ``.dead_pids`` (listed processes that ended without detaching: the board is stale and
    is reset when a process next attaches) and ``.compatible`` (made by this RPIO's layout)."""

    def __new__(cls, name: str, model: str, pids, kind: Optional[str] = None, dead_pids=(),
                compatible: bool = True):
        self = super().__new__(cls, name, model, tuple(pids))
        self.kind = kind
        self.dead_pids = tuple(dead_pids)
        self.compatible = compatible
        return self

    def __reduce__(self):
        return (BoardListing, (*self, self.kind, self.dead_pids, self.compatible))

    @property
    def stale(self) -> bool:
        return bool(self.dead_pids) and not self.pids

    def __repr__(self) -> str:
        return (f"BoardListing(name={self.name!r}, model={self.model!r}, pids={self.pids}, "
                f"kind={self.kind!r}, dead_pids={self.dead_pids})")


# -- the board ---------------------------------------------------------------------------------
def chip():
    """The simulated chip of the current board (``rpio_core.SimChip``)."""
    board = _state.board
    if not board.simulated:
        raise RuntimeError("RPIO drives a real Raspberry Pi here: there is no simulated board")
    _state.driver  # noqa: B018 - builds the model (or attaches to the shared board) on first use
    return board.chip


def is_simulated() -> bool:
    """True when RPIO drives the simulated board."""
    return _state.board.simulated


def use_board(model: Optional[str] = None, *, shared: Optional[str] = None):
    """Start again on a simulated board; returns its chip.

    model: a revision code or a board name (default c03111, a Pi 4 Model B; for a shared board
    that exists already, whatever it models). shared: None for a fresh private board that no other
    process sees; a name to attach to (or create) the shared board of that name. Everything this
    process set up is forgotten, as after a new ``import RPIO``. If the board cannot be made the
    current one stays.
    """
    board = _backend.simulated_board(model, shared=shared)
    board.open()
    _state.use_board(board)
    return board.chip


def board_name() -> Optional[str]:
    """The shared board's name, or None for a private board."""
    return chip().board_name


def load_board_file(path, *, shared: Optional[str] = None):
    """Build the board a board file describes (TOML: model, shared, wires, parts) and use it.

    shared overrides the file's ``shared``. Returns the chip. ``RPIO_SIM_CONFIG=path`` does the
    same when RPIO first needs the board. See ``_backend.read_board_file`` for the format.
    """
    board_file = _backend.read_board_file(path)
    board = _backend.simulated_board(board_file.model, shared=shared or board_file.shared,
                                     config=board_file)
    board.open()
    _state.use_board(board)
    return board.chip


def list_boards() -> List[BoardListing]:
    """This user's shared boards on this machine."""
    return [
        BoardListing(b["name"], _revision_code(b["model"]), b["pids"], b["kind"], b["dead_pids"],
                     b["compatible"])
        for b in rpio_core.list_boards()
    ]


def _revision_code(model):
    """A revision code as it is written: old-style codes have four hex digits (0002, 000e)."""
    if isinstance(model, int):
        model = f"{model:x}"
    if isinstance(model, str) and 0 < len(model) < 4 and all(c in "0123456789abcdef" for c in model):
        return model.zfill(4)
    return model


def reset_board(name: str) -> bool:
    """Reset the shared board ``name``: in place while processes are attached (wires and parts
    removed, every pin back to the chip's reset state, history cleared), removed when none is.
    False if there is no such board."""
    return rpio_core.reset_board(_backend._check_board_name(name))


# -- the outside world -------------------------------------------------------------------------
def _gpio(channel) -> int:
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise TypeError(f"a channel is an int, not {type(channel).__name__}")
    return _state.gpio_number(channel)


def drive(channel: int, level: Optional[int]) -> None:
    """Drive a pin from outside: 1 or 0, or None to let go of it."""
    if level is not None and level not in (0, 1):
        raise ValueError(f"level must be 0, 1 or None, not {level!r}")
    chip().drive(_gpio(channel), level)


def release(channel: int) -> None:
    """Stop driving a pin from outside: its net's outputs, sources or pulls decide again."""
    drive(channel, None)


def level(channel: int) -> int:
    """The level a pin shows right now, whatever its function (a floating pin reads 0)."""
    return chip().level(_gpio(channel))


def history(channel: Optional[int] = None) -> List[LevelChange]:
    """Every level change the board recorded, oldest first, optionally for one channel only."""
    gpio = None if channel is None else _gpio(channel)
    return [
        LevelChange(entry[0], entry[1], entry[2], entry.cause, entry.floating)
        for entry in chip().history()
        if gpio is None or entry[1] == gpio
    ]


def clear_history() -> None:
    """Forget the recorded level changes."""
    chip().clear_history()


def pin_states() -> List[PinView]:
    """Every pin of the chip, by BCM gpio: function, ALT signal, level, pull, drive, floating."""
    model = chip()
    kind = model.kind
    out = []
    for gpio in range(model.num_gpios()):
        state = model.pin_state(gpio)
        signal = None
        if rpio_core.ALT0 <= state.function < rpio_core.NONE:
            signal = boards.alt_function_name(kind, gpio, state.function - rpio_core.ALT0) or None
        out.append(PinView(gpio, function_name(state.function), signal, state.level,
                           _PULLS.get(state.pull), state.drive, state.floating))
    return out


def shorted() -> Tuple[int, ...]:
    """The BCM gpios of nets in a short right now (outputs driving opposite levels)."""
    return chip().shorted()


# -- wires -------------------------------------------------------------------------------------
class Wire:
    """A wire joining pins into one net (on a shared board, every process sees it)."""

    def __init__(self, wire_id: int, gpios: Tuple[int, ...], channels: Tuple[int, ...], model):
        self.id, self.gpios, self.channels, self._chip = wire_id, gpios, channels, model

    def remove(self) -> None:
        """Take the wire away (KeyError if it is gone already)."""
        self._chip.unwire(self.id)

    def __repr__(self) -> str:
        return f"Wire(id={self.id}, gpios={self.gpios})"


def wire(*channels: int) -> Wire:
    """Join two or more pins with a wire. A net's level: its outputs; else its outside sources
    (drives, pressed buttons, generators); else its pulls; else it floats (reads 0). Outputs at
    opposite levels are a short: logged once, recorded with cause 'short', the net reads 0."""
    gpios = tuple(_gpio(channel) for channel in channels)
    model = chip()
    return Wire(model.wire(gpios), gpios, tuple(channels), model)


def wires() -> List[Wire]:
    """Every wire on the board (channels reported as BCM gpios)."""
    model = chip()
    return [Wire(wire_id, gpios, gpios, model) for wire_id, gpios in model.wires()]


# -- parts -------------------------------------------------------------------------------------
class Part:
    """A named part on the board. ``RPIO.sim.part(name)`` finds one made by any process."""

    kind = ""

    def __init__(self, name: str, channel: int, **options):
        model = chip()
        gpio = _gpio(channel)
        model.add_part(self.kind, name, gpio, **options)
        self._chip, self.name, self.gpio = model, name, gpio

    @classmethod
    def _existing(cls, model, name: str, gpio: int) -> Part:
        self = cls.__new__(cls)
        self._chip, self.name, self.gpio = model, name, gpio
        return self

    def _info(self) -> dict:
        return self._chip.part(self.name)

    def view(self) -> PartView:
        """The part's name, kind, gpios and state now."""
        return _view(self._chip, self._info())

    @property
    def state(self) -> Dict[str, Any]:
        return self.view().state

    def remove(self) -> None:
        """Take the part off the board (a generator stops, a pressed button lets go)."""
        self._chip.remove_part(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, gpio={self.gpio})"


class Button(Part):
    """A push button between a pin and ground (active_low, the default: pressed drives 0, so give
    the input a pull-up) or 3V3 (active_low=False: pressed drives 1). Released, it drives nothing."""

    kind = "button"

    def __init__(self, name: str, channel: int, *, active_low: bool = True):
        super().__init__(name, channel, active_low=bool(active_low))

    def press(self, bounce: Optional[Tuple[int, float]] = None) -> None:
        """Press it. bounce=(n, ms): the contact opens and closes again n times, evenly spread
        over ms milliseconds in real time (2n+1 transitions, the last at ms); this call returns
        when it has settled."""
        self._set(True, bounce)

    def release(self, bounce: Optional[Tuple[int, float]] = None) -> None:
        """Let go of it (bounce as for press)."""
        self._set(False, bounce)

    def click(self, bounce: Optional[Tuple[int, float]] = None) -> None:
        """Press and release."""
        self.press(bounce)
        self.release(bounce)

    @property
    def is_pressed(self) -> bool:
        return bool(self._info()["pressed"])

    def _set(self, pressed: bool, bounce) -> None:
        if bounce is None:
            self._chip.button_set(self.name, pressed)
            return
        try:
            n, ms = bounce
        except (TypeError, ValueError):
            raise ValueError(f"bounce must be (n, ms), not {bounce!r}") from None
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"bounce count must be an int >= 0, not {n!r}")
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError(f"bounce time must be >= 0 ms, not {ms!r}")
        self._chip.button_bounce(self.name, pressed, n, float(ms))


class LED(Part):
    """An LED from a pin to ground (on while the pin is high) or, active_low=True, from 3V3 (on
    while the pin is low). It drives nothing; it keeps count of its on-time."""

    kind = "led"

    def __init__(self, name: str, channel: int, *, active_low: bool = False):
        super().__init__(name, channel, active_low=bool(active_low))

    def history(self) -> List[Tuple[int, bool]]:
        """[(t_ns, on), ...]: its state when attached, then every change (from the board's
        history ring for the changes; its own count for the last one)."""
        return self._chip.led_history(self.name)

    def brightness(self, since_ns: Optional[int] = None) -> float:
        """The mean on-time fraction (0 to 1): since it was attached (exact), or since a
        CLOCK_MONOTONIC time (from the history ring; ValueError if the ring no longer reaches
        back that far). Under PWM this is the duty cycle it sees."""
        return self._chip.led_brightness(self.name, since_ns)

    @property
    def is_on(self) -> bool:
        return bool(self._info()["on"])


class Servo(Part):
    """A hobby servo on a pin: each high pulse of 500-2500 us sets its angle, 1000 us to 2000 us
    mapping to 0 to 180 degrees (clamped outside)."""

    kind = "servo"

    def __init__(self, name: str, channel: int):
        super().__init__(name, channel)

    def angles(self) -> List[Tuple[int, float]]:
        """[(t_ns, degrees), ...]: each pulse that moved it (its falling edge's time)."""
        return [(t, degrees) for t, _width, degrees in self._chip.servo_pulses(self.name)]

    def pulses(self) -> List[Tuple[int, float, float]]:
        """[(t_ns, width_us, degrees), ...] for each pulse that moved it."""
        return self._chip.servo_pulses(self.name)

    @property
    def angle(self) -> Optional[float]:
        """Where it points now (None before its first pulse)."""
        moves = self._chip.servo_pulses(self.name)
        return moves[-1][2] if moves else None


class Generator(Part):
    """A square-wave generator driving a pin at a frequency (Hz, up to 20000) and duty (0 to 1),
    in real time, from start() until stop(). It runs in a thread of the process that started it:
    when that process exits it stops and lets go of the pin (at once on a normal exit; after a
    crash, when another process next attaches or lists the parts)."""

    kind = "generator"

    def __init__(self, name: str, channel: int, frequency: float, duty: float = 0.5):
        super().__init__(name, channel, frequency=float(frequency), duty=float(duty))

    def start(self) -> None:
        """Start driving (the pin goes high before this returns, or stays at 0/1 for duty 0/1)."""
        self._chip.generator_start(self.name)

    def stop(self) -> None:
        """Stop and let go of the pin (from any process)."""
        self._chip.generator_stop(self.name)

    def set(self, frequency: Optional[float] = None, duty: Optional[float] = None) -> None:
        """Change frequency and/or duty, running or not."""
        info = self._info()
        self._chip.generator_set(self.name, float(info["frequency"] if frequency is None else frequency),
                                 float(info["duty"] if duty is None else duty))

    @property
    def running(self) -> bool:
        return bool(self._info()["running"])


_PART_CLASSES = {"button": Button, "led": LED, "servo": Servo, "generator": Generator}


def _view(model, info: dict) -> PartView:
    kind = info["kind"]
    if kind == "button":
        state = {"pressed": info["pressed"], "active_low": info["active_low"]}
    elif kind == "led":
        state = {"on": info["on"], "active_low": info["active_low"],
                 "brightness": model.led_brightness(info["name"])}
    elif kind == "servo":
        pulses = model.servo_pulses(info["name"])
        state = {"angle": pulses[-1][2] if pulses else None,
                 "pulse_us": pulses[-1][1] if pulses else None}
    else:
        state = {"frequency": info["frequency"], "duty": info["duty"], "running": info["running"],
                 "pid": info["pid"]}
    return PartView(info["name"], kind, (info["gpio"],), state)


def parts() -> List[PartView]:
    """Every part on the board (made by any process), oldest first."""
    model = chip()
    return [_view(model, info) for info in model.parts()]


def part(name: str) -> Part:
    """The part of that name, as a Button/LED/Servo/Generator object, whoever made it.
    KeyError if the board has none."""
    model = chip()
    info = model.part(name)
    return _PART_CLASSES[info["kind"]]._existing(model, name, info["gpio"])


def export_vcd(path, **options):
    """Write this board's history as a VCD file (PulseView, GTKWave); options as
    :func:`RPIO.workbench.vcd.export_vcd` (gpios, since_ns, timescale, names)."""
    from .workbench.vcd import export_vcd as write

    return write(path, **options)


def replay_vcd(path, scale: float = 1.0, **options):
    """Play a VCD file onto this board's pins, timing kept (scale=2.0: twice as slow); options
    as :func:`RPIO.workbench.vcd.replay_vcd` (channels, wait)."""
    from .workbench.vcd import replay_vcd as play

    return play(path, scale, **options)


__all__ = [
    "BoardListing",
    "Button",
    "Generator",
    "LED",
    "LevelChange",
    "Part",
    "PartView",
    "PinView",
    "Servo",
    "Wire",
    "board_name",
    "chip",
    "clear_history",
    "drive",
    "export_vcd",
    "history",
    "is_simulated",
    "level",
    "list_boards",
    "load_board_file",
    "part",
    "parts",
    "pin_states",
    "release",
    "replay_vcd",
    "reset_board",
    "shorted",
    "use_board",
    "wire",
    "wires",
]
