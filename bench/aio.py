"""rpio_interrupts.aio against the threaded loop, in the same run, on a pipe provider. JSON out.

    python bench/aio.py [--samples N] [--gap-us US] [--duration S] [--max-rate R]
                        [--queue-bytes B[,B...]] [--tries T] [--writer process|thread|both]

Edges come from a writer that writes 48-byte gpio_v2_line_event records (encode_event, timestamp =
CLOCK_MONOTONIC ns just before the write) into a pipe, the line's fd, as the kernel or the
simulated board would. The writer runs in a thread of this process and, separately, in a child
process (the kernel never takes our GIL; a writer thread competes with the consumer for it).
Consumers, each with a fresh line request:
- threaded:       Interruptor.add_interrupt_callback(with_event=True) + wait_for_interrupts(threaded=True)
- aio_asyncio:    async for event in aio.edges(...) on asyncio's default loop
- aio_uvloop:     the same on uvloop (when importable)
- aio_callbacks:  the same callback as `threaded`, served by await aio.wait_for_interrupts()
- asyncio_floor:  (latency only; not RPIO) a bare loop.add_reader callback that reads and decodes
                  the records on asyncio's default loop: what that loop's own turn costs
Measured:
- latency: the writer sends one edge; the consumer takes CLOCK_MONOTONIC when it has the event
  (in the callback / in the `async for` body) and acknowledges through a pipe; the writer waits
  --gap-us and sends the next (the consumer is idle each time). p50/p90/p99/max in microseconds
  over --samples edges; two interleaved rounds, the one with the lower p50 kept.
- max_rate_without_loss: the pipe is sized to each --queue-bytes (default one page = 85 records,
  the nearest a pipe gets to the kernel's 16 per line, and the default 64 KiB = 1365 records) and
  written non-blocking: a record that does not fit is dropped (its seqno used anyway), as the
  kernel drops events when its queue is full. A step offers a rate for --duration seconds and
  passes when one of --tries attempts shows no seqno gap (so one stall caused by another process
  does not decide it) and the writer kept 90% of the pace. Rates double from 5,000/s until a step
  fails (or --max-rate), then 4 bisection steps; the consumers take turns at every step, so a
  noisy period of the machine hits them alike. The aio stream reads with max_queue=64 (one
  read's worth), so it buffers no more than the threaded loop does.
Ratios: aio over threaded (latency: < 1 is faster; rate: > 1 is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import platform
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from rpio_interrupts import Interruptor, aio
from rpio_interrupts.event import _RECORD, EDGE_FALLING, EDGE_RISING, encode_event

try:
    import uvloop
except ImportError:  # measured when installed
    uvloop = None

GPIO = 17
WAIT = 10.0
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
RECORD = 48


# -- the pipe provider ------------------------------------------------------------------------
class BenchLine:
    def __init__(self, queue_bytes: int):
        self.r, self.w = os.pipe2(os.O_CLOEXEC)
        if queue_bytes:
            fcntl.fcntl(self.w, F_SETPIPE_SZ, queue_bytes)
        self.capacity = fcntl.fcntl(self.w, 1032) if queue_bytes else 65536  # F_GETPIPE_SZ
        os.set_blocking(self.w, False)
        self.closed = False

    def fileno(self) -> int:
        return self.r

    def get_value(self) -> int:
        return 0

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.r)
            os.close(self.w)


class BenchProvider:
    def __init__(self, queue_bytes: int):
        self.queue_bytes = queue_bytes
        self.line: BenchLine | None = None

    def request(self, gpio, *, edge, bias, consumer):
        self.line = BenchLine(self.queue_bytes)
        return self.line


# -- writers (a thread, or a child process: the same functions) --------------------------------
def latency_writer(fd: int, ack_fd: int, samples: int, gap_s: float) -> None:
    """One edge at a time: write it, wait for the consumer's acknowledgement byte, idle gap_s."""
    os.set_blocking(fd, True)
    for seq in range(1, samples + 1):
        ts = time.monotonic_ns()
        os.write(fd, encode_event(ts, EDGE_RISING if seq % 2 else EDGE_FALLING, GPIO, seq, seq))
        if not os.read(ack_fd, 1):
            raise EOFError(f"no acknowledgement for edge {seq}")
        if gap_s:
            time.sleep(gap_s)


def rate_writer(fd: int, rate: float, total: int) -> dict:
    """Write ``total`` edges paced at ``rate``/s, dropping what the full queue refuses (the fd is
    non-blocking); then one end record (seqno total + 1) with a blocking write."""
    per_write = max(1, 4096 // RECORD)  # <= PIPE_BUF: each write is all or nothing
    seq = 0
    dropped = 0
    t0 = time.monotonic()
    while seq < total:
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        if due <= seq:
            time.sleep(0)  # (in a thread: let the consumer have the GIL until the next edge)
            continue
        count = min(due - seq, per_write)
        ts = time.monotonic_ns()
        batch = b"".join(encode_event(ts, EDGE_RISING if (seq + k) % 2 == 0 else EDGE_FALLING,
                                      GPIO, seq + k + 1, seq + k + 1) for k in range(count))
        try:
            os.write(fd, batch)
        except BlockingIOError:
            # the queue is (nearly) full: as many single records as fit, the rest is lost
            for k in range(count):
                try:
                    os.write(fd, batch[k * RECORD:(k + 1) * RECORD])
                except BlockingIOError:
                    dropped += count - k
                    break
        seq += count
    elapsed = time.monotonic() - t0
    os.set_blocking(fd, True)
    os.write(fd, encode_event(time.monotonic_ns(), EDGE_RISING, GPIO, total + 1, total + 1))
    return {"elapsed": elapsed, "dropped": dropped}


class Writer:
    """Runs a writer function in a thread or in a child process (``python bench/aio.py
    --child ...`` with the fds passed), and collects its result."""

    def __init__(self, mode: str, kind: str, fd: int, **params):
        self.mode, self.kind, self.fd, self.params = mode, kind, fd, params
        self.ack_r, self.ack_w = os.pipe2(os.O_CLOEXEC) if kind == "latency" else (-1, -1)
        self.result: dict = {}
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None

    def ack(self) -> None:
        os.write(self.ack_w, b"\0")

    def start(self) -> None:
        if self.mode == "thread":
            self._thread = threading.Thread(target=self._run_here)
            self._thread.start()
        else:
            fds = [self.fd] + ([self.ack_r] if self.ack_r >= 0 else [])
            self._proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--child", self.kind, str(self.fd),
                 str(self.ack_r), json.dumps(self.params)],
                pass_fds=fds, stdout=subprocess.PIPE, text=True)

    def _run_here(self) -> None:
        try:
            self.result = run_writer(self.kind, self.fd, self.ack_r, self.params) or {}
        except BaseException as exc:
            self.error = exc

    def join(self) -> dict:
        try:
            if self._thread is not None:
                self._thread.join(WAIT)
                if self._thread.is_alive():
                    raise TimeoutError("the writer thread did not finish")
            elif self._proc is not None:
                out, _ = self._proc.communicate(timeout=WAIT)
                if self._proc.returncode:
                    raise RuntimeError(f"the writer process failed ({self._proc.returncode})")
                self.result = json.loads(out or "{}")
            if self.error is not None:
                raise self.error
            return self.result
        finally:
            for fd in (self.ack_r, self.ack_w):
                if fd >= 0:
                    os.close(fd)
            self.ack_r = self.ack_w = -1


def run_writer(kind: str, fd: int, ack_fd: int, params: dict) -> dict | None:
    if kind == "latency":
        latency_writer(fd, ack_fd, params["samples"], params["gap_s"])
        return None
    return rate_writer(fd, params["rate"], params["total"])


def percentiles(values_ns: list[int]) -> dict:
    ordered = sorted(values_ns)
    n = len(ordered)

    def pick(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] / 1000, 1)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": round(ordered[-1] / 1000, 1),
            "samples": n}


# -- consumers --------------------------------------------------------------------------------
def run_loop(kind: str, coro):
    factory = uvloop.new_event_loop if kind == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


class _FloorEvent(NamedTuple):
    timestamp_ns: int
    seqno: int


class Counter:
    """Sees seqnos: counts events and the edges lost in gaps."""

    __slots__ = ("expected", "gaps", "got")

    def __init__(self):
        self.expected = 1
        self.gaps = 0
        self.got = 0

    def see(self, seqno: int) -> None:
        if seqno != self.expected:
            self.gaps += seqno - self.expected
        self.expected = seqno + 1
        self.got += 1


def consume(consumer: str, provider: BenchProvider, make_writer, handle, last: int,
            limit: float, *, max_queue: int) -> Writer:
    """Run ``consumer`` until it has seen seqno ``last``; ``handle(event)`` is called for every
    event (in the callback, or in the ``async for`` body). Returns the joined writer."""
    intr = Interruptor(provider)
    box: list[Writer] = []
    if consumer == "threaded":
        done = threading.Event()

        def cb(gpio, value, event):
            handle(event)
            if event.seqno == last:
                done.set()

        intr.add_interrupt_callback(GPIO, cb, with_event=True)
        intr.wait_for_interrupts(threaded=True, epoll_timeout=None)
        writer = make_writer()
        writer.start()
        finished = done.wait(limit)
        intr.cleanup_interrupts()
        writer.join()
        if not finished:
            raise TimeoutError(f"{consumer}: seqno {last} not seen within {limit:.0f} s")
        return writer

    if consumer == "asyncio_floor":
        # not RPIO: a bare loop.add_reader callback that reads and decodes the records, the least
        # any consumer on asyncio's default loop can do per edge (latency only)
        async def main():
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            assert provider.line is not None
            fd = provider.line.r

            def on_readable():
                for ts, _eid, _off, seqno, _lseq in _RECORD.iter_unpack(os.read(fd, RECORD * 64)):
                    handle(_FloorEvent(ts, seqno))
                    if seqno == last and not done.done():
                        done.set_result(None)

            os.set_blocking(fd, False)
            box.append(make_writer())
            box[0].start()
            loop.add_reader(fd, on_readable)
            try:
                async with asyncio.timeout(limit):
                    await done
            finally:
                loop.remove_reader(fd)

        intr.line_provider.request(GPIO, edge="both", bias="disabled", consumer="bench")
        run_loop("asyncio", main())
        provider.line.close()
        box[0].join()
        return box[0]

    if consumer == "aio_callbacks":
        def cb(gpio, value, event):
            handle(event)
            if event.seqno == last:
                intr.stop_waiting_for_interrupts()

        async def main():
            intr.add_interrupt_callback(GPIO, cb, with_event=True)
            box.append(make_writer())
            box[0].start()
            async with asyncio.timeout(limit):
                await aio.wait_for_interrupts(intr)
            intr.cleanup_interrupts()

        run_loop("asyncio", main())
    else:
        async def main():
            async with asyncio.timeout(limit):
                async with aio.edges(GPIO, interruptor=intr, max_queue=max_queue) as stream:
                    box.append(make_writer())
                    box[0].start()
                    async for event in stream:
                        handle(event)
                        if event.seqno == last:
                            break

        run_loop("uvloop" if consumer == "aio_uvloop" else "asyncio", main())
    box[0].join()
    return box[0]


def latency_run(consumer: str, mode: str, args) -> list[int]:
    provider = BenchProvider(0)
    lat: list[int] = []
    box: list[Writer] = []
    clock = time.monotonic_ns

    def make_writer() -> Writer:
        assert provider.line is not None
        box.append(Writer(mode, "latency", provider.line.w, samples=args.samples,
                          gap_s=args.gap_us / 1e6))
        return box[0]

    def handle(event) -> None:
        lat.append(clock() - event.timestamp_ns)
        box[0].ack()

    consume(consumer, provider, make_writer, handle, args.samples,
            args.samples * (args.gap_us / 1e6 + 0.002) + WAIT, max_queue=aio.DEFAULT_MAX_QUEUE)
    return lat


def rate_step(consumer: str, mode: str, rate: float, args) -> dict:
    """One step at ``rate``: edges offered, lost (seqno gaps), rate the writer achieved."""
    total = max(1, int(rate * args.duration))
    provider = BenchProvider(args.queue_bytes)
    counter = Counter()

    def make_writer() -> Writer:
        assert provider.line is not None
        return Writer(mode, "rate", provider.line.w, rate=rate, total=total)

    writer = consume(consumer, provider, make_writer, lambda event: counter.see(event.seqno),
                     total + 1, args.duration * 4 + WAIT, max_queue=64)
    elapsed = writer.result.get("elapsed") or args.duration
    return {"rate": round(rate), "lost": counter.gaps, "writer_dropped": writer.result.get("dropped"),
            "achieved": round(total / elapsed)}


def max_rates(consumers: list[str], mode: str, args) -> dict:
    """Per consumer: double the rate from 5,000/s until a step loses edges, then bisect 4 times.
    The consumers take turns at every step, so a noisy period of the machine hits them alike."""
    found = {name: {"good": 0.0, "bad": None, "steps": []} for name in consumers}

    def passes(name: str, rate: float) -> bool:
        # best of --tries: a stall caused by another process on the machine is not the consumer's
        for _ in range(args.tries):
            step = rate_step(name, mode, rate, args)
            found[name]["steps"].append(step)
            # it only counts if the writer kept the pace (else that rate was not really offered)
            if step["lost"] == 0 and step["achieved"] >= 0.9 * rate:
                return True
        return False

    rate = 5000.0
    climbing = list(consumers)
    while climbing and rate <= args.max_rate:
        for name in list(climbing):
            if passes(name, rate):
                found[name]["good"] = rate
            else:
                found[name]["bad"] = rate
                climbing.remove(name)
        rate *= 2
    for _ in range(4):
        for name in consumers:
            state = found[name]
            if state["bad"] is None or not state["good"]:
                continue
            mid = (state["good"] + state["bad"]) / 2
            state["good" if passes(name, mid) else "bad"] = mid
    return {name: {"edges_per_s": round(state["good"]),
                   "first_failing": None if state["bad"] is None else round(state["bad"]),
                   "steps": state["steps"]} for name, state in found.items()}


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=3000, help="edges per latency run")
    parser.add_argument("--gap-us", type=float, default=200, help="idle time between latency edges")
    parser.add_argument("--duration", type=float, default=0.25, help="seconds per rate step")
    parser.add_argument("--max-rate", type=float, default=2_560_000, help="highest rate tried")
    parser.add_argument("--queue-bytes", default="4096,65536",
                        help="pipe sizes (the event queue) for the rate search, comma-separated")
    parser.add_argument("--tries", type=int, default=3, help="attempts per rate step (best of)")
    parser.add_argument("--writer", choices=["process", "thread", "both"], default="both",
                        help="where the edges are written from")
    args = parser.parse_args(argv)
    queues = [int(q) for q in args.queue_bytes.split(",") if q.strip()]

    modes = ["process", "thread"] if args.writer == "both" else [args.writer]
    consumers = ["threaded", "aio_asyncio"] + (["aio_uvloop"] if uvloop else []) + ["aio_callbacks"]
    latency: dict = {}
    rates: dict = {}
    steps: dict = {}
    ratios: dict = {}
    for mode in modes:
        table = latency[mode] = {}
        for _round in range(2):  # interleaved twice; the run with the lower p50 is kept
            for name in consumers + ["asyncio_floor"]:
                result = percentiles(latency_run(name, mode, args))
                if name not in table or result["p50"] < table[name]["p50"]:
                    table[name] = result
        for name in consumers[1:] + ["asyncio_floor"]:
            for q in ("p50", "p99"):
                ratios[f"latency_{q}_{name}_over_threaded_{mode}_writer"] = round(
                    table[name][q] / table["threaded"][q], 3)
        for queue_bytes in queues:
            args.queue_bytes = queue_bytes
            probe = BenchLine(queue_bytes)
            label = f"queue_{probe.capacity // RECORD}_records"
            probe.close()
            found = max_rates(consumers, mode, args)
            rates.setdefault(mode, {})[label] = {
                name: {k: v for k, v in r.items() if k != "steps"} for name, r in found.items()}
            steps.setdefault(mode, {})[label] = {name: r["steps"] for name, r in found.items()}
            base = found["threaded"]["edges_per_s"]
            for name in consumers[1:]:
                if base:
                    ratios[f"max_rate_{name}_over_threaded_{mode}_writer_{label}"] = round(
                        found[name]["edges_per_s"] / base, 3)
    result = {
        "bench": "aio",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "uvloop": getattr(uvloop, "__version__", None),
        "setup": {"samples": args.samples, "gap_us": args.gap_us, "duration_s": args.duration,
                  "aio_max_queue_in_rate_steps": 64, "tries_per_rate_step": args.tries,
                  "writers": modes},
        "latency_us": latency,
        "max_rate_without_loss": rates,
        "ratios": ratios,
        "rate_steps": steps,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":  # a writer process (see Writer)
        _kind, _fd, _ack, _params = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        print(json.dumps(run_writer(_kind, _fd, _ack, json.loads(_params)) or {}))
        sys.exit(0)
    sys.exit(main())
