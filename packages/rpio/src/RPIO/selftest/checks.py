"""The selftest's checks: one function a step, each returning a ``Step``.

Everything goes through the jumper wire between ``out`` and ``in``: a level written on one pin is
read on the other, an edge made on one is timestamped by the kernel (or the board model) on the
other, and a PWM's period and width are measured from those timestamps, a logic analyser for free.
``tests/hardware`` calls these same functions, so `tox -e hardware` and `rpio selftest` agree.
"""

from __future__ import annotations

import contextlib
import grp
import os
import platform
import socket
import subprocess
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .report import Step

EVENT_TIMEOUT_S = 2.0  # how long one expected edge may take before it counts as lost


class PinsNotFree(Exception):
    """A jumper pin is in use: the selftest refuses to touch it (nothing was changed)."""


class Context:
    """What every check needs: RPIO, the jumper pins, how thorough to be, what failed so far."""

    def __init__(self, RPIO, out_gpio: int, in_gpio: int, quick: bool = False,
                 progress: Optional[Callable[[str], None]] = None):
        self.RPIO = RPIO
        self.out, self.inp = out_gpio, in_gpio
        self.quick = quick
        self.progress = progress or (lambda text: None)
        self.wire_ok = True

    @property
    def simulated(self) -> bool:
        from .. import sim

        return sim.is_simulated()

    def needs_wire(self, step_id: str, title: str) -> Optional[Step]:
        if self.wire_ok:
            return None
        return Step(step_id, title, "SKIP", "needs the jumper wire, which failed its check")


# --- facts ---------------------------------------------------------------------------------------


def _firmware() -> Optional[str]:
    """The VideoCore firmware's build date, where ``vcgencmd`` can say it."""
    for tool in ("/usr/bin/vcgencmd", "/opt/vc/bin/vcgencmd"):
        if os.access(tool, os.X_OK):
            try:
                result = subprocess.run([tool, "version"], capture_output=True, text=True,
                                        timeout=3)
            except (OSError, subprocess.SubprocessError):
                return None
            first = result.stdout.strip().splitlines()[:1]
            return first[0] if result.returncode == 0 and first else None
    return None


def board_facts(RPIO) -> Dict[str, Any]:
    from .._gpio import _state

    revision, model = RPIO.sysinfo()[:2]
    board = _state.board
    simulated = bool(board.simulated)
    if simulated:
        backend = "sim"
        chosen = os.environ.get("RPIO_BACKEND", "auto").strip().lower() or "auto"
        reason = ("RPIO_BACKEND=sim" if chosen == "sim"
                  else "no Raspberry Pi here: the simulated board (RPIO_BACKEND=auto)")
    elif board.backend == "chardev":
        backend = "chardev"
        reason = f"the kernel's GPIO character device {board.chip_path}" + (
            "" if os.environ.get("RPIO_BACKEND", "").strip().lower() == "chardev"
            else " (the registers could not be opened)")
    else:
        backend = "registers"
        node = "/dev/gpiomem0" if board.info.chip == "rp1" else "/dev/gpiomem"
        if os.environ.get("RPIO_DEVMEM") == "1":
            node = "/dev/mem"
        reason = f"a Raspberry Pi: registers through {node}"
    return {
        "model": str(model), "revision": str(revision), "chip": str(board.info.chip or "unknown"),
        "kernel": platform.release(), "firmware": None if simulated else _firmware(),
        "simulated": simulated, "backend": backend, "backend_reason": reason,
        "gpio_count": RPIO.gpio_count(),
    }


# (path pattern, what it is needed for, the fix when it cannot be opened) by chip family
_DEVICES = {
    "bcm": [("/dev/gpiomem", "registers (output, input, pulls)",
             "add yourself to the gpio group: sudo usermod -aG gpio $USER, then log in again"),
            ("/dev/gpiochip*", "edges (interrupts, event detection)",
             "add yourself to the gpio group: sudo usermod -aG gpio $USER, then log in again"),
            ("/dev/mem", "DMA PWM (RPIO.PWM, servos)", "DMA PWM needs root: sudo rpio selftest"),
            ("/dev/vcio", "DMA PWM memory (mailbox)", "DMA PWM needs root: sudo rpio selftest")],
    "rp1": [("/dev/gpiomem0", "registers (output, input, pulls)",
             "add yourself to the gpio group: sudo usermod -aG gpio $USER, then log in again"),
            ("/dev/gpiochip*", "edges (interrupts, event detection)",
             "add yourself to the gpio group: sudo usermod -aG gpio $USER, then log in again"),
            ("/dev/pio0", "PIO PWM on any pin",
             "update the kernel (the rp1-pio driver) and add yourself to the gpio group")],
}


def access_facts(board: Dict[str, Any], dev: str = "/dev") -> Dict[str, Any]:
    """The device nodes this board's features need: present, readable, writable, their group."""
    devices: List[Dict[str, Any]] = []
    missing: List[Dict[str, str]] = []
    if not board["simulated"]:
        family = "rp1" if board["chip"] == "rp1" else "bcm"
        for pattern, needed_for, fix in _DEVICES[family]:
            paths = [pattern.replace("/dev", dev, 1)]
            if pattern.endswith("*"):
                stem = os.path.basename(pattern[:-1])
                found = sorted(os.path.join(dev, name) for name in os.listdir(dev)
                               if name.startswith(stem)) if os.path.isdir(dev) else []
                paths = found or [os.path.join(dev, stem + "0")]
            for path in paths:
                exists = os.path.exists(path)
                group = None
                if exists:
                    try:
                        group = grp.getgrgid(os.stat(path).st_gid).gr_name
                    except (KeyError, OSError):
                        group = None
                readable = exists and os.access(path, os.R_OK)
                writable = exists and os.access(path, os.W_OK)
                devices.append({"path": path, "exists": exists, "readable": readable,
                                "writable": writable, "group": group, "needed_for": needed_for})
                if not (readable and writable):
                    missing.append({"path": path, "fix": fix if exists else
                                    f"{path} does not exist: {fix}"})
    return {"root": os.geteuid() == 0, "devices": devices, "missing": missing}


def header_pin(gpio: int) -> Optional[int]:
    from ..cli_common import gpio_to_physical

    return gpio_to_physical(gpio)


# --- safety --------------------------------------------------------------------------------------


def check_pins_free(ctx: Context) -> None:
    """Refuse (PinsNotFree) if a jumper pin is an output, in an ALT function, or held by another
    process or driver: the selftest drives these pins and must not fight anyone for them."""
    RPIO = ctx.RPIO
    count = RPIO.gpio_count()
    if ctx.out == ctx.inp:
        raise PinsNotFree("the jumper needs two different GPIOs")
    for gpio in (ctx.out, ctx.inp):
        if not 0 <= gpio < count:
            raise PinsNotFree(f"GPIO {gpio} does not exist on this board (0-{count - 1})")
        info = RPIO.pin_info(gpio)
        if info.function == "OUT":
            raise PinsNotFree(
                f"GPIO {gpio} is an output already (a program or an overlay set it): the selftest "
                "will not drive a pin someone else drives. Free it, or choose other pins with "
                "--jumper OUT,IN")
        if info.function.startswith("ALT"):
            what = f" ({info.signal})" if info.signal else ""
            raise PinsNotFree(
                f"GPIO {gpio} is in {info.function}{what}: a driver or overlay uses it. Choose "
                "other pins with --jumper OUT,IN")
        holder = line_holder(ctx, gpio)
        if holder:
            raise PinsNotFree(f"GPIO {gpio} is in use: {holder}. Stop that program, or choose "
                              "other pins with --jumper OUT,IN")


def line_holder(ctx: Context, gpio: int) -> Optional[str]:
    """Who holds ``gpio`` for edge detection or as a line (None: nobody)."""
    if ctx.simulated:
        from .. import sim

        view = sim.pin_states()[gpio]
        consumer = getattr(view, "consumer", None)
        return f"held for edge detection by {consumer}" if consumer else None
    try:
        from rpio_interrupts import uapi

        with uapi.Chip(uapi.find_chip()) as chip:
            info = chip.line_info(gpio)
    except (OSError, ValueError):
        return None  # no character device to ask: the register checks above still apply
    if info.used:
        return f"held by {info.consumer or 'a consumer with no label'} (kernel line info)"
    return None


def restore(ctx: Context) -> None:
    """Both pins inputs without pull, nothing of ours left listening (also after Ctrl-C)."""
    RPIO = ctx.RPIO
    for action in (RPIO.cleanup_interrupts,
                   lambda: [RPIO.remove_event_detect(g) for g in (ctx.out, ctx.inp)]):
        try:
            action()
        except Exception:  # noqa: BLE001 - restoring must go on whatever one part says
            pass
    for gpio in (ctx.out, ctx.inp):
        try:
            RPIO.setup(gpio, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
        except Exception:  # noqa: BLE001
            pass
    try:
        RPIO.cleanup([ctx.out, ctx.inp])
    except Exception:  # noqa: BLE001
        pass


# --- the wire ------------------------------------------------------------------------------------


def _wire_advice(ctx: Context) -> str:
    pins = f"GPIO {ctx.out} (pin {header_pin(ctx.out)}) and GPIO {ctx.inp} (pin {header_pin(ctx.inp)})"
    return (f"put a jumper wire between {pins}, and check both ends sit on those pins; "
            "another pair: --jumper OUT,IN")


def _follow(RPIO, driver: int, reader: int) -> List[Tuple[int, int]]:
    """Drive ``driver`` 1, 0, 1, 0 and read ``reader`` after each: [(written, read)]."""
    RPIO.setup(reader, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    RPIO.setup(driver, RPIO.OUT, initial=RPIO.LOW)
    seen = []
    for level in (1, 0, 1, 0):
        RPIO.output(driver, level)
        seen.append((level, _settled_level(RPIO, reader, level)))
    RPIO.setup(driver, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    return seen


def step_wire_registers(ctx: Context) -> Step:
    title = "output drives input through the wire (registers)"
    RPIO = ctx.RPIO
    results = {"forward": _follow(RPIO, ctx.out, ctx.inp), "backward": _follow(RPIO, ctx.inp, ctx.out)}
    bad = {way: pairs for way, pairs in results.items() if any(w != r for w, r in pairs)}
    figures = {way: [r for _, r in pairs] for way, pairs in results.items()}
    if bad:
        ctx.wire_ok = False
        way, pairs = next(iter(bad.items()))
        src, dst = (ctx.out, ctx.inp) if way == "forward" else (ctx.inp, ctx.out)
        return Step("wire-registers", title, "FAIL",
                    f"GPIO {dst} read {[r for _, r in pairs]} while GPIO {src} wrote "
                    f"{[w for w, _ in pairs]}", figures, _wire_advice(ctx))
    return Step("wire-registers", title, "PASS",
                f"GPIO {ctx.out} -> {ctx.inp} and {ctx.inp} -> {ctx.out}, 1 and 0 each way",
                figures)


def step_wire_chardev(ctx: Context) -> Step:
    title = "output drives input through the wire (character device)"
    if ctx.simulated:
        return Step("wire-chardev", title, "SKIP",
                    "the simulated board has no kernel GPIO character device")
    skipped = ctx.needs_wire("wire-chardev", title)
    if skipped:
        return skipped
    try:
        from rpio_interrupts import uapi

        path = uapi.find_chip()
        with uapi.Chip(path) as chip:
            with chip.request_lines([ctx.out], consumer="rpio-selftest", direction="output",
                                    output_values=[0]) as out, \
                    chip.request_lines([ctx.inp], consumer="rpio-selftest", direction="input",
                                       bias="disabled") as inp:
                seen = []
                for level in (1, 0, 1, 0):
                    out.set_values([level])
                    seen.append(inp.get_value())
    except PermissionError as error:
        return Step("wire-chardev", title, "FAIL", str(error), {},
                    "add yourself to the gpio group: sudo usermod -aG gpio $USER, then log in again")
    except OSError as error:
        return Step("wire-chardev", title, "SKIP", f"no usable GPIO character device: {error}")
    figures = {"chip": path, "read": seen}
    if seen != [1, 0, 1, 0]:
        return Step("wire-chardev", title, "FAIL",
                    f"GPIO {ctx.inp} read {seen} while GPIO {ctx.out} wrote [1, 0, 1, 0]", figures,
                    "the registers saw the wire but the kernel's lines did not: report it, with "
                    "this report")
    return Step("wire-chardev", title, "PASS", f"through {path}, 1 and 0", figures)


def step_pulls(ctx: Context) -> Step:
    title = "pulls decide the released wire"
    skipped = ctx.needs_wire("pulls", title)
    if skipped:
        return skipped
    RPIO = ctx.RPIO
    seen = {}
    for puller, reader in ((ctx.out, ctx.inp), (ctx.inp, ctx.out)):
        RPIO.setup(reader, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
        for pull, name in ((RPIO.PUD_UP, "up"), (RPIO.PUD_DOWN, "down")):
            RPIO.setup(puller, RPIO.IN, pull_up_down=pull)
            level = _settled_level(RPIO, reader, 1 if name == "up" else 0)
            seen[f"pull-{name} on {puller}"] = level
        RPIO.setup(puller, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    wrong = [what for what, level in seen.items() if level != (1 if "up" in what else 0)]
    if wrong:
        return Step("pulls", title, "FAIL", f"wrong level with {', '.join(wrong)}: {seen}", seen,
                    "a pull too weak for what else is on the wire? Nothing but the jumper may be "
                    f"connected to GPIO {ctx.out} and {ctx.inp}")
    return Step("pulls", title, "PASS", "pull-up reads 1 and pull-down reads 0, each way", seen)


def _settled_level(RPIO, gpio: int, expected: int) -> int:
    """The level of ``gpio`` once it shows ``expected``, or after 10 ms (a pull charges the wire
    through ~50 kohm; a driven wire settles at once)."""
    deadline = time.monotonic() + 0.01
    while True:
        level = int(RPIO.input(gpio))
        if level == expected or time.monotonic() > deadline:
            return level


def step_function_readback(ctx: Context) -> Step:
    title = "gpio_function reads back setup()"
    RPIO = ctx.RPIO
    seen = {}
    for direction, name in ((RPIO.OUT, "OUT"), (RPIO.IN, "IN")):
        RPIO.setup(ctx.out, direction, **({"initial": 0} if direction == RPIO.OUT else {}))
        seen[name] = RPIO.gpio_function(ctx.out)
    RPIO.setup(ctx.out, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    ok = seen == {"OUT": RPIO.OUT, "IN": RPIO.IN}
    return Step("function-readback", title, "PASS" if ok else "FAIL",
                f"setup(OUT) -> {seen['OUT']}, setup(IN) -> {seen['IN']}", seen,
                None if ok else "the function select registers do not hold what was written: "
                                "report it, with this report")


# --- edges ---------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _summary(values: Sequence[float]) -> Dict[str, float]:
    return {"p50": round(_percentile(values, 50), 3), "p99": round(_percentile(values, 99), 3),
            "max": round(max(values), 3)}


class _EdgeRecorder:
    """Collects (timestamp_ns, value, line_seqno, callback ns) of the edges on the input pin."""

    def __init__(self) -> None:
        self.events: List[Tuple[int, int, int, int]] = []
        self.arrived = threading.Condition()

    def __call__(self, gpio, value, event) -> None:
        with self.arrived:
            self.events.append((event.timestamp_ns, int(value), event.line_seqno,
                                time.monotonic_ns()))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.events) >= count, timeout)


@contextlib.contextmanager
def _listening(ctx: Context, *debounces_ms: Optional[int]) -> Iterator[List[_EdgeRecorder]]:
    """The output pin low and driving the wire; on the input pin one recorder a debounce (None:
    every edge), in that order; the loop running. All undone at the end, whatever happened."""
    RPIO = ctx.RPIO
    RPIO.setup(ctx.out, RPIO.OUT, initial=RPIO.LOW)
    recorders: List[_EdgeRecorder] = []
    try:
        for debounce_ms in debounces_ms:
            recorders.append(_EdgeRecorder())
            RPIO.add_interrupt_callback(ctx.inp, recorders[-1], edge="both",
                                        pull_up_down=RPIO.PUD_OFF, with_event=True,
                                        debounce_timeout_ms=debounce_ms)
        RPIO.wait_for_interrupts(threaded=True)
        yield recorders
    finally:
        RPIO.stop_waiting_for_interrupts()
        if recorders:
            RPIO.del_interrupt_callback(ctx.inp)
        RPIO.setup(ctx.out, RPIO.IN, pull_up_down=RPIO.PUD_OFF)


def step_edges(ctx: Context) -> Step:
    title = "edges: output() to callback"
    skipped = ctx.needs_wire("edges", title)
    if skipped:
        return skipped
    RPIO = ctx.RPIO
    count = 50 if ctx.quick else 400
    kernel, callback, lost = [], [], 0
    with _listening(ctx, None) as (recorder,):
        for i in range(count):
            ctx.progress(f"edges: {i}/{count}")
            before = len(recorder.events)
            start = time.monotonic_ns()
            RPIO.output(ctx.out, (i + 1) % 2)
            if not recorder.wait_for(before + 1, EVENT_TIMEOUT_S):
                lost += 1
                continue
            stamp, _, _, called = recorder.events[before]
            kernel.append((stamp - start) / 1000)
            callback.append((called - start) / 1000)
    seqnos = [seq for _, _, seq, _ in recorder.events]
    gaps = sum(b - a - 1 for a, b in zip(seqnos, seqnos[1:]) if b > a + 1)
    lost += gaps
    figures: Dict[str, Any] = {"edges": count, "received": len(recorder.events), "lost": lost}
    if not callback:
        ctx.wire_ok = False
        return Step("edges", title, "FAIL", f"none of {count} edges arrived", figures,
                    "levels cross the wire but no edge does: is another program holding "
                    f"GPIO {ctx.inp}'s interrupts? (rpio info {ctx.inp}; gpioinfo)")
    figures["callback_us"] = _summary(callback)
    figures["kernel_timestamp_us"] = _summary(kernel)
    summary = (f"{len(callback)} edges, output->callback p50 {figures['callback_us']['p50']:.0f} us,"
               f" p99 {figures['callback_us']['p99']:.0f} us, {lost} lost")
    if lost:
        return Step("edges", title, "FAIL", summary, figures,
                    "edges were lost: a busy CPU or a loose wire; try again with nothing else "
                    "running, and report it if it stays")
    status = "PASS" if figures["callback_us"]["p99"] < 10_000 else "WARN"
    return Step("edges", title, status, summary, figures,
                None if status == "PASS" else "slow callbacks: is the CPU busy?")


def step_debounce(ctx: Context) -> Step:
    """A burst of edges with a debounced and a raw callback on the same pin: the debounced one
    must run exactly for the edges the debounce rule lets through, judged on the edges' own
    kernel timestamps (so the verdict does not depend on how fast this machine is)."""
    title = "debounce"
    skipped = ctx.needs_wire("debounce", title)
    if skipped:
        return skipped
    RPIO = ctx.RPIO
    window_ms = 50
    toggles = 0
    # the debounced callback first: an edge reaches it before the raw one
    with _listening(ctx, window_ms, None) as (debounced, raw):
        for burst in range(2):
            for _ in range(6):
                toggles += 1
                RPIO.output(ctx.out, toggles % 2)
            raw.wait_for(toggles, EVENT_TIMEOUT_S)
            if burst == 0:
                time.sleep(window_ms * 2 / 1000)  # the second burst comes after the window
        raw.wait_for(toggles, EVENT_TIMEOUT_S)
        expected, last = 0, None
        for stamp, _, _, _ in raw.events:
            if last is None or stamp - last >= window_ms * 1_000_000:
                expected += 1
                last = stamp
        debounced.wait_for(expected, EVENT_TIMEOUT_S)
    got = len(debounced.events)
    figures = {"edges": len(raw.events), "window_ms": window_ms, "expected_calls": expected,
               "calls": got}
    ok = len(raw.events) == toggles and got == expected
    return Step("debounce", title, "PASS" if ok else "FAIL",
                f"{len(raw.events)} edges in 2 bursts -> {got} debounced calls (expected {expected})",
                figures, None if ok else "report it, with this report")


def step_event_api(ctx: Context) -> Step:
    title = "RPi.GPIO event API"
    skipped = ctx.needs_wire("event-api", title)
    if skipped:
        return skipped
    RPIO = ctx.RPIO
    RPIO.setup(ctx.out, RPIO.OUT, initial=RPIO.LOW)
    RPIO.setup(ctx.inp, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    seen: Dict[str, Any] = {}
    calls: List[int] = []
    called = threading.Event()
    try:
        RPIO.add_event_detect(ctx.inp, RPIO.RISING,
                              callback=lambda channel: (calls.append(channel), called.set()))
        RPIO.output(ctx.out, 1)
        seen["callback"] = called.wait(EVENT_TIMEOUT_S) and calls == [ctx.inp]
        seen["event_detected"] = bool(RPIO.event_detected(ctx.inp))
        RPIO.output(ctx.out, 0)
        RPIO.remove_event_detect(ctx.inp)
        timer = threading.Timer(0.05, RPIO.output, (ctx.out, 1))
        timer.start()
        try:
            seen["wait_for_edge"] = RPIO.wait_for_edge(ctx.inp, RPIO.RISING,
                                                       timeout=int(EVENT_TIMEOUT_S * 1000)) == ctx.inp
        finally:
            timer.join()
    finally:
        RPIO.remove_event_detect(ctx.inp)
        RPIO.setup(ctx.out, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    ok = all(seen.values())
    return Step("event-api", title, "PASS" if ok else "FAIL",
                ", ".join(f"{name} {'ok' if value else 'FAILED'}" for name, value in seen.items()),
                seen, None if ok else "report it, with this report")


# --- PWM -----------------------------------------------------------------------------------------


def pwm_engines(ctx: Context) -> List[Tuple[str, str, Any]]:
    """[(id, description, factory or the reason it is skipped)] for this board's PWM engines:
    DMA on a Pi 0-4 (on the simulated board the DMA model drives the pins), the RP1's PIO and
    hardware PWM on a Pi 5, and software timing everywhere. A factory makes an engine with
    start(frequency, duty)/stop() on the jumper's output pin."""
    from rpio_pwm import _session, gpio_pwm

    from .._gpio import _state

    engines: List[Tuple[str, str, Any]] = []
    chip = _state.board.info.chip
    try:
        backend = _session.ensure_backend()
    except (OSError, RuntimeError) as error:
        backend, why = None, f"rpio_pwm cannot start here: {error}"
    if chip != "rp1":
        if backend is not None and backend.kind in ("hardware", "model"):
            engines.append(("dma", "DMA", lambda: gpio_pwm.DmaPwmEngine(ctx.out, backend)))
        else:
            engines.append(("dma", "DMA", why if backend is None else
                            f"DMA PWM is not available here (backend {backend.kind})"))
    else:
        pio = getattr(backend, "pio", None)
        if pio is None:
            engines.append(("pio", "RP1 PIO", why if backend is None else
                            "no RP1 PIO here (/dev/pio0: the rp1-pio driver)"))
        elif ctx.out >= 28:
            engines.append(("pio", "RP1 PIO", f"GPIO {ctx.out} is not a header GPIO of the RP1"))
        else:
            def pio_engine():
                if hasattr(backend, "_emulator_pump"):  # the simulated Pi 5: follow the wall clock
                    backend._emulator_pump(True)
                return gpio_pwm.PioPwmEngine(ctx.out, pio)

            engines.append(("pio", "RP1 PIO", pio_engine))
        engines.append(("hardware-pwm", "RP1 hardware PWM",
                        _hardware_pwm_factory(ctx, backend) if not ctx.simulated
                        else "the simulated Pi 5 has no kernel PWM driver"))
    engines.append(("software", "software timing",
                    lambda: gpio_pwm.SoftwarePwmEngine(ctx.out, _state.driver.write)))
    return engines


def _hardware_pwm_factory(ctx: Context, backend):
    """The kernel's RP1 PWM channel behind the output pin (Pi 5), or why there is none."""
    from rpio_pwm import gpio_pwm

    channel = None
    if backend is not None and backend.kind == "sysfs":
        channel = backend.hardware_channel(ctx.out)
    if channel is None:
        return (f"GPIO {ctx.out} has no hardware PWM channel here (GPIO 12, 13, 18 and 19 have, "
                "with a PWM overlay): --jumper 18,27 measures it")
    return lambda: gpio_pwm.SysfsPwmEngine(ctx.out, backend.chip, channel)


# (setting id, frequency Hz, duty %, periods to measure full/quick)
PWM_SETTINGS = (("servo", 50.0, 7.5, 25, 8), ("1khz", 1000.0, 50.0, 300, 60))
WIDTH_TARGET_US = 50  # p99 width error a timed engine should keep (issue 17's target)


def measure_pulses(events: Sequence[Tuple[int, int, int, int]]) -> Tuple[List[float], List[float]]:
    """Periods (rise to rise) and widths (rise to fall) in us, from edge timestamps; the first
    rise is where measuring starts."""
    periods, widths = [], []
    last_rise = None
    for stamp, value, _, _ in events:
        if value:
            if last_rise is not None:
                periods.append((stamp - last_rise) / 1000)
            last_rise = stamp
        elif last_rise is not None and (not widths or len(widths) <= len(periods)):
            widths.append((stamp - last_rise) / 1000)
    return periods, widths


def step_pwm(ctx: Context, engine_id: str, description: str, factory, setting) -> Step:
    name, frequency, duty, periods_full, periods_quick = setting
    step_id = f"pwm-{engine_id}-{name}"
    title = f"PWM {description}, {frequency:g} Hz at {duty:g} %"
    if isinstance(factory, str):
        return Step(step_id, title, "SKIP", factory)
    skipped = ctx.needs_wire(step_id, title)
    if skipped:
        return skipped
    wanted = periods_quick if ctx.quick else periods_full
    period_us = 1e6 / frequency
    width_us = period_us * duty / 100
    with _listening(ctx, None) as (recorder,):
        try:
            engine = factory()
            engine.start(frequency, duty)
        except (OSError, RuntimeError) as error:
            return Step(step_id, title, "SKIP", f"the engine cannot start here: {error}")
        try:
            ctx.progress(f"{title}: measuring {wanted} periods")
            # a generous timeout for an engine that produces nothing, not a speed bound
            recorder.wait_for(2 * (wanted + 2), wanted * period_us / 1e6 * 3 + 10 * EVENT_TIMEOUT_S)
        finally:
            engine.stop()
    periods, widths = measure_pulses(recorder.events[1:])  # from the second edge: steady state
    periods, widths = periods[:wanted], widths[:wanted]
    figures: Dict[str, Any] = {"frequency_hz": frequency, "duty_percent": duty,
                               "requested_period_us": round(period_us, 3),
                               "requested_width_us": round(width_us, 3), "periods": len(periods)}
    if len(periods) < max(2, wanted // 2) or not widths:
        return Step(step_id, title, "FAIL",
                    f"{len(periods)} periods seen of {wanted}", figures,
                    "the engine did not produce pulses on the wire: report it, with this report")
    period_errors = [abs(p - period_us) for p in periods]
    width_errors = [abs(w - width_us) for w in widths]
    figures["period_error_us"] = _summary(period_errors)
    figures["width_error_us"] = _summary(width_errors)
    summary = (f"{len(periods)} periods, width error p50 {figures['width_error_us']['p50']:.1f} us, "
               f"p99 {figures['width_error_us']['p99']:.1f} us, period error p50 "
               f"{figures['period_error_us']['p50']:.1f} us")
    # Timing is judged WARN at worst: the figures say how well this engine kept time on this
    # machine at this moment, and a busy CPU can spoil any software timing. FAIL is for an engine
    # that does not make pulses on the wire at all (above).
    if figures["period_error_us"]["p50"] > period_us * 0.25:
        return Step(step_id, title, "WARN", summary, figures,
                    "the frequency is far off: a very busy CPU? If it stays so on an idle board, "
                    "report it, with this report")
    if figures["width_error_us"]["p99"] > WIDTH_TARGET_US:
        return Step(step_id, title, "WARN", summary, figures,
                    f"p99 width error above {WIDTH_TARGET_US} us: a busy CPU disturbs software "
                    "timing; DMA, PIO or hardware PWM keep time")
    return Step(step_id, title, "PASS", summary, figures)


# --- TCP and idle --------------------------------------------------------------------------------


def step_tcp(ctx: Context) -> Step:
    title = "TCP loop round trip on loopback"
    RPIO = ctx.RPIO
    rounds = 5 if ctx.quick else 50
    port = RPIO.add_tcp_callback(0, lambda client, message: client.send(message + "\n"),
                                 bind="127.0.0.1")
    RPIO.wait_for_interrupts(threaded=True)
    times: List[float] = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=EVENT_TIMEOUT_S) as client:
            reader = client.makefile("rb")
            for i in range(rounds):
                start = time.monotonic_ns()
                client.sendall(f"rpio-selftest {i}\n".encode())
                reply = reader.readline()
                if reply.strip() != f"rpio-selftest {i}".encode():
                    return Step("tcp", title, "FAIL", f"round {i} came back as {reply!r}", {},
                                "report it, with this report")
                times.append((time.monotonic_ns() - start) / 1000)
    except OSError as error:
        return Step("tcp", title, "FAIL", f"loopback connection failed: {error}", {},
                    "is the loopback interface up? (ip link show lo)")
    finally:
        RPIO.stop_waiting_for_interrupts()
        RPIO.remove_tcp_callback(port)
    figures = {"rounds": rounds, "round_trip_us": _summary(times)}
    return Step("tcp", title, "PASS",
                f"{rounds} round trips, p50 {figures['round_trip_us']['p50']:.0f} us", figures)


def step_idle_cpu(ctx: Context) -> Step:
    title = "idle CPU of a waiting loop"
    RPIO = ctx.RPIO
    seconds = 0.3 if ctx.quick else 2.0
    RPIO.add_interrupt_callback(ctx.inp, lambda gpio, value: None, edge="both",
                                pull_up_down=RPIO.PUD_OFF)
    RPIO.wait_for_interrupts(threaded=True)
    try:
        before_cpu, before = _process_cpu(), time.monotonic()
        time.sleep(seconds)
        cpu, wall = _process_cpu() - before_cpu, time.monotonic() - before
    finally:
        RPIO.stop_waiting_for_interrupts()
        RPIO.del_interrupt_callback(ctx.inp)
    percent = 100 * cpu / wall
    figures = {"seconds": round(wall, 3), "cpu_percent": round(percent, 3)}
    status = "PASS" if percent < 1 else "WARN"
    return Step("idle-cpu", title, status, f"{percent:.2f} % of a core over {wall:.1f} s", figures,
                None if status == "PASS" else "a waiting loop should cost nothing: report it")


def _process_cpu() -> float:
    times = os.times()
    return times.user + times.system
