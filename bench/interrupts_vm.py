#!/usr/bin/env python3
"""Edge -> callback latency and the highest sustained edge rate without lost events, on the real
kernel GPIO stack (gpio-sim in the kernel tier's VM), for consumers of the same line:

- ``uapi``:  a bare pure-Python read loop: epoll + os.read + struct.iter_unpack, no dispatch (the floor),
- ``rpio``:  rpio_interrupts' threaded interrupt loop (Interruptor + ChardevLineProvider, a callback
  with ``with_event=True``),
- ``aio_asyncio``: ``async for event in rpio_interrupts.aio.edges(...)`` on asyncio's default loop,
- ``aio_uvloop``: the same on uvloop (when importable),
- ``aio_callbacks``: the ``rpio`` consumer's callback served by ``await aio.wait_for_interrupts()``
  on asyncio's default loop,
- ``gpiod``: the libgpiod 2.x Python bindings (wait_edge_events + read_edge_events),
- ``asyncio_floor``: not RPIO: a bare ``loop.add_reader`` callback on asyncio's default loop that
  reads and decodes the records (os.read + struct.iter_unpack) and calls the callback: the least
  any library can do on that loop, so ``aio_asyncio_over_asyncio_floor`` is what RPIO.aio adds to
  the loop's own turn and ``asyncio_floor_over_rpio`` what the loop itself costs.

Every consumer requests the line with the same kernel event queue, ``--event-buffer`` records
(default 1024, the kernel's largest and what RPIO's ChardevLineProvider asks for).

Run it inside the VM from the host:  python tests/kernel/run_tier.py --bench [--output FILE]
It prints one JSON object. Edges are made by a separate driver process writing the gpio-sim
``pull`` attribute (so it does not compete for the consumer's GIL):

- latency: one edge every ``--spacing-ms``; per edge, write time (CLOCK_MONOTONIC just before the
  write), the event's kernel timestamp, and CLOCK_MONOTONIC when the consumer's callback starts.
  The driver sleeps between these edges, and the consumers take turns in rounds.
- rate: bursts paced at rising rates (edges/s). An event is lost when the consumer sees a seqno
  gap: it fell behind and its kernel event queue overflowed. A rung is failed when two bursts in
  a row lose events. The consumers take turns at each rung. The highest rate without a gap is
  reported, or the driver's own limit. Edges merged before their interrupt was taken (fewer
  events than edges, no gap) are the emulated interrupt path's doing, the same for every
  consumer, and are reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import select
import statistics
import struct
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kernel"))  # the gpio-sim facade
if os.path.isdir(os.path.join(ROOT, "packages", "rpio-interrupts", "src")):
    try:
        import rpio_interrupts  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, "packages", "rpio-interrupts", "src"))

import gpiosim  # noqa: E402 - found through the path set up just above
from rpio_interrupts import Interruptor, aio, uapi  # noqa: E402

try:
    import uvloop
except ImportError:  # measured when installed
    uvloop = None

LINE = 17
SUBJECTS = ("uapi", "rpio", "aio_asyncio", "aio_uvloop", "aio_callbacks", "gpiod", "asyncio_floor")
EVENT_BUFFER = uapi.MAX_EVENT_BUFFER_SIZE  # set from --event-buffer
# The bare consumers' decoder: the record layout spelt out here, not RPIO's, as a user's own loop would
BARE_UNPACK = struct.Struct("=QIIII24x").iter_unpack
FULL_PACE = 0.9  # a rung counts when the driver kept this share of its rate


# ------------------------------------------------------------------------------------------
# The driver: a child process that writes the sim pull on command
# ------------------------------------------------------------------------------------------
class Driver:
    """Forked before any thread exists. Commands: (count, interval_ns, busy); it makes ``count``
    edges (alternating up/down, starting from the current level) spaced ``interval_ns`` apart and
    answers with the write times. ``busy``: pace by spinning (precise, for rates; 0 = as fast as it
    can), else by sleeping (its CPU idles between edges, for latencies)."""

    def __init__(self, pull_path: str):
        self._cmd_r, self._cmd_w = os.pipe()
        self._res_r, self._res_w = os.pipe()
        self.level = 0
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                os.close(self._cmd_w)
                os.close(self._res_r)
                self._serve(pull_path)
                code = 0
            finally:
                os._exit(code)
        os.close(self._cmd_r)
        os.close(self._res_w)

    def _serve(self, pull_path: str) -> None:
        fd = os.open(pull_path, os.O_WRONLY)
        words = (b"pull-down", b"pull-up")
        level = 0
        os.pwrite(fd, words[0], 0)
        while True:
            head = _read_exact(self._cmd_r, 24)
            if not head:
                return
            count, interval, busy = struct.unpack("=QQQ", head)
            stamps = []
            now = time.monotonic_ns
            pwrite = os.pwrite
            next_at = now()
            for _ in range(count):
                if interval:
                    if busy:
                        while now() < next_at:
                            pass
                    else:
                        time.sleep(max(0, next_at - now()) / 1e9)
                    next_at += interval
                level ^= 1
                stamps.append(now())
                pwrite(fd, words[level], 0)
            out = struct.pack(f"=Q{len(stamps)}Q", len(stamps), *stamps)
            _write_all(self._res_w, out)

    def edges(self, count: int, interval_ns: int, busy: bool = True) -> list[int]:
        _write_all(self._cmd_w, struct.pack("=QQQ", count, interval_ns, int(busy)))
        (n,) = struct.unpack("=Q", _read_exact(self._res_r, 8))
        stamps = list(struct.unpack(f"={n}Q", _read_exact(self._res_r, 8 * n)))
        self.level ^= count & 1
        return stamps

    def close(self) -> None:
        os.close(self._cmd_w)
        os.close(self._res_r)
        os.waitpid(self.pid, 0)


def _read_exact(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ------------------------------------------------------------------------------------------
# Consumers: each records (seqno, kernel timestamp, CLOCK_MONOTONIC at the callback)
# ------------------------------------------------------------------------------------------
class Consumer:
    """Subclasses define start() (request the line, begin consuming) and stop() (release it)."""

    name = ""

    def __init__(self, chip_path: str):
        self.chip_path = chip_path
        self.records: list[tuple[int, int, int]] = []

    def callback(self, seqno: int, timestamp_ns: int) -> None:
        self.records.append((seqno, timestamp_ns, time.monotonic_ns()))


class _ThreadConsumer(Consumer):
    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"bench-{self.name}")
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        self._thread.join()
        self._release()


class UapiConsumer(_ThreadConsumer):
    name = "uapi"

    def start(self) -> None:
        self._req = uapi.request_lines(self.chip_path, [LINE], edge="both", consumer="bench-uapi",
                                       event_buffer_size=EVENT_BUFFER)
        super().start()

    def _run(self) -> None:
        fd = self._req.fileno()
        os.set_blocking(fd, False)
        ep = select.epoll()
        ep.register(fd, select.EPOLLIN)
        cb, read, size, unpack = self.callback, os.read, 48 * EVENT_BUFFER, BARE_UNPACK
        try:
            while not self._stop:
                if ep.poll(0.1):
                    for ts, _eid, _off, seqno, _lseq in unpack(read(fd, size)):
                        cb(seqno, ts)
        finally:
            ep.close()

    def _release(self) -> None:
        self._req.close()


class GpiodConsumer(_ThreadConsumer):
    name = "gpiod"

    def start(self) -> None:
        import gpiod
        from gpiod.line import Direction, Edge

        settings = gpiod.LineSettings(direction=Direction.INPUT, edge_detection=Edge.BOTH)
        self._req = gpiod.request_lines(self.chip_path, consumer="bench-gpiod", config={LINE: settings},
                                        event_buffer_size=EVENT_BUFFER)
        super().start()

    def _run(self) -> None:
        wait, read, cb = self._req.wait_edge_events, self._req.read_edge_events, self.callback
        while not self._stop:
            if wait(0.1):
                for ev in read(EVENT_BUFFER):
                    cb(ev.global_seqno, ev.timestamp_ns)

    def _release(self) -> None:
        self._req.release()


class RpioConsumer(Consumer):
    name = "rpio"

    def start(self) -> None:
        provider = uapi.ChardevLineProvider(self.chip_path, event_buffer_size=EVENT_BUFFER)
        self._loop = Interruptor(provider, consumer="bench-rpio")
        cb = self.callback

        def on_edge(gpio, value, event):
            cb(event.seqno, event.timestamp_ns)

        self._loop.add_interrupt_callback(LINE, on_edge, edge="both", with_event=True)
        self._loop.wait_for_interrupts(threaded=True)

    def stop(self) -> None:
        self._loop.cleanup_interrupts()


class _OwnLoopConsumer(Consumer):
    """A consumer served by an event loop of its own thread: ``_prepare()`` requests what it
    needs, ``_main()`` is the coroutine the loop runs (it sets ``_ready`` once serving)."""

    def _new_loop(self):
        return asyncio.new_event_loop()

    def start(self) -> None:
        self._prepare()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"bench-{self.name}")
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        loop = self._loop = self._new_loop()
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()


class AioConsumer(_OwnLoopConsumer):
    """``async for event in aio.edges(LINE)`` on an event loop of its own thread."""

    name = "aio_asyncio"

    def _prepare(self) -> None:
        provider = uapi.ChardevLineProvider(self.chip_path, event_buffer_size=EVENT_BUFFER)
        self._intr = Interruptor(provider, consumer="bench-aio")

    async def _main(self) -> None:
        cb = self.callback
        async with aio.edges(LINE, interruptor=self._intr) as stream:
            self._stream = stream
            self._ready.set()
            async for event in stream:
                cb(event.seqno, event.timestamp_ns)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stream.close)
        self._thread.join()
        self._intr.cleanup_interrupts()


class AioCallbacksConsumer(AioConsumer):
    """The rpio consumer's callback, served on asyncio's default loop by aio.wait_for_interrupts()."""

    name = "aio_callbacks"

    async def _main(self) -> None:
        cb = self.callback

        def on_edge(gpio, value, event):
            cb(event.seqno, event.timestamp_ns)

        self._intr.add_interrupt_callback(LINE, on_edge, edge="both", with_event=True)
        serving = asyncio.ensure_future(aio.wait_for_interrupts(self._intr))
        await asyncio.sleep(0)  # serving now: the line's fd is on this loop
        self._ready.set()
        await serving

    def stop(self) -> None:
        self._intr.stop_waiting_for_interrupts()  # from this thread: returns once stopped
        self._thread.join()
        self._intr.cleanup_interrupts()


class AioUvloopConsumer(AioConsumer):
    name = "aio_uvloop"

    def _new_loop(self):
        return uvloop.new_event_loop()


class AsyncioFloorConsumer(_OwnLoopConsumer):
    """Not RPIO: the line's fd on asyncio's default loop with a bare add_reader callback."""

    name = "asyncio_floor"

    def _prepare(self) -> None:
        self._req = uapi.request_lines(self.chip_path, [LINE], edge="both", consumer="bench-floor",
                                       event_buffer_size=EVENT_BUFFER)

    async def _main(self) -> None:
        loop = self._loop
        fd = self._req.fileno()
        os.set_blocking(fd, False)
        cb, read, size, unpack = self.callback, os.read, 48 * EVENT_BUFFER, BARE_UNPACK

        def on_readable():
            for ts, _eid, _off, seqno, _lseq in unpack(read(fd, size)):
                cb(seqno, ts)

        self._done = loop.create_future()
        loop.add_reader(fd, on_readable)
        self._ready.set()
        try:
            await self._done
        finally:
            loop.remove_reader(fd)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._done.set_result, None)
        self._thread.join()
        self._req.close()


CONSUMERS = {"uapi": UapiConsumer, "rpio": RpioConsumer, "aio_asyncio": AioConsumer,
             "aio_uvloop": AioUvloopConsumer, "aio_callbacks": AioCallbacksConsumer,
             "gpiod": GpiodConsumer, "asyncio_floor": AsyncioFloorConsumer}


def _wait_for(consumer: Consumer, count: int, idle_s: float = 0.5, limit_s: float = 10.0) -> None:
    """Until ``count`` records arrived, or none came for ``idle_s``."""
    deadline = time.monotonic() + limit_s
    seen, since = len(consumer.records), time.monotonic()
    while len(consumer.records) < count and time.monotonic() < deadline:
        n = len(consumer.records)
        if n != seen:
            seen, since = n, time.monotonic()
        elif time.monotonic() - since > idle_s:
            return
        time.sleep(0.01)  # polling the record count of another thread; measured times are taken there


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(values_ns: list[int]) -> dict:
    us = [v / 1000 for v in values_ns]
    return {
        "p50": round(_pct(us, 50), 1),
        "p99": round(_pct(us, 99), 1),
        "mean": round(statistics.fmean(us), 1),
        "min": round(min(us), 1),
        "max": round(max(us), 1),
    }


def latency_round(consumer: Consumer, driver: Driver, samples: int, spacing_ms: float, out: dict) -> None:
    """One round: request, warm up, ``samples`` spaced edges, release; appends to ``out``."""
    consumer.records.clear()
    consumer.start()
    interval = int(spacing_ms * 1e6)
    try:
        driver.edges(2, interval, busy=False)  # warm-up: both edge kinds once
        _wait_for(consumer, 2)
        base = consumer.records[-1][0] + 1 if consumer.records else 1
        consumer.records.clear()
        writes = driver.edges(samples, interval, busy=False)
        _wait_for(consumer, samples)
    finally:
        consumer.stop()
    out["edges"] += samples
    out["received"] += len(consumer.records)
    by_index = {seq - base: (ts, cb) for seq, ts, cb in consumer.records}
    this_round = []
    for i, t_write in enumerate(writes):
        if i in by_index:
            ts, cb = by_index[i]
            this_round.append(cb - t_write)
            out["w2ev"].append(ts - t_write)
            out["ev2cb"].append(cb - ts)
    out["w2cb"] += this_round
    # one entry per round, also for a round that got nothing, so rounds pair up across consumers
    out["round_p50"].append(_pct(this_round, 50) if this_round else None)


def latency_summary(raw: dict) -> dict:
    return {
        "edges": raw["edges"],
        "received": raw["received"],
        "write_to_callback_us": _summary(raw["w2cb"]),
        "event_timestamp_to_callback_us": _summary(raw["ev2cb"]),
        "write_to_event_timestamp_us": _summary(raw["w2ev"]),
        "write_to_callback_p50_per_round_us": [None if v is None else round(v / 1000, 1) for v in raw["round_p50"]],
    }


def _losses(records: list[tuple[int, int, int]], start_seq: int) -> tuple[int, int]:
    gaps = 0
    prev = start_seq
    for seq, _, _ in records:
        if seq != prev + 1:
            gaps += max(0, seq - prev - 1)
        prev = seq
    return gaps, prev


def rate_step(consumer: Consumer, driver: Driver, rate: int, step_s: float, min_edges: int) -> dict:
    """One burst of edges paced at ``rate`` per second, with a fresh request."""
    count = max(min_edges, int(rate * step_s))
    count += count & 1  # even: the line ends where it started
    consumer.records.clear()
    consumer.start()
    try:
        writes = driver.edges(count, int(1e9 / rate))
        _wait_for(consumer, count)
    finally:
        consumer.stop()
    got = consumer.records
    gaps, _ = _losses(got, got[0][0] - 1 if got else 0)
    if got and got[0][0] != 1:
        gaps += got[0][0] - 1  # the first records were dropped already
    achieved = (count - 1) / ((writes[-1] - writes[0]) / 1e9)
    return {
        "target_per_s": rate,
        "achieved_per_s": round(achieved),
        "edges": count,
        "received": len(got),
        "seqno_gaps": gaps,
        "merged_before_interrupt": max(0, count - len(got) - gaps),
    }


LOSS = "lost events (seqno gaps: the consumer fell behind)"


def _loss_at_top_common_rate(other: dict, base: dict) -> dict | None:
    """Edges lost by each consumer at the highest rung both ran at full pace (FULL_PACE): "no
    worse than the base" means ``lost <= base_lost`` there."""
    def full_pace(res: dict) -> dict:
        return {st["target_per_s"]: st for st in res["steps"]
                if st["achieved_per_s"] >= FULL_PACE * st["target_per_s"]}

    mine, theirs = full_pace(other), full_pace(base)
    common = sorted(set(mine) & set(theirs))
    if not common:
        return None
    top = common[-1]
    return {"rate_per_s": top, "lost": mine[top]["seqno_gaps"], "base_lost": theirs[top]["seqno_gaps"]}


def measure_rates(chip_path: str, subjects: list[str], driver: Driver, rates: list[int], step_s: float,
                  min_edges: int) -> dict:
    """Climb the rate ladder with every consumer taking its turn at each rung (so slow drifts and
    the scheduler's memory of earlier phases hit all alike); a consumer leaves at the first rung
    where it loses events twice in a row."""
    driver.edges(max(min_edges, int(rates[0] * step_s)), int(1e9 / rates[0]))  # settle the driver
    out = {s: {"max_rate_no_loss_per_s": None, "limited_by": "the highest rate tried", "steps": []}
           for s in subjects}
    active = list(subjects)
    for rate in rates:
        for s in list(active):
            step = rate_step(CONSUMERS[s](chip_path), driver, rate, step_s, min_edges)
            if step["seqno_gaps"]:  # one hiccup of the emulated machine is not a limit: try again
                step = rate_step(CONSUMERS[s](chip_path), driver, rate, step_s, min_edges)
                step["second_try"] = True
            res = out[s]
            res["steps"].append(step)
            if step["achieved_per_s"] < FULL_PACE * rate:
                res["limited_by"] = "the edge driver (it could not write faster under emulation)"
                if not step["seqno_gaps"]:
                    res["max_rate_no_loss_per_s"] = step["achieved_per_s"]
                active.remove(s)
            elif step["seqno_gaps"]:  # the consumer fell behind and its kernel queue overflowed
                res["limited_by"] = LOSS
                active.remove(s)
            else:
                res["max_rate_no_loss_per_s"] = rate
        if not active:
            break
    return out


def _environment() -> dict:
    accel = os.environ.get("RPIO_VM_ACCEL", "")
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        model = ""
    try:
        import gpiod

        gpiod_version = gpiod.__version__
    except Exception:  # noqa: BLE001 - reported, not fatal here
        gpiod_version = None
    return {
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "accelerator": accel or "unknown",
        "gpiod": gpiod_version,
        "uvloop": getattr(uvloop, "__version__", None),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subjects", default=",".join(SUBJECTS), help=f"comma list of {', '.join(SUBJECTS)}")
    ap.add_argument("--samples", type=int, default=900, help="edges per consumer in the latency runs")
    ap.add_argument("--rounds", type=int, default=15, help="latency rounds (the consumers take turns)")
    ap.add_argument("--spacing-ms", type=float, default=5.0, help="time between edges in the latency run")
    ap.add_argument("--rates", default=",".join(str(round(250 * 1.25**i)) for i in range(26)),
                    help="edge rates (per s) to try in turn, up to the first loss")
    ap.add_argument("--step-s", type=float, default=0.5, help="seconds of edges per rate step")
    ap.add_argument("--min-edges", type=int, default=200)
    ap.add_argument("--event-buffer", type=int, default=uapi.MAX_EVENT_BUFFER_SIZE,
                    help="kernel event queue (records) every consumer requests")
    ap.add_argument("-o", "--output", help="also write the JSON to this file")
    args = ap.parse_args(argv)
    global EVENT_BUFFER
    EVENT_BUFFER = args.event_buffer
    subjects = [s for s in args.subjects.split(",") if s and (s != "aio_uvloop" or uvloop is not None)]
    for s in subjects:
        if s not in CONSUMERS:
            ap.error(f"unknown subject {s!r}; choose from {', '.join(SUBJECTS)}")
    ok, why = gpiosim.available()
    if not ok:
        print(f"interrupts_vm.py: {why}; run it in the gpio-sim VM: python tests/kernel/run_tier.py --bench",
              file=sys.stderr)
        return 2
    if "gpiod" in subjects:
        try:
            import gpiod  # noqa: F401
        except ImportError:
            print(f"interrupts_vm.py: the gpiod bindings are missing: {sys.executable} -m pip install gpiod "
                  "(or --subjects uapi,rpio)", file=sys.stderr)
            return 2
    rates = [int(r) for r in args.rates.split(",")]
    t0 = time.monotonic()
    with gpiosim.Chip(num_lines=54, label="pinctrl-bcm2711") as sim:
        driver = Driver(f"{sim.sysfs}/sim_gpio{LINE}/pull")
        try:
            latency, rate = {}, {}
            raw = {s: {"edges": 0, "received": 0, "w2cb": [], "w2ev": [], "ev2cb": [], "round_p50": []}
                   for s in subjects}
            per_round = max(1, args.samples // args.rounds)
            for r in range(args.rounds):  # subjects take turns, so slow drifts hit all alike;
                for s in subjects[r % len(subjects):] + subjects[:r % len(subjects)]:  # each round starts elsewhere
                    latency_round(CONSUMERS[s](sim.dev_path), driver, per_round, args.spacing_ms, raw[s])
            for s in subjects:
                latency[s] = latency_summary(raw[s])
            rate = measure_rates(sim.dev_path, subjects, driver, rates, args.step_s, args.min_edges)
        finally:
            driver.close()

    def ratio(a, b):
        return round(a / b, 2) if a and b else None

    ratios = {}
    pairs = [(other, "uapi") for other in subjects if other != "uapi"]
    pairs += [(other, "rpio") for other in subjects if other.startswith("aio") or other == "asyncio_floor"]
    pairs += [(other, "asyncio_floor") for other in ("aio_asyncio", "aio_callbacks")]
    for other, base in pairs:
        if base in subjects and other in subjects:
            o, b = latency[other], latency[base]
            paired = [x / y for x, y in zip(raw[other]["round_p50"], raw[base]["round_p50"], strict=True) if x and y]
            ratios[f"{other}_over_{base}"] = {
                "latency_p50": ratio(o["write_to_callback_us"]["p50"], b["write_to_callback_us"]["p50"]),
                "latency_p99": ratio(o["write_to_callback_us"]["p99"], b["write_to_callback_us"]["p99"]),
                "callback_after_event_p50": ratio(o["event_timestamp_to_callback_us"]["p50"],
                                                  b["event_timestamp_to_callback_us"]["p50"]),
                "latency_p50_median_of_round_ratios": round(statistics.median(paired), 2) if paired else None,
                # when the driver limited either, a rate ratio would compare the driver's pace
                "max_rate": (ratio(rate[other]["max_rate_no_loss_per_s"], rate[base]["max_rate_no_loss_per_s"])
                             if rate[other]["limited_by"] == rate[base]["limited_by"] == LOSS else None),
                "loss_at_top_common_rate": _loss_at_top_common_rate(rate[other], rate[base]),
            }
    result = {
        "bench": "interrupts_vm",
        "note": (
            "Measured in the kernel tier's QEMU VM on gpio-sim. Under TCG software emulation (no KVM) "
            "Python runs ~16x slower than on the host and interrupts are simulated, so absolute figures "
            "are not those of a Raspberry Pi; the ratios between consumers of the same line in the same "
            "run are the meaningful part. Ratios are X_over_BASE: latency < 1 and rate > 1 favour X; "
            "latency_p50_median_of_round_ratios pairs the rounds (the consumers take turns), which "
            "cancels the machine's drift between rounds; max_rate is null unless both consumers "
            "stopped by losing events (else it would compare the edge driver's pace)."
        ),
        "environment": _environment(),
        "line": LINE,
        "event_buffer_size": EVENT_BUFFER,
        "latency_samples": per_round * args.rounds,
        "latency_spacing_ms": args.spacing_ms,
        "latency": latency,
        "rate": rate,
        "ratios": ratios,
        "elapsed_s": round(time.monotonic() - t0, 1),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
