"""TCP limits a hostile or broken client meets: a flood into a slow threaded callback (the queue's
byte budget and back-pressure), idle clients holding every place, a peer that vanished."""

from __future__ import annotations

import logging
import pathlib
import select
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
from intr_helpers import WAIT, Recorder, connect, read_until
from rpio_interrupts import InvalidArgumentError

SERVER = pathlib.Path(__file__).with_name("tcp_flood_server.py")
FLOODERS = 64
FLOOD_CAP = 192 * 1024 * 1024  # bytes the flooders try to push in total
RSS_BOUND_KB = 64 * 1024  # peak RSS above idle; without the budget the server queues ~all of the flood


def ping(sock: socket.socket, text: str = "ping", answer: bytes | None = None) -> None:
    sock.sendall(text.encode())
    expected = answer if answer is not None else b"echo: %s\n" % text.encode()
    assert read_until(sock, b"\n") == expected


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def flood(port: int, total: list[int], halfway: threading.Event) -> None:
    """64 clients send as fast as the server lets them, until FLOOD_CAP bytes left in total or no
    client could send for a second (the server stopped reading all of them)."""
    socks = []
    for _ in range(FLOODERS):
        s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        s.setblocking(False)
        socks.append(s)
    payload = b"x" * 65536
    ends = time.monotonic() + 20  # an end to the flood, not a measurement
    try:
        while total[0] < FLOOD_CAP and time.monotonic() < ends:
            _, writable, _ = select.select([], socks, [], 1.0)
            if not writable:
                break  # every flooder is held back by TCP flow control
            for s in writable:
                try:
                    total[0] += s.send(payload)
                except BlockingIOError:
                    pass
            if total[0] >= FLOOD_CAP // 2:
                halfway.set()
    finally:
        halfway.set()
        for s in socks:
            s.close()


def test_flood_into_a_slow_threaded_callback_keeps_memory_bounded_and_serves_others():
    proc = subprocess.Popen([sys.executable, str(SERVER), "0.05"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        idle_kb = status_kb(proc.pid, "VmRSS")
        total, halfway = [0], threading.Event()
        flooder = threading.Thread(target=flood, args=(port, total, halfway))
        flooder.start()
        assert halfway.wait(60)
        with socket.create_connection(("127.0.0.1", port), timeout=60) as good:
            good.settimeout(60)  # served behind one message of each flooder (round robin)
            ping(good, answer=b"pong\n")
            peak_kb = status_kb(proc.pid, "VmHWM")
            ping(good, answer=b"pong\n")
            flooder.join(60)
            assert not flooder.is_alive()
            peak_kb = status_kb(proc.pid, "VmHWM")
        out, _ = proc.communicate("", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    grown_kb = peak_kb - idle_kb
    print(f"flood: {total[0] >> 20} MiB sent by {FLOODERS} clients; server RSS {idle_kb >> 10} MiB idle, "
          f"peak +{grown_kb >> 10} MiB; {out.strip()}")
    assert grown_kb < RSS_BOUND_KB, f"the server grew by {grown_kb >> 10} MiB under the flood"


def until(predicate, what: str) -> None:
    """Wait (up to WAIT seconds) for ``predicate()``, which looks at state another thread changes."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


COST = 1000 + 512  # a 1000-byte message as the budget counts it


def test_client_over_its_budget_is_not_read_until_its_queue_drains(running):
    gate = threading.Event()
    got = Recorder()

    def cb(client, message):
        gate.wait(WAIT)
        got(message)

    port = running.add_tcp_callback(0, cb, threaded_callback=True, encoding=None, max_message=1000,
                                    max_queued=3 * COST, max_queued_total=1 << 20)
    with connect(port) as c:
        stream = bytes(range(250)) * 40  # 10 messages of 1000 bytes
        c.sendall(stream)
        until(lambda: running.tcp_clients(port) and not running.tcp_clients(port)[0].reading,
              "the client to be paused")
        (client,) = running.tcp_clients(port)
        assert client.queued == 3 * COST  # read up to the budget, the rest waits in the kernel
        assert got.calls == []
        gate.set()
        got.wait_for(10)
        assert b"".join(m for (m,) in got.calls) == stream  # nothing lost, in order
        until(lambda: client.queued == 0 and client.reading, "the queue to drain")


def test_total_budget_pauses_busy_clients_and_still_reads_a_quiet_one(running):
    gate = threading.Event()
    got = Recorder()

    def cb(client, message):
        if message != b"quiet":
            gate.wait(WAIT)
        got(message)

    port = running.add_tcp_callback(0, cb, threaded_callback=True, encoding=None, max_message=1000,
                                    max_queued=1 << 20, max_queued_total=4 * COST)
    busy = [connect(port) for _ in range(3)]
    try:
        for s in busy:
            s.sendall(b"z" * 5000)
        until(lambda: len(running.tcp_clients(port)) == 3
              and not any(c.reading for c in running.tcp_clients(port)), "every busy client paused")
        assert sum(c.queued for c in running.tcp_clients(port)) <= 4 * COST + 3 * COST
        with connect(port) as quiet:  # nothing queued: it may always have one message queued
            quiet.sendall(b"quiet")
            until(lambda: (b"quiet",) in got.calls, "the quiet client's message")
        gate.set()
        got.wait_for(16)
        assert sum(len(m) for (m,) in got.calls) == 15000 + len(b"quiet")
    finally:
        gate.set()
        for s in busy:
            s.close()


# -- idle clients at the client limit ---------------------------------------------------------------
def echo(client, message):
    client.send("echo: %s\n" % message)


def wait_closed(sock: socket.socket) -> None:
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass


def test_at_the_limit_a_newcomer_takes_the_place_of_the_longest_silent_client(running, caplog):
    caplog.set_level(logging.INFO, logger="RPIO")
    port = running.add_tcp_callback(0, echo, max_clients=2, idle_timeout=0)
    a, b = connect(port), connect(port)
    ping(a, "a")
    ping(b, "b")  # a has now been silent the longest
    with connect(port) as c:
        ping(c, "c")
        wait_closed(a)
        ping(b, "b again")
    lines = [r.getMessage() for r in caplog.records if "to make room" in r.getMessage()]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "silent for" in lines[0]
    a.close()
    b.close()


def test_clients_silent_for_less_than_idle_timeout_keep_their_place(running):
    port = running.add_tcp_callback(0, echo, max_clients=1, idle_timeout=3600)
    with connect(port) as a:
        ping(a, "a")
        with connect(port) as late:
            wait_closed(late)
        ping(a, "still here")


def test_idle_clients_lock_out_newcomers_no_longer_than_idle_timeout(running):
    port = running.add_tcp_callback(0, echo, max_clients=1, idle_timeout=0.2)
    a = connect(port)
    ping(a, "a")
    served = None
    deadline = time.monotonic() + WAIT
    while served is None and time.monotonic() < deadline:
        s = connect(port)
        try:
            ping(s, "newcomer")
            served = s
        except (AssertionError, ConnectionError):
            s.close()  # refused: a is not silent for long enough yet
            time.sleep(0.05)
    assert served is not None, "idle client kept the only place"
    wait_closed(a)
    served.close()
    a.close()


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "60", True])
def test_bad_idle_timeout(loop, value):
    with pytest.raises(InvalidArgumentError, match="idle_timeout"):
        loop.add_tcp_callback(0, echo, idle_timeout=value)
    assert loop.tcp_ports() == []


@pytest.mark.parametrize("name", ["max_queued", "max_queued_total"])
def test_bad_queue_budgets(loop, name):
    for value in (0, -5, 1.5, True):
        with pytest.raises(InvalidArgumentError, match=name):
            loop.add_tcp_callback(0, echo, **{name: value})
    assert loop.tcp_ports() == []


# -- a peer that vanished ------------------------------------------------------------------------------
def test_send_to_a_reset_peer_raises_broken_pipe_error(running):
    entered, outcome = Recorder(), Recorder()

    def cb(client, message):
        entered(message)
        poller = select.poll()  # wait (in the loop thread, so it cannot notice first) for the RST
        poller.register(client.socket, select.POLLIN)
        poller.poll(WAIT * 1000)
        for _ in range(2):  # the kernel's first answer is ECONNRESET, the next EPIPE
            try:
                client.send(b"too late")
            except Exception as exc:  # noqa: BLE001 - the type is what is tested
                outcome(type(exc), exc.errno, type(exc.__cause__), client.closed)

    port = running.add_tcp_callback(0, cb)
    c = connect(port)
    c.sendall(b"hello")
    entered.wait_for(1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # RST
    (first, second) = outcome.wait_for(2)
    assert first[0] is BrokenPipeError and first[1] == 32 and first[3]
    assert first[2] is ConnectionResetError  # the kernel's own error, kept as the cause
    assert second[0] is BrokenPipeError
    assert running.tcp_clients(port) == []

