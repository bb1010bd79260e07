"""TCP callbacks of rpio-interrupts against an asyncio streams echo server, in the same run. JSON out.

    python bench/tcp.py [--messages N] [--pairs P] [--clients 1000,10000] [--idle SECONDS]

Each server runs in its own process (so the client driver never shares its GIL) and echoes
every message stripped, plus a newline:
- rpio: an Interruptor with one add_tcp_callback(), wait_for_interrupts() blocking;
- asyncio: asyncio.start_server() with a reader/writer coroutine per client.
Measured, on loopback only, with bounded loops:
- echo: P clients each doing request/response round trips, N messages in all; messages per
  second, and the server's CPU time per message (from /proc/<pid>/stat);
- concurrent: 1,000 then 10,000 clients connected at once, each then sending one message and
  reading the echo; seconds for the whole round and whether every client was served. The
  RLIMIT_NOFILE soft limit is raised to the hard limit; a point that does not fit is skipped with
  a note;
- idle: CPU seconds used by a threaded wait_for_interrupts() (default epoll_timeout=1) with a
  TCP server and a GPIO line registered, over --idle seconds of wall time.
Ratios: rpio over asyncio (messages/s: > 1 is faster; seconds and CPU: < 1 is better).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time

LINGER_RST = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT pile-up across rounds


# -- the servers (run as `python bench/tcp.py serve rpio|asyncio`) ----------------------------
def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def serve_rpio() -> None:
    from rpio_interrupts import Interruptor

    intr = Interruptor()

    def echo(client, message):
        client.send(message + "\n")

    port = intr.add_tcp_callback(0, echo, max_clients=1_000_000, max_outbuf=16 * 1024 * 1024)
    print(port, flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), intr.stop_waiting_for_interrupts()),
                     daemon=True).start()
    intr.wait_for_interrupts()
    intr.cleanup_interrupts()


def serve_asyncio() -> None:
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                message = data.decode("utf-8", "surrogateescape").strip()
                if not message:
                    break
                writer.write((message + "\n").encode("utf-8", "surrogateescape"))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=socket.SOMAXCONN)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
        async with server:
            await done

    asyncio.run(main())


# -- the driver -----------------------------------------------------------------------------
class Server:
    def __init__(self, kind: str):
        self.kind = kind
        self.proc = subprocess.Popen([sys.executable, __file__, "serve", kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"{kind} server did not start")
        self.port = int(line)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def connect_all(port: int, count: int, in_flight: int = 256, timeout: float = 120.0) -> list[socket.socket]:
    """Open ``count`` connections, at most ``in_flight`` handshakes at a time."""
    ep = select.epoll()
    pending: dict[int, socket.socket] = {}
    done: list[socket.socket] = []
    started = 0
    deadline = time.monotonic() + timeout
    try:
        while len(done) < count:
            while started < count and len(pending) < in_flight:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
                err = s.connect_ex(("127.0.0.1", port))
                if err not in (0, 115):  # EINPROGRESS
                    s.close()
                    raise OSError(err, os.strerror(err))
                pending[s.fileno()] = s
                ep.register(s.fileno(), select.EPOLLOUT)
                started += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(done)} of {count} connected")
            for fd, _ in ep.poll(1.0):
                s = pending.pop(fd)
                ep.unregister(fd)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    s.close()
                    raise OSError(err, os.strerror(err))
                done.append(s)
    except BaseException:
        for s in list(pending.values()) + done:
            s.close()
        raise
    finally:
        ep.close()
    return done


def round_trips(socks: list[socket.socket], per_socket: int, timeout: float = 300.0) -> int:
    """Each socket sends a message, waits for the echoed line, ``per_socket`` times. Returns the
    number of answers received."""
    ep = select.epoll()
    state = {s.fileno(): [s, 0, b""] for s in socks}
    answered = 0
    for s in socks:
        s.send(b"ping %d\n" % s.fileno())
        ep.register(s.fileno(), select.EPOLLIN)
    active = len(socks)
    deadline = time.monotonic() + timeout
    try:
        while active:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{answered} answers, {active} sockets still waiting")
            for fd, _ in ep.poll(1.0):
                entry = state[fd]
                data = entry[0].recv(65536)
                if not data:
                    raise ConnectionError("server closed a client")
                entry[2] += data
                if not entry[2].endswith(b"\n"):
                    continue
                entry[2] = b""
                entry[1] += 1
                answered += 1
                if entry[1] >= per_socket:
                    ep.unregister(fd)
                    active -= 1
                else:
                    entry[0].send(b"ping %d\n" % fd)
    finally:
        ep.close()
    return answered


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


def bench_echo(server: Server, pairs: int, messages: int) -> dict:
    socks = connect_all(server.port, pairs)
    for s in socks:
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        round_trips(socks, 10)  # warm up
        per = max(1, messages // pairs)
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        answered = round_trips(socks, per)
        elapsed, cpu = time.perf_counter() - t0, server.cpu_seconds() - cpu0
    finally:
        close_all(socks)
    return {"messages": answered, "seconds": round(elapsed, 4),
            "messages_per_s": round(answered / elapsed), "server_cpu_us_per_message":
            round(cpu / answered * 1e6, 2)}


def bench_concurrent(server: Server, count: int) -> dict:
    t0 = time.perf_counter()
    socks = connect_all(server.port, count)
    connected = time.perf_counter() - t0
    try:
        answered = round_trips(socks, 1)
        elapsed = time.perf_counter() - t0
    finally:
        close_all(socks)
    return {"clients": count, "connect_seconds": round(connected, 3),
            "seconds": round(elapsed, 3), "all_served": answered == count}


def bench_idle(seconds: float) -> dict:
    from rpio_interrupts import Interruptor

    class IdleLine:  # a line that never fires, as a quiet input pin does
        def __init__(self):
            self.r, self.w = os.pipe()

        def fileno(self):
            return self.r

        def get_value(self):
            return 0

        def close(self):
            for fd in (self.r, self.w):
                try:
                    os.close(fd)
                except OSError:
                    pass

    class IdleProvider:
        def request(self, gpio, *, edge, bias, consumer):
            return IdleLine()

    intr = Interruptor(IdleProvider())
    intr.add_interrupt_callback(17, lambda g, v: None)
    intr.add_tcp_callback(0, lambda c, m: None)
    intr.wait_for_interrupts(threaded=True)
    time.sleep(0.05)  # let the loop reach its first epoll wait
    before = resource.getrusage(resource.RUSAGE_THREAD)  # this (main) thread's own CPU
    start_all = time.process_time()
    start = time.monotonic()
    threading.Event().wait(seconds)
    wall = time.monotonic() - start
    total_cpu = time.process_time() - start_all
    after = resource.getrusage(resource.RUSAGE_THREAD)
    main_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    intr.cleanup_interrupts()
    loop_cpu = max(0.0, total_cpu - main_cpu)
    return {"seconds": round(wall, 2), "loop_cpu_seconds": round(loop_cpu, 6),
            "cpu_percent": round(loop_cpu / wall * 100, 4), "epoll_timeout": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000, help="echo round trips in all")
    parser.add_argument("--pairs", type=int, default=16, help="clients doing round trips at once")
    parser.add_argument("--clients", default="1000,10000", help="concurrent-client points")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle loop to measure")
    args = parser.parse_args(argv)

    soft, hard = raise_nofile()
    points = [int(p) for p in args.clients.split(",") if p]
    result: dict = {"benchmark": "tcp", "python": platform.python_version(),
                    "machine": platform.machine(), "cpus": os.cpu_count(),
                    "rlimit_nofile": [soft, hard], "echo": {}, "concurrent": {}, "notes": []}
    for kind in ("rpio", "asyncio"):
        server = Server(kind)
        try:
            result["echo"][kind] = bench_echo(server, args.pairs, args.messages)
            for count in points:
                if count + 64 > soft:
                    result["notes"].append(f"{count} clients skipped: RLIMIT_NOFILE is {soft}/{hard}")
                    continue
                result["concurrent"].setdefault(str(count), {})[kind] = bench_concurrent(server, count)
        finally:
            server.close()
    result["idle"] = bench_idle(args.idle)

    echo = result["echo"]
    ratios = {"echo_messages_per_s_rpio_over_asyncio":
              round(echo["rpio"]["messages_per_s"] / echo["asyncio"]["messages_per_s"], 3),
              "echo_server_cpu_rpio_over_asyncio":
              round(echo["rpio"]["server_cpu_us_per_message"] /
                    echo["asyncio"]["server_cpu_us_per_message"], 3)}
    for count, pair in result["concurrent"].items():
        ratios[f"concurrent_{count}_seconds_rpio_over_asyncio"] = round(
            pair["rpio"]["seconds"] / pair["asyncio"]["seconds"], 3)
    result["ratios"] = ratios
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        raise_nofile()
        {"rpio": serve_rpio, "asyncio": serve_asyncio}[sys.argv[2]]()
        sys.exit(0)
    sys.exit(main())
