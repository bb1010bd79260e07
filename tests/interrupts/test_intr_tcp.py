"""TCP socket interrupts on the loop, with real loopback clients."""

from __future__ import annotations

import errno
import logging
import socket
import struct
import threading
import time

import pytest
from intr_helpers import WAIT, Recorder, Sequence, connect, read_until
from rpio_interrupts import (
    ConflictError,
    InvalidArgumentError,
    InvalidCallbackError,
    NotRegisteredError,
    TcpClient,
    TcpSendLimitError,
)


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} bytes")
        data += chunk
    return bytes(data)


def wait_closed(sock: socket.socket) -> None:
    """The server closed the connection: EOF (or a reset) with no further data."""
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass


def echo(client, message):
    client.send("echo: %s\n" % message)


# -- the basics -------------------------------------------------------------------------------
def test_echo_with_str_messages_and_str_send(running):
    got = Recorder()

    def cb(client, message):
        got(type(client), message)
        echo(client, message)

    port = running.add_tcp_callback(0, cb)
    with connect(port) as c:
        c.sendall(b"  hello world \r\n")
        assert read_until(c, b"\n") == b"echo: hello world\n"
        c.sendall("grüße\n".encode())
        assert read_until(c, b"\n") == "echo: grüße\n".encode()
    assert got.calls[:2] == [(TcpClient, "hello world"), (TcpClient, "grüße")]


@pytest.mark.parametrize("payload", [b"\r\n", b"   \t\n"])
def test_empty_or_whitespace_message_closes_the_client(running, payload):
    cb = Recorder()
    port = running.add_tcp_callback(0, cb)
    with connect(port) as c:
        c.sendall(payload)
        wait_closed(c)
    assert cb.calls == []


def test_client_hang_up_is_noticed(running):
    port = running.add_tcp_callback(0, echo)
    with connect(port) as c:
        c.sendall(b"x")
        read_until(c, b"\n")
        assert len(running.tcp_clients(port)) == 1
    deadline = time.monotonic() + WAIT
    while running.tcp_clients(port) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert running.tcp_clients(port) == []


def test_close_tcp_client_from_the_callback(running):
    filenos = []

    def cb(client, message):
        filenos.append(client.fileno())
        client.send("bye\n")
        running.close_tcp_client(client.fileno())
        assert client.closed and client.fileno() == -1

    port = running.add_tcp_callback(0, cb)
    with connect(port) as c:
        c.sendall(b"hi")
        assert read_until(c, b"\n") == b"bye\n"
        wait_closed(c)
    with pytest.raises(NotRegisteredError, match="fileno") as info:
        running.close_tcp_client(filenos[0])
    assert isinstance(info.value, KeyError)


def test_client_wrapper_surface(running):
    seen = {}

    def cb(client, message):
        seen["peer"] = client.getpeername()
        seen["name"] = client.getsockname()
        seen["repr"] = repr(client)
        seen["port"] = client.port
        assert client.send(b"b") == 1 and client.send(bytearray(b"y")) == 1
        assert client.sendall(memoryview(b"te\n")) is None
        with pytest.raises(TypeError, match="str or a bytes-like"):
            client.send(42)

    port = running.add_tcp_callback(0, cb)
    with connect(port) as c:
        c.sendall(b"?")
        assert read_until(c, b"\n") == b"byte\n"
        assert seen["peer"] == c.getsockname()
        assert seen["name"] == ("127.0.0.1", port) == (seen["name"][0], seen["port"])
        assert "TcpClient" in seen["repr"]


def test_bytes_mode_and_undecodable_input_round_trips(running):
    raw = Recorder()
    p_bytes = running.add_tcp_callback(0, lambda c, m: (raw(m), c.send(m + b"\n")), encoding=None)
    p_text = running.add_tcp_callback(0, lambda c, m: c.send(m + "\n"))
    with connect(p_bytes) as a, connect(p_text) as b:
        a.sendall(b"\xff\xfe data \n")
        assert read_until(a, b"\n") == b"\xff\xfe data\n"
        b.sendall(b"\xff\xfe data \n")  # not UTF-8: surrogateescape keeps every byte
        assert read_until(b, b"\n") == b"\xff\xfe data\n"
    assert raw.calls == [(b"\xff\xfe data",)]


def test_default_bind_is_loopback_and_all_interfaces_on_request(loop):
    p1 = loop.add_tcp_callback(0, echo)
    p2 = loop.add_tcp_callback(0, echo, bind="")
    servers = {s.port: s for s in (loop._servers[p1], loop._servers[p2])}
    assert servers[p1].sock.getsockname()[0] == "127.0.0.1"
    assert servers[p2].sock.getsockname()[0] == "0.0.0.0"
    assert loop.tcp_ports() == sorted([p1, p2])


# -- registration errors ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc", [
    ({"port": -1}, InvalidArgumentError),
    ({"port": 70000}, InvalidArgumentError),
    ({"port": "80"}, InvalidArgumentError),
    ({"callback": None}, InvalidCallbackError),
    ({"max_clients": 0}, InvalidArgumentError),
    ({"max_message": 0}, InvalidArgumentError),
    ({"encoding": "no-such-codec"}, InvalidArgumentError),
    ({"bind": None}, InvalidArgumentError),
])
def test_bad_tcp_arguments(loop, kwargs, exc):
    args = {"port": 0, "callback": echo}
    args.update(kwargs)
    with pytest.raises(exc) as info:
        loop.add_tcp_callback(**args)
    assert isinstance(info.value, AttributeError)  # RPIO 0.10 raised AttributeError
    assert loop.tcp_ports() == []


def test_port_conflicts_leave_state_unchanged(loop):
    port = loop.add_tcp_callback(0, echo)
    with pytest.raises(ConflictError, match=str(port)):
        loop.add_tcp_callback(port, echo)
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        with pytest.raises(OSError) as info:
            loop.add_tcp_callback(other.getsockname()[1], echo)
        assert info.value.errno == errno.EADDRINUSE
    finally:
        other.close()
    assert loop.tcp_ports() == [port]


def test_remove_tcp_callback_closes_server_and_clients(running):
    port = running.add_tcp_callback(0, echo)
    with connect(port) as c:
        c.sendall(b"a")
        read_until(c, b"\n")
        running.remove_tcp_callback(port)
        wait_closed(c)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    with pytest.raises(NotRegisteredError, match="port"):
        running.remove_tcp_callback(port)
    assert running.add_tcp_callback(port, echo) == port  # the port can be used again


# -- limits -----------------------------------------------------------------------------------
def test_client_limit_refuses_extra_clients_with_one_log_line(running, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    port = running.add_tcp_callback(0, echo, max_clients=2)
    a, b = connect(port), connect(port)
    for c in (a, b):
        c.sendall(b"x")
        read_until(c, b"\n")
    extra = [connect(port) for _ in range(3)]
    for c in extra:
        wait_closed(c)
        c.close()
    lines = [r for r in caplog.records if "client limit" in r.getMessage()]
    assert len(lines) == 1 and "port %d" % port in lines[0].getMessage()
    a.close()
    deadline = time.monotonic() + WAIT
    while len(running.tcp_clients(port)) > 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    with connect(port) as c:  # a place is free again
        c.sendall(b"y")
        assert read_until(c, b"\n") == b"echo: y\n"
    b.close()


def test_output_limit_closes_a_slow_reader(running, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    outcome = Recorder()

    def cb(client, message):
        try:
            for _ in range(64):
                client.send(b"z" * 1024 * 1024)  # the peer never reads
        except TcpSendLimitError as exc:
            outcome(exc, client.closed)

    port = running.add_tcp_callback(0, cb, max_outbuf=256 * 1024)
    with connect(port) as c:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sendall(b"go")
        ((exc, closed),) = outcome.wait_for(1)
        assert isinstance(exc, BrokenPipeError) and closed
        assert "slow reader" in str(exc)
    assert any("slow reader" in r.getMessage() for r in caplog.records)


def test_messages_are_at_most_max_message_bytes(running):
    sizes = Sequence()
    port = running.add_tcp_callback(0, lambda c, m: sizes.add(len(m)), max_message=1000)
    with connect(port) as c:
        c.sendall(b"q" * 5000)
        sizes.wait_until(lambda items: sum(items) >= 5000)
    assert max(sizes.items) <= 1000 and sum(sizes.items) == 5000


# -- robustness: nothing one client does stalls the others -----------------------------------------
def ping(c: socket.socket, text: str) -> None:
    c.sendall(text.encode() + b"\n")
    assert read_until(c, b"\n") == ("echo: %s\n" % text).encode()


def test_reset_client_does_not_disturb_others(running):
    port = running.add_tcp_callback(0, echo)
    with connect(port) as good:
        ping(good, "before")
        bad = connect(port)
        ping(bad, "me too")
        bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        bad.close()  # RST
        for i in range(5):
            ping(good, "after %d" % i)


def test_half_closed_client_gets_its_answer_then_is_closed(running):
    port = running.add_tcp_callback(0, echo)
    with connect(port) as c:
        c.sendall(b"last words")
        c.shutdown(socket.SHUT_WR)
        assert read_until(c, b"\n") == b"echo: last words\n"
        wait_closed(c)
    with connect(port) as other:
        ping(other, "still serving")


def test_one_megabyte_burst_while_another_client_is_served(running):
    received = Sequence()

    def cb(client, message):
        if message.startswith("x"):
            received.add(len(message))
        else:
            echo(client, message)

    port = running.add_tcp_callback(0, cb)
    big = connect(port)
    small = connect(port)
    sender = threading.Thread(target=big.sendall, args=(b"x" * (1024 * 1024),))
    sender.start()
    for i in range(50):
        ping(small, "ping %d" % i)
    sender.join(WAIT)
    received.wait_until(lambda items: sum(items) >= 1024 * 1024)
    assert sum(received.items) == 1024 * 1024
    assert max(received.items) <= 64 * 1024
    big.close()
    small.close()


def test_trickling_client_does_not_stall_others(running):
    port = running.add_tcp_callback(0, echo)
    slow = connect(port)
    slow.sendall(b"a")  # one byte, then silence in the middle of a "line"
    assert read_until(slow, b"\n") == b"echo: a\n"
    with connect(port) as fast:
        for i in range(50):
            ping(fast, "n%d" % i)
    slow.sendall(b"b")
    assert read_until(slow, b"\n") == b"echo: b\n"
    slow.close()


def test_threaded_tcp_callbacks_keep_order_per_client(provider):
    from rpio_interrupts import Interruptor

    streams = {n: b",".join(b"%d-%d" % (n, i) for i in range(200)) for n in range(4)}
    got: dict[int, list[bytes]] = {n: [] for n in streams}
    done = Sequence()

    def cb(client, message):
        key = client.getpeername()
        if message.endswith((b"7", b"3")):
            time.sleep(0.001)  # uneven work so the workers interleave
        chunks = got[owner[key]]
        chunks.append(message)
        if sum(map(len, chunks)) == len(streams[owner[key]]):
            done.add(owner[key])

    with Interruptor(provider, max_workers=3) as intr:
        # 8-byte messages: every stream becomes many messages queued behind one another
        port = intr.add_tcp_callback(0, cb, threaded_callback=True, encoding=None, max_message=8)
        intr.wait_for_interrupts(threaded=True)
        clients = {n: connect(port) for n in streams}
        owner = {c.getsockname(): n for n, c in clients.items()}
        for n, c in clients.items():
            c.sendall(streams[n])
        assert sorted(done.wait_for(4)) == [0, 1, 2, 3]
        for n, stream in streams.items():
            assert b"".join(got[n]) == stream
            assert len(got[n]) > 100
        workers = {t.name for t in threading.enumerate() if t.name.startswith("RPIO-callback")}
        assert 1 <= len(workers) <= 3
        for c in clients.values():
            c.close()


def test_send_from_a_threaded_callback_after_partial_writes(running):
    """Large replies are queued and flushed by the loop, in order."""
    blob = bytes(range(256)) * 4096  # 1 MiB

    def cb(client, message):
        client.send(blob)
        client.send(b"END")

    port = running.add_tcp_callback(0, cb, threaded_callback=True, max_outbuf=4 * len(blob))
    with connect(port) as c:
        c.sendall(b"send")
        data = read_exactly(c, len(blob) + 3)
    assert data[:-3] == blob and data[-3:] == b"END"
