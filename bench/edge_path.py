"""Per-edge cost of RPIO's edge path (read + decode + dispatch to a Python callback), in ns per edge,
against a bare read loop measured in the same run. JSON out.

    python bench/edge_path.py [--edges N] [--runs R] [--subjects a,b,...]

Edges are 48-byte gpio_v2_line_event records (encode_event, seqno counting up) written into a
1 MiB pipe, the line's fd, by a separate process that keeps the pipe full, so the consumer always
finds records waiting: what is measured is the consumer's own cost per edge, the Python work that
stands between the kernel's queue and a callback. Each subject drains --edges records from a fresh
pipe; the figure is this process's CPU time (all its threads; the writer is another process)
from the writer's start to the last callback, divided by the edges, best of --runs (the wall
time is reported too; on a busy machine it mostly measures the neighbours). Subjects:

- bare:            epoll + os.read + struct.iter_unpack + callback(gpio, value): the floor
- threaded:        Interruptor.add_interrupt_callback(cb) + wait_for_interrupts(threaded=True)
- threaded_event:  the same with with_event=True (callback(gpio, value, event))
- aio_callbacks:   the same callback served by await aio.wait_for_interrupts() (asyncio's loop)
- aio_edges:       async for event in aio.edges(...) on asyncio's default loop
- aio_edges_uvloop: the same on uvloop (when importable)
- aio_batches:     async for batch in aio.edges(...).batches() on asyncio's default loop

Second part, "one edge at a time" (--wakeups N, 0 to skip): each delivered edge writes the next
record into the line's pipe from the callback / the `async for` body, so the consumer is idle and
waiting each time: the figure (wall ns per edge, best of --runs; one process) is the length of one
wake-up path: the loop noticing the fd, reading, decoding, and reaching the consumer. Subjects:
threaded, aio_callbacks, aio_edges, aio_edges_uvloop, and asyncio_reader (not RPIO: a bare
loop.add_reader callback on asyncio's default loop that reads and decodes; what one turn of that
loop costs).

Ratios are each subject over bare. To compare two versions of rpio_interrupts, run the script with
PYTHONPATH pointing at each one's src/ (the JSON names the module file it measured).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import platform
import select
import struct
import sys
import threading
import time

import rpio_interrupts
from rpio_interrupts import Interruptor, aio
from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, EVENT_SIZE, encode_event

try:
    import uvloop
except ImportError:  # measured when installed
    uvloop = None

GPIO = 17
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
PIPE_BYTES = 1 << 20
# The bare subjects' decoder: the record layout spelt out here, not RPIO's, as a user's own loop would
BARE_UNPACK = struct.Struct("=QIIII24x").iter_unpack
SUBJECTS = ("bare", "threaded", "threaded_event", "aio_callbacks", "aio_edges", "aio_edges_uvloop", "aio_batches")


class _Line:
    def __init__(self, fd: int):
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def get_value(self) -> int:
        return 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Provider:
    """Hands out the read end of the current run's pipe."""

    def __init__(self):
        self.fd = -1

    def request(self, gpio, *, edge, bias, consumer):
        fd, self.fd = self.fd, -1
        return _Line(fd)


class Writer:
    """A child process that writes ``edges`` records into a pipe once told to start."""

    def __init__(self, edges: int):
        self.read_fd, write_fd = os.pipe()
        try:
            fcntl.fcntl(write_fd, F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass
        go_r, self._go = os.pipe()
        ready_r, ready_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                os.close(self.read_fd)
                t = time.monotonic_ns()
                data = b"".join(encode_event(t + i, EDGE_RISING if i % 2 == 0 else EDGE_FALLING, GPIO, i + 1, i + 1)
                                for i in range(edges))
                os.write(ready_w, b"r")
                os.read(go_r, 1)
                view = memoryview(data)
                while view:
                    view = view[os.write(write_fd, view[:EVENT_SIZE * 85]):]  # <= PIPE_BUF: atomic, so only whole records
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        os.close(go_r)
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)

    def start(self) -> tuple[int, int]:
        t = (time.perf_counter_ns(), time.process_time_ns())
        os.write(self._go, b"g")
        return t

    def close(self) -> None:
        os.close(self._go)
        if os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            os.kill(self.pid, 9)  # the run failed before draining the pipe
            os.waitpid(self.pid, 0)


def run_bare(writer: Writer, edges: int) -> int:
    fd = writer.read_fd
    os.set_blocking(fd, False)
    ep = select.epoll()
    ep.register(fd, select.EPOLLIN)
    count = [0]

    def cb(gpio, value):
        count[0] += 1

    unpack = BARE_UNPACK
    t0 = writer.start()
    seen = 0
    while seen < edges:
        ep.poll(1)
        data = os.read(fd, EVENT_SIZE * 1024)  # the writer writes whole records: no partial one
        for _ts, eid, _off, _seq, _lseq in unpack(data):
            cb(GPIO, 1 if eid == EDGE_RISING else 0)
        seen = count[0]
    t1 = _now()
    ep.close()
    os.close(fd)
    return _diff(t1, t0)


def run_threaded(writer: Writer, edges: int, with_event: bool) -> int:
    provider = _Provider()
    provider.fd = writer.read_fd
    done = threading.Event()
    count = [0]
    end = [0]

    def cb(gpio, value, event=None):
        count[0] += 1
        if count[0] == edges:
            end[0] = _now()
            done.set()

    intr = Interruptor(provider)
    try:
        intr.add_interrupt_callback(GPIO, cb, with_event=with_event)
        intr.wait_for_interrupts(threaded=True)
        t0 = writer.start()
        if not done.wait(120):
            raise RuntimeError(f"threaded: {count[0]} of {edges} edges")
    finally:
        intr.cleanup_interrupts()
    return _diff(end[0], t0)


def run_aio_callbacks(writer: Writer, edges: int) -> int:
    provider = _Provider()
    provider.fd = writer.read_fd
    intr = Interruptor(provider)
    count = [0]
    end = [0]

    def cb(gpio, value):
        count[0] += 1
        if count[0] == edges:
            end[0] = _now()
            intr.stop_waiting_for_interrupts()

    async def main():
        intr.add_interrupt_callback(GPIO, cb)
        serving = asyncio.ensure_future(aio.wait_for_interrupts(intr))
        await asyncio.sleep(0)
        t0 = writer.start()
        await asyncio.wait_for(serving, 120)
        return t0

    try:
        t0 = asyncio.run(main())
    finally:
        intr.cleanup_interrupts()
    return _diff(end[0], t0)


def run_aio_edges(writer: Writer, edges: int, use_uvloop: bool, batches: bool = False) -> int:
    provider = _Provider()
    provider.fd = writer.read_fd
    intr = Interruptor(provider)

    async def main():
        seen = 0
        async with aio.edges(GPIO, interruptor=intr) as stream:
            t0 = writer.start()
            if batches:
                async for batch in stream.batches():
                    seen += len(batch)
                    if seen >= edges:
                        break
            else:
                async for _event in stream:
                    seen += 1
                    if seen == edges:
                        break
        return t0, _now()

    if use_uvloop:
        t0, t1 = uvloop.run(main()) if hasattr(uvloop, "run") else _run_uvloop(main)
    else:
        t0, t1 = asyncio.run(main())
    intr.cleanup_interrupts()
    return _diff(t1, t0)


# -- one edge at a time: each delivered edge writes the next one ------------------------------
def _records(count: int) -> list[bytes]:
    return [encode_event(i, EDGE_RISING if i % 2 == 0 else EDGE_FALLING, GPIO, i + 1, i + 1)
            for i in range(count)]


def _piped(count: int) -> tuple[list[bytes], int, Interruptor]:
    """The records, the write end of the pipe they go into, and an Interruptor reading its other end."""
    r, w = os.pipe()
    provider = _Provider()
    provider.fd = r
    return _records(count), w, Interruptor(provider)


def wake_threaded(count: int) -> float:
    recs, w, intr = _piped(count)
    done = threading.Event()
    seen = [0]

    def cb(gpio, value):
        seen[0] += 1
        if seen[0] == count:
            done.set()
        else:
            os.write(w, recs[seen[0]])

    try:
        intr.add_interrupt_callback(GPIO, cb)
        intr.wait_for_interrupts(threaded=True, epoll_timeout=None)
        t0 = time.perf_counter_ns()
        os.write(w, recs[0])
        if not done.wait(120):
            raise RuntimeError(f"threaded: {seen[0]} of {count} edges")
        return (time.perf_counter_ns() - t0) / count
    finally:
        intr.cleanup_interrupts()
        os.close(w)


def wake_aio_callbacks(count: int) -> float:
    recs, w, intr = _piped(count)
    seen = [0]

    def cb(gpio, value):
        seen[0] += 1
        if seen[0] == count:
            intr.stop_waiting_for_interrupts()
        else:
            os.write(w, recs[seen[0]])

    async def main():
        intr.add_interrupt_callback(GPIO, cb)
        t0 = time.perf_counter_ns()
        os.write(w, recs[0])
        await asyncio.wait_for(aio.wait_for_interrupts(intr), 120)
        return (time.perf_counter_ns() - t0) / count

    try:
        return asyncio.run(main())
    finally:
        intr.cleanup_interrupts()
        os.close(w)


def wake_aio_edges(count: int, use_uvloop: bool) -> float:
    recs, w, intr = _piped(count)

    async def main():
        seen = 0
        async with aio.edges(GPIO, interruptor=intr) as stream:
            t0 = time.perf_counter_ns()
            os.write(w, recs[0])
            async for _event in stream:
                seen += 1
                if seen == count:
                    break
                os.write(w, recs[seen])
        return (time.perf_counter_ns() - t0) / count

    try:
        if use_uvloop:
            return uvloop.run(main()) if hasattr(uvloop, "run") else _run_uvloop(main)
        return asyncio.run(main())
    finally:
        intr.cleanup_interrupts()
        os.close(w)


def wake_asyncio_reader(count: int) -> float:
    recs = _records(count)
    r, w = os.pipe()
    unpack = BARE_UNPACK

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        seen = [0]

        def on_readable():
            for _record in unpack(os.read(r, EVENT_SIZE * 256)):
                seen[0] += 1
                if seen[0] == count:
                    loop.remove_reader(r)
                    done.set_result(None)
                    return
                os.write(w, recs[seen[0]])

        loop.add_reader(r, on_readable)
        t0 = time.perf_counter_ns()
        os.write(w, recs[0])
        await asyncio.wait_for(done, 120)
        return (time.perf_counter_ns() - t0) / count

    try:
        return asyncio.run(main())
    finally:
        os.close(r)
        os.close(w)


WAKE_SUBJECTS = {
    "threaded": wake_threaded,
    "asyncio_reader": wake_asyncio_reader,
    "aio_callbacks": wake_aio_callbacks,
    "aio_edges": lambda n: wake_aio_edges(n, False),
    "aio_edges_uvloop": lambda n: wake_aio_edges(n, True),
}


def _now() -> tuple[int, int]:
    return time.perf_counter_ns(), time.process_time_ns()


def _diff(t1: tuple[int, int], t0: tuple[int, int]) -> tuple[int, int]:
    """(wall ns, this process's CPU ns) between two _now() readings."""
    return t1[0] - t0[0], t1[1] - t0[1]


def _run_uvloop(main):
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def measure(subject: str, edges: int) -> tuple[int, int]:
    writer = Writer(edges)
    try:
        if subject == "bare":
            return run_bare(writer, edges)
        if subject == "threaded":
            return run_threaded(writer, edges, False)
        if subject == "threaded_event":
            return run_threaded(writer, edges, True)
        if subject == "aio_callbacks":
            return run_aio_callbacks(writer, edges)
        if subject == "aio_edges":
            return run_aio_edges(writer, edges, False)
        if subject == "aio_edges_uvloop":
            return run_aio_edges(writer, edges, True)
        if subject == "aio_batches":
            return run_aio_edges(writer, edges, False, batches=True)
        raise ValueError(subject)
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5, help="runs per subject (interleaved); best kept")
    ap.add_argument("--subjects", default=",".join(SUBJECTS))
    ap.add_argument("--wakeups", type=int, default=20_000,
                    help="edges of the one-edge-at-a-time part (0: skip it)")
    args = ap.parse_args(argv)
    subjects = [s for s in args.subjects.split(",") if s and (s != "aio_edges_uvloop" or uvloop)]
    best: dict[str, float] = {}
    best_wall: dict[str, float] = {}
    all_runs: dict[str, list[float]] = {s: [] for s in subjects}
    for _ in range(args.runs):
        for s in subjects:  # interleaved: a noisy moment of the machine hits every subject
            wall, cpu = measure(s, args.edges)
            ns = cpu / args.edges
            all_runs[s].append(round(ns, 1))
            best[s] = min(best.get(s, ns), ns)
            best_wall[s] = min(best_wall.get(s, wall / args.edges), wall / args.edges)
    floor = best.get("bare")
    result = {
        "bench": "edge_path",
        "rpio_interrupts": os.path.dirname(rpio_interrupts.__file__),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "uvloop": getattr(uvloop, "__version__", None),
        "edges_per_run": args.edges,
        "note": "ns_per_edge: CPU time of this process (every thread) per edge, best of the runs; "
                "wall_ns_per_edge: wall time per edge, best of the runs (the writer is another process)",
        "ns_per_edge": {s: round(v, 1) for s, v in best.items()},
        "wall_ns_per_edge": {s: round(v, 1) for s, v in best_wall.items()},
        "runs_ns_per_edge": all_runs,
        "ratios_over_bare": {s: round(v / floor, 2) for s, v in best.items() if floor and s != "bare"},
    }
    if args.wakeups > 0:
        wake: dict[str, float] = {}
        names = [n for n in WAKE_SUBJECTS if n != "aio_edges_uvloop" or uvloop]
        for _ in range(args.runs):
            for name in names:
                wake[name] = min(wake.get(name, float("inf")), WAKE_SUBJECTS[name](args.wakeups))
        result["one_at_a_time_ns_per_edge"] = {n: round(v, 1) for n, v in wake.items()}
        result["one_at_a_time_ratios_over_threaded"] = {
            n: round(v / wake["threaded"], 2) for n, v in wake.items() if n != "threaded"}
    if "threaded" in best:
        result["ratios_over_threaded"] = {s: round(v / best["threaded"], 2) for s, v in best.items()
                                          if s.startswith("aio")}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
