"""The process-wide PWM session: which backend runs, chosen once, announced with one log line.

Backends (``RPIO_PWM_BACKEND`` forces one):

* ``hardware`` -- a Pi 0-4 (BCM2835/6/7/2711): the DMA controller on /dev/mem + the VideoCore mailbox.
* ``model``    -- no Raspberry Pi: the same controller against the simulated SoC (rpio_pwm.model).
* ``sysfs``    -- a Pi 5: the kernel's hardware PWM where the pin has it, software timing elsewhere.
* ``software`` -- software timing for every pin.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

from rpio_pwm import _pwm
from rpio_pwm.board import BoardFacts, default_dma_channel_for, read_board
from rpio_pwm.errors import PWMArgumentError, PWMError

log = logging.getLogger("rpio_pwm")

BACKENDS = ("hardware", "model", "sysfs", "software")

_lock = threading.RLock()
_backend = None
_writer: Optional[Callable[[int, int], None]] = None
_atexit_registered = False
_pin_writer_source: Optional[Callable[[], object]] = None
_sim_board_source: Optional[Callable[[], Optional[Tuple[object, object, str]]]] = None
PUMP_PERIOD_NS = 2_000_000  # the DMA model's pump: how often a board-linked model catches up


def set_gpio_writer(write: Optional[Callable[[int, int], None]]) -> None:
    """The ``write(gpio, level)`` that software timing uses (default: the GPIO character device)."""
    global _writer
    _writer = write


def set_pin_writer_source(source: Optional[Callable[[], object]]) -> None:
    """The umbrella's ``() -> rpio_core.pin_writer(driver)`` for the current board: software timing
    then writes through RPIO's own driver from the C++ engine's thread, without the GIL."""
    global _pin_writer_source
    _pin_writer_source = source


def set_sim_board_source(source) -> None:
    """The umbrella's ``() -> (token, pin_writer capsule, SoC name) or None``: when it gives a
    simulated Pi 0-4 board, the DMA model drives that board's pins (history, parts, edges) at the
    model's times; a new token (another board) makes the next call start a new model."""
    global _sim_board_source
    _sim_board_source = source


def software_writer():
    """What software timing writes through: the umbrella's driver table, else gpio_writer()."""
    if _pin_writer_source is not None:
        cap = _pin_writer_source()
        if cap is not None:
            return cap
    return gpio_writer()


def _sim_board():
    return _sim_board_source() if _sim_board_source is not None else None


def gpio_writer() -> Callable[[int, int], None]:
    global _writer
    if _writer is None:
        from rpio_pwm.chardev import ChardevWriter

        _writer = ChardevWriter()
    return _writer


# ---------------------------------------------------------------- the DMA backends
class DmaBackend:
    """RPIO.PWM on the DMA controller: on a Pi (``hardware``) or on the simulated SoC (``model``).

    ``board``: (token, rpio_core pin-writer capsule) of a simulated board the model drives: its pin
    changes are written there at the model's times; with the wall clock a C++ pump thread keeps the
    model at now. Every access to the model then holds it (:meth:`held`) against that thread.
    """

    def __init__(self, kind: str, platform, facts: BoardFacts, clock: str = "wall", board=None):
        self.kind = kind
        self.platform = platform
        self.facts = facts
        self.ctrl = _pwm.Controller(platform)
        self.sim = platform if kind == "model" else None
        if clock not in ("wall", "manual"):
            raise PWMArgumentError(f"RPIO_PWM_MODEL_CLOCK must be 'wall' or 'manual', not {clock!r}")
        self.clock = clock
        self._t0 = time.monotonic_ns()
        self._catchup = int(float(os.environ.get("RPIO_PWM_MODEL_CATCHUP_US", "2000000")) * _pwm.TICKS_PER_US)
        self.board_token = None
        self.link = None
        if board is not None and self.sim is not None:
            self.board_token, capsule = board
            self.link = _pwm.ModelBoardLink(self.sim, capsule, self._t0)

    def held(self):
        """A context holding the model against the pump thread (nothing to hold without a board link)."""
        return _Held(self.link)

    def _pump(self, on: bool) -> None:
        if self.link is not None and self.clock == "wall":
            if on:
                self.link.start_pump(PUMP_PERIOD_NS, self._catchup)
            else:
                self.link.stop_pump()

    def sync(self) -> None:
        """Wall-clock model: bring the model up to now (in C++; nothing per pulse in Python)."""
        if self.sim is None or self.clock != "wall":
            return
        if self.link is not None:
            self.link.sync_to_now(self._catchup)
            return
        target = (time.monotonic_ns() - self._t0) * _pwm.TICKS_PER_US // 1000
        now = self.sim.now
        if target <= now:
            return
        if target - now > self._catchup:
            self.sim.skip_to(target - self._catchup)
        self.sim.run_until(target)

    # lifecycle
    def setup(self, incr_us: int, delay_hw: int) -> None:
        with self.held():
            self.ctrl.setup(incr_us, delay_hw)
        self._pump(True)

    def cleanup(self) -> None:
        self._pump(False)
        with self.held():
            self.ctrl.cleanup()

    def is_setup(self) -> bool:
        with self.held():
            return self.ctrl.is_setup()

    @property
    def incr_us(self) -> int:
        with self.held():
            return self.ctrl.incr_us

    # channels
    def init_channel(self, ch: int, subcycle_us: int, enforce_minimum: bool = True) -> None:
        with self.held():
            self.ctrl.init_channel(ch, subcycle_us, enforce_minimum)
            if self.sim is not None:  # the channel waits on its first slot: watch its ring's first block
                self.sim.watch_cb(ch, self.ctrl.ring_info(ch)["first_cb_bus"])
            pacer = self.ctrl.pacer()
        if self.kind == "hardware":
            mask = self.facts.dma_channel_mask
            if ch == 0 or (mask is not None and not mask & (1 << ch)):
                log.warning("DMA channel %d is used by the %s; channel %d is the safe default on this board",
                            ch, "kernel (RPIO#27)" if ch == 0 else "VideoCore firmware", self.default_channel())
        log.debug("init_channel(%d, %dus): %s", ch, subcycle_us, (pacer or {}).get("description"))

    def release_channel(self, ch: int) -> None:
        with self.held():
            self.ctrl.release_channel(ch)

    def is_channel_initialized(self, ch: int) -> bool:
        with self.held():
            return self.ctrl.is_channel_initialized(ch)

    def initialized_channels(self) -> List[int]:
        with self.held():
            return self.ctrl.initialized_channels()

    def subcycle_us(self, ch: int) -> int:
        with self.held():
            return self.ctrl.subcycle_us(ch)

    def describe_channel(self, ch: int) -> str:
        with self.held():
            return self.ctrl.describe_channel(ch)

    # pulses
    def add_pulse(self, ch: int, gpio: int, start: int, width: int) -> None:
        with self.held():
            self.ctrl.add_pulse(ch, gpio, start, width)

    def set_pulses(self, ch: int, gpio: int, pulses: Sequence[Tuple[int, int]]) -> None:
        with self.held():
            self.ctrl.set_pulses(ch, gpio, list(pulses))

    def clear_channel(self, ch: int) -> None:
        with self.held():
            self.ctrl.clear_channel(ch)

    def clear_channel_gpio(self, ch: int, gpio: int) -> None:
        with self.held():
            self.ctrl.clear_channel_gpio(ch, gpio)

    def owner(self, gpio: int) -> int:
        with self.held():
            return self.ctrl.owner(gpio)

    # channel choice
    def default_channel(self) -> int:
        return default_dma_channel_for(self.facts, self.platform.soc)

    def candidate_channels(self) -> List[int]:
        """Channels RPi.GPIO-style PWM objects may take, best first: legacy channels Linux was given
        (highest first, never 0), the default channel (Servo's) last."""
        info = _pwm.soc_info(self.platform.soc)
        legacy = info["legacy_dma_mask"]
        mask = self.facts.dma_channel_mask if self.kind == "hardware" else None
        chans = [c for c in range(_pwm.DMA_CHANNELS - 1, 0, -1)
                 if legacy & (1 << c) and (mask is None or mask & (1 << c))]
        default = self.default_channel()
        return [c for c in chans if c != default] + ([default] if default in chans else [])


class _Held:
    __slots__ = ("link",)

    def __init__(self, link):
        self.link = link

    def __enter__(self):
        if self.link is not None:
            self.link.lock()
        return self

    def __exit__(self, *exc):
        if self.link is not None:
            self.link.unlock()
        return False


# ---------------------------------------------------------------- sysfs / software
class RenderedBackend:
    """RPIO.PWM's rules (the same C++ PwmState as the DMA controller) rendered onto the kernel's
    hardware PWM (``sysfs``) where a pin has it, and onto the software engine everywhere else."""

    def __init__(self, kind: str, facts: BoardFacts, *, chip=None, engine=None, pio=None, pio_device=None):
        from rpio_pwm.software import SoftwareEngine

        self.kind = kind
        self.facts = facts
        self.board_token = None
        self.pio = pio  # _pwm.PioPwm: a PIO state machine per pin (Pi 5)
        self.pio_device = pio_device
        self.pio_overlay = {}  # gpio -> SysfsPwmChip of the kernel's pwm-pio overlay, first choice
        self._overlay_on = set()
        self._fallback_logged = set()
        self.sim = None
        self.state = _pwm.PwmState("BCM2712" if facts.soc == "BCM2712" else (facts.soc or "BCM2837"))
        self.state.set_legacy_check(False)  # channel numbers are only names here
        self.chip = chip
        self._engine = engine
        self._engine_factory = lambda: SoftwareEngine(software_writer())
        self._hw = {}  # gpio -> pwm channel of the chip
        allowed = os.environ.get("RPIO_PWM_HW_PINS")
        self._hw_allowed = None if allowed is None else {int(x) for x in allowed.split(",") if x.strip()}

    @property
    def engine(self):
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def sync(self) -> None:
        pass

    def setup(self, incr_us: int, delay_hw: int) -> None:
        self.state.setup(incr_us, delay_hw)

    def _emulator_pump(self, on: bool) -> None:
        """The simulated Pi 5's PIO emulator follows the wall clock while a pin uses it (a C++ thread,
        every 2 ms); cleanup() stops it."""
        dev = self.pio_device
        if not isinstance(dev, _pwm.PioEmulator) or os.environ.get("RPIO_PWM_MODEL_CLOCK", "wall") != "wall":
            return
        if on and not getattr(self, "_pumping", False):
            dev.start_pump(PUMP_PERIOD_NS)
            self._pumping = True
        elif not on and getattr(self, "_pumping", False):
            dev.stop_pump()
            self._pumping = False

    def cleanup(self) -> None:
        if not self.state.is_setup():
            return
        for ch in self.state.initialized_channels():
            for g in self.state.gpios(ch):
                self._unrender(g)
        for g in range(32):
            if self.state.gpios_used & (1 << g):
                self._unrender(g)
        if self._engine is not None:
            self._engine.stop()
        if self.pio is not None:
            for g in self.pio.pins():
                self.pio.stop(g)
        self._emulator_pump(False)
        self.state.reset()

    def is_setup(self) -> bool:
        return self.state.is_setup()

    @property
    def incr_us(self) -> int:
        return self.state.incr_us

    def init_channel(self, ch: int, subcycle_us: int, enforce_minimum: bool = True) -> None:
        self.state.init_channel(ch, subcycle_us, enforce_minimum)

    def release_channel(self, ch: int) -> None:
        gpios = self.state.gpios(ch)
        self.state.release_channel(ch)
        for g in gpios:
            self._unrender(g)

    def is_channel_initialized(self, ch: int) -> bool:
        return self.state.is_channel_initialized(ch)

    def initialized_channels(self) -> List[int]:
        return self.state.initialized_channels()

    def subcycle_us(self, ch: int) -> int:
        return self.state.subcycle_us(ch)

    def describe_channel(self, ch: int) -> str:
        lines = [f"Subcycle time: {self.state.subcycle_us(ch)}us", f"PW Increments: {self.state.incr_us}us",
                 f"Num samples:   {self.state.num_samples(ch)}"]
        for g in self.state.gpios(ch):
            how = f"hardware PWM channel {self._hw[g]} of {self.chip.path}" if g in self._hw else "software timing"
            runs = " ".join(f"[{s}, +{w})" for s, w in self.state.runs(ch, g)) or "low"
            lines.append(f"GPIO {g}: {runs} ({how})")
        return "\n".join(lines) + "\n"

    def add_pulse(self, ch: int, gpio: int, start: int, width: int) -> None:
        self.state.add_pulse(ch, gpio, start, width)
        self.state.mark_gpio_used(gpio)
        self._render(ch, gpio)

    def set_pulses(self, ch: int, gpio: int, pulses: Sequence[Tuple[int, int]]) -> None:
        self.state.set_pulses(ch, gpio, list(pulses))
        self.state.mark_gpio_used(gpio)
        self._render(ch, gpio)

    def clear_channel(self, ch: int) -> None:
        for g in self.state.clear_channel(ch):
            self._unrender(g)

    def clear_channel_gpio(self, ch: int, gpio: int) -> None:
        self.state.clear_channel_gpio(ch, gpio)
        self._unrender(gpio)

    def owner(self, gpio: int) -> int:
        return self.state.owner(gpio)

    def default_channel(self) -> int:
        env = os.environ.get("RPIO_PWM_DMA_CHANNEL")
        return int(env, 0) if env else 14

    def candidate_channels(self) -> List[int]:
        return list(range(_pwm.DMA_CHANNELS - 1, -1, -1))

    # ---- rendering
    def hardware_channel(self, gpio: int) -> Optional[int]:
        if self.chip is None or (self._hw_allowed is not None and gpio not in self._hw_allowed):
            return None
        ch = self.chip.channel_for(gpio)
        if ch is None or any(c == ch for g, c in self._hw.items() if g != gpio):
            return None
        return ch

    def _log_once(self, gpio: int, what: str) -> None:
        if (gpio, what) not in self._fallback_logged:
            self._fallback_logged.add((gpio, what))
            log.info("GPIO %d: %s", gpio, what)

    def _render(self, ch: int, gpio: int) -> None:
        incr = self.state.incr_us
        period_us = self.state.subcycle_us(ch)
        runs = self.state.runs(ch, gpio)
        overlay = self.pio_overlay.get(gpio)
        if overlay is not None and len(runs) <= 1:  # the kernel's pwm-pio channel for this very pin
            width_us = runs[0][1] * incr if runs else 0
            overlay.configure(0, period_us * 1000, width_us * 1000)
            self._overlay_on.add(gpio)
            self._log_once(gpio, f"the kernel's pwm-pio overlay ({overlay.path})")
            return
        if self.pio is not None and len(runs) <= 1 and 0 <= gpio < 28:
            width_us = runs[0][1] * incr if runs else 0
            self._emulator_pump(True)
            if self.pio.set(gpio, period_us * 1000, width_us * 1000):  # PIO first: period and width exact
                if gpio in self._hw:
                    self.chip.disable(self._hw.pop(gpio))
                if self._engine is not None and gpio in self._engine.pins():
                    self._engine.remove_pin(gpio, level=None)
                self._log_once(gpio, f"PIO state machine {self.pio.sm_of(gpio)} ({self.pio.device})")
                return
            self._log_once(gpio, "the PIO's 4 state machines are taken; trying the hardware PWM, then software timing")
        elif self.pio is not None and self.pio.has(gpio):
            self.pio.stop(gpio)  # several pulses per subcycle: not the PIO program's waveform
        hw = self.hardware_channel(gpio)
        if hw is not None and len(runs) <= 1:
            if gpio not in self._hw and gpio in self.engine.pins():
                self.engine.remove_pin(gpio, level=None)
            width_us = runs[0][1] * incr if runs else 0
            self.chip.configure(hw, period_us * 1000, width_us * 1000)
            if gpio not in self._hw:
                log.info("GPIO %d: kernel hardware PWM (channel %d of %s)", gpio, hw, self.chip.path)
            self._hw[gpio] = hw
            return
        if gpio in self._hw:  # no longer one pulse per subcycle: the hardware cannot do it
            self.chip.disable(self._hw.pop(gpio))
        if gpio not in self.engine.pins():
            self.engine.make_output(gpio)  # as on the DMA path: the first pulse makes the pin an output, low
        self.engine.set_pin(gpio, period_us * 1000, [(s * incr * 1000, (s + w) * incr * 1000) for s, w in runs])

    def _unrender(self, gpio: int) -> None:
        if gpio in self._overlay_on:
            self._overlay_on.discard(gpio)
            self.pio_overlay[gpio].disable(0)
            return
        if self.pio is not None and self.pio.has(gpio):
            self.pio.stop(gpio)
            return
        if gpio in self._hw:
            self.chip.disable(self._hw.pop(gpio))
        elif self._engine is not None and gpio in self._engine.pins():
            self._engine.remove_pin(gpio, level=0)


# ---------------------------------------------------------------- choosing
def choose_kind(facts: BoardFacts, forced: Optional[str] = None) -> Tuple[str, str]:
    """(backend kind, reason) for a board; ``forced`` is RPIO_PWM_BACKEND's value."""
    if forced:
        forced = forced.strip().lower()
        if forced not in BACKENDS:
            raise PWMArgumentError(f"RPIO_PWM_BACKEND={forced!r}: expected one of {', '.join(BACKENDS)}")
        return forced, "RPIO_PWM_BACKEND"
    if facts.has_legacy_dma:
        return "hardware", f"{facts.model or facts.soc}"
    if facts.soc == "BCM2712":
        return "sysfs", f"{facts.model or 'BCM2712'}: no legacy DMA engine reaches the RP1 GPIOs"
    return "model", "no Raspberry Pi found"


def _make_backend(kind: Optional[str] = None, facts: Optional[BoardFacts] = None):
    facts = facts or read_board()
    kind, why = choose_kind(facts, kind or os.environ.get("RPIO_PWM_BACKEND"))
    linked = _sim_board() if kind == "model" else None
    if linked is not None and linked[2] == "BCM2712":  # a simulated Pi 5 has no legacy DMA either
        kind, why = "software", "simulated Pi 5: no legacy DMA engine; software timing on the board's pins"

    if kind == "hardware":
        if not facts.has_legacy_dma:
            raise PWMError("RPIO_PWM_BACKEND=hardware needs a Raspberry Pi 0-4 (BCM2835/6/7/2711); "
                           f"this board reports {facts.soc or 'no SoC'}")
        try:
            platform = _pwm.HardwarePlatform(facts.soc, periph_base=facts.periph_base)
        except PWMError as e:
            raise PWMError(f"{e}. DMA PWM needs root (sudo) for /dev/mem and /dev/vcio; "
                           "RPIO_PWM_BACKEND=sysfs or =software work without it") from None
        be = DmaBackend("hardware", platform, facts)
        log.info("RPIO.PWM backend: hardware DMA on %s (%s, peripherals at %#x, default DMA channel %d)",
                 facts.soc, why, platform.periph_base, be.default_channel())
    elif kind == "model":
        soc = os.environ.get("RPIO_PWM_MODEL_SOC") or (facts.soc if facts.has_legacy_dma else "BCM2837")
        linked = _sim_board()
        board = None
        if linked is not None and linked[2] != "BCM2712":  # a simulated Pi 0-4: the model drives its pins
            token, capsule, board_soc = linked
            soc, board = board_soc or soc, (token, capsule)
        be = DmaBackend("model", _pwm.SimSoc(soc), facts, os.environ.get("RPIO_PWM_MODEL_CLOCK", "wall"), board)
        log.info("RPIO.PWM backend: model (simulated %s board, %s clock; %s)%s", soc, be.clock, why,
                 "; its DMA writes drive the simulated board's pins" if board else "")
    else:
        chip = None
        if kind == "sysfs":
            from rpio_pwm.sysfs import SysfsPwmChip

            root = os.environ.get("RPIO_PWM_SYSFS_ROOT", "/sys/class/pwm")
            chip = SysfsPwmChip.find(root, pi5=facts.soc == "BCM2712" or not facts.has_legacy_dma)
        pio = pio_device = None
        if linked is not None and linked[2] == "BCM2712":  # a simulated Pi 5: the PIO emulator on its pins
            pio_device = _pwm.PioEmulator(linked[1], time.monotonic_ns())  # its pump runs from setup()
            pio = _pwm.PioPwm(pio_device)
        elif kind == "sysfs" and os.environ.get("RPIO_PWM_PIO", "1") != "0":
            path = os.environ.get("RPIO_PWM_PIO_DEVICE", "/dev/pio0")
            if os.path.exists(path):
                try:
                    pio_device = _pwm.KernelPioDevice(path)
                    pio = _pwm.PioPwm(pio_device)
                except PWMError as e:
                    log.info("RPIO.PWM: no PIO (%s)", e)
        be = RenderedBackend(kind, facts, chip=chip, pio=pio, pio_device=pio_device)
        if kind == "sysfs":
            from rpio_pwm.sysfs import find_pio_overlay_chips

            be.pio_overlay = find_pio_overlay_chips(os.environ.get("RPIO_PWM_SYSFS_ROOT", "/sys/class/pwm"))
            if be.pio_overlay:
                log.info("RPIO.PWM: the kernel's pwm-pio overlay drives GPIO %s", sorted(be.pio_overlay))
        if linked is not None:
            be.board_token = linked[0]
        if kind == "sysfs":
            log.info("RPIO.PWM backend: sysfs (%s); hardware PWM %s, software timing on other pins", why,
                     f"via {chip.path} on GPIO {sorted(chip.gpio_channels)}" if chip else "not found (no pwm overlay?)")
        else:
            log.info("RPIO.PWM backend: software timing on every pin (%s)", why)
    return be


def _forget_old_board() -> None:
    """The umbrella switched boards (RPIO.sim.use_board): the backend of the old one goes."""
    global _backend
    if _backend is not None and getattr(_backend, "board_token", None) is not None:
        linked = _sim_board()
        if linked is None or linked[0] is not _backend.board_token:
            try:
                _backend.cleanup()
            finally:
                _backend = None


def backend():
    with _lock:
        _forget_old_board()
        return _backend


def ensure_backend():
    global _backend, _atexit_registered
    with _lock:
        _forget_old_board()
        if _backend is None:
            _backend = _make_backend()
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True
        return _backend


def use_backend(be) -> None:
    """Installs a ready backend (tests, the umbrella's simulated board)."""
    global _backend
    with _lock:
        if _backend is not None and _backend is not be:
            _backend.cleanup()
        _backend = be


def reset() -> None:
    """Cleans up and forgets the backend; the next setup() chooses again."""
    global _backend
    with _lock:
        if _backend is not None:
            try:
                _backend.cleanup()
            finally:
                _backend = None


def _at_exit() -> None:
    be = _backend
    if be is not None:
        try:
            be.cleanup()
        except Exception as e:  # exiting anyway; say why
            log.error("RPIO.PWM cleanup at exit failed: %s", e)
