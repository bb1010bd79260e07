"""The board page against hostile clients (issue 10, finding 7): DNS rebinding (forged Host and
Origin headers, on loopback and on a network address), many half-sent requests, deep and huge
bodies, clients that vanish mid-request. Raw sockets, as an attacker would send them."""

import json
import os
import select
import shutil
import socket
import subprocess
import threading

import pytest

import RPIO.sim
from RPIO.workbench import server as server_module
from RPIO.workbench.server import BoardServer, HostPolicy, json_depth, split_host
from wb_helpers import PYTHON, poll, subprocess_env


def raw(port, data: bytes, host="127.0.0.1", timeout=10.0) -> bytes:
    """Send bytes, read the whole answer (the server closes after each request)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


def post(port, host_header, body, origin=None, connect="127.0.0.1") -> int:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    head = (f"POST /api/drive HTTP/1.1\r\nHost: {host_header}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n")
    if origin is not None:
        head += f"Origin: {origin}\r\n"
    return status_of(raw(port, head.encode() + b"\r\n" + data, connect))


def get(port, host_header, path="/api/board", connect="127.0.0.1") -> int:
    return status_of(raw(port, f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode(),
                         connect))


# -- the Host allow-list ---------------------------------------------------------------------


def test_host_headers_are_parsed_strictly():
    assert split_host("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert split_host("[::1]:80") == ("::1", 80)
    assert split_host("Pi.Local.") == ("pi.local", None)
    for bad in ("", ":80", "[::1", "[evil]:80", "::1:80", "a:b", "a:123456", "[::1]x"):
        with pytest.raises(ValueError):
            split_host(bad)


def test_a_loopback_bind_takes_loopback_names_only():
    policy = HostPolicy("127.0.0.1", 8765)
    for good in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert policy.allows(good), good
    for bad in ("evil.example:8765", "127.0.0.1:9999", "127.0.0.1", "192.168.1.5:8765",
                socket.gethostname() + ":8765", None, ""):
        assert not policy.allows(bad), bad
    assert HostPolicy("127.0.0.1", 80).allows("localhost")  # no port: 80
    assert HostPolicy("127.0.0.1", 8765, ["pi.example"]).allows("pi.example:8765")


def test_a_network_bind_takes_its_address_this_machine_s_names_and_allowed_ones():
    policy = HostPolicy("192.0.2.1", 8765, ["bench.example"])
    hostname = socket.gethostname()
    for good in ("192.0.2.1:8765", f"{hostname}:8765", f"{hostname.split('.')[0]}.local:8765",
                 "bench.example:8765", "BENCH.example.:8765"):
        assert policy.allows(good), good
    for bad in ("evil.example:8765", "192.0.2.2:8765", "localhost:8765", "bench.example:1"):
        assert not policy.allows(bad), bad
    wildcard = HostPolicy("0.0.0.0", 8765)  # any address of the machine: IP literals are safe
    assert wildcard.allows("10.1.2.3:8765") and wildcard.allows("localhost:8765")
    assert not wildcard.allows("evil.example:8765")


def test_forged_host_and_origin_are_refused_on_loopback():
    with BoardServer(port=0) as server:
        port = server.port
        evil = f"evil.example:{port}"
        assert get(port, evil) == 421
        assert get(port, evil, "/") == 421
        assert post(port, evil, {"gpio": 17, "level": 1}, origin=f"http://{evil}") == 421
        ours = f"127.0.0.1:{port}"
        assert post(port, ours, {"gpio": 17, "level": 1}, origin=f"http://{evil}") == 403
        assert post(port, ours, {"gpio": 17, "level": 1}, origin="null") == 403
        assert post(port, ours, {"gpio": 17, "level": 1}, origin=f"http://localhost:{port}") == 403
        assert RPIO.sim.chip().pin_state(17).drive is None  # nothing above drove it
        assert post(port, ours, {"gpio": 17, "level": 1}, origin=f"http://{ours}") == 200
        assert RPIO.sim.chip().pin_state(17).drive == 1


ATTACK = r"""
import json, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"], check=True)
sys.path.insert(0, sys.argv[1])
import RPIO.sim
from RPIO.workbench.server import BoardServer
from test_wb_hostile import get, post

results = {}
for bind, allow in (("192.0.2.1", ["pi.example"]), ("0.0.0.0", [])):
    RPIO.sim.use_board("c03111")
    with BoardServer(host=bind, port=0, allow_writes=True, allow_hosts=allow) as server:
        port = server.port
        evil = f"evil.example:{port}"
        ours = f"192.0.2.1:{port}"
        r = results[bind] = {}
        r["get evil"] = get(port, evil, connect="192.0.2.1")
        r["post evil"] = post(port, evil, {"gpio": 17, "level": 1}, origin=f"http://{evil}",
                              connect="192.0.2.1")
        r["post evil origin"] = post(port, ours, {"gpio": 17, "level": 1},
                                     origin=f"http://{evil}", connect="192.0.2.1")
        r["drive after attacks"] = RPIO.sim.chip().pin_state(17).drive
        r["get ours"] = get(port, ours, connect="192.0.2.1")
        r["post ours"] = post(port, ours, {"gpio": 18, "level": 1}, origin=f"http://{ours}",
                              connect="192.0.2.1")
        r["get allowed name"] = get(port, f"pi.example:{port}", connect="192.0.2.1")
        r["get hostname"] = get(port, f"{socket.gethostname()}:{port}", connect="192.0.2.1")
print(json.dumps(results))
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None
                    or shutil.which("ip") is None,
                    reason="a network bind is tested in a private network namespace: needs root, "
                           "unshare and ip (iproute2)")
def test_dns_rebinding_is_refused_on_a_network_address():
    """The server listens on 192.0.2.1 and on 0.0.0.0 inside a network namespace of its own (no
    one outside can reach it); an attacker's name in Host and Origin drives nothing."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = subprocess_env(PYTHONPATH=os.pathsep.join([here, subprocess_env()["PYTHONPATH"]]))
    result = subprocess.run(["unshare", "--net", PYTHON, "-c", ATTACK, here], env=env,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0 and "unshare failed" in result.stderr:
        pytest.skip(f"no network namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout.splitlines()[-1])
    specific, wildcard = results["192.0.2.1"], results["0.0.0.0"]
    for r in (specific, wildcard):
        assert r["get evil"] == 421 and r["post evil"] == 421
        assert r["post evil origin"] == 403
        assert r["drive after attacks"] is None
        assert r["get ours"] == 200 and r["post ours"] == 200
        assert r["get hostname"] == 200
    assert specific["get allowed name"] == 200  # --allow-host
    assert wildcard["get allowed name"] == 421


def test_the_cli_takes_allow_host(tmp_path):
    process = subprocess.Popen([PYTHON, "-m", "RPIO.cli", "sim", "serve", "--port", "0",
                                "--allow-host", "bench.example"], env=subprocess_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, (line, process.stderr.read() if process.poll() else "")
        port = int(line.rsplit(":", 1)[1].strip(" /\n"))
        assert get(port, f"bench.example:{port}") == 200
        assert get(port, f"evil.example:{port}") == 421
    finally:
        process.terminate()
        process.wait(30)
    bad = subprocess.run([PYTHON, "-m", "RPIO.cli", "sim", "serve", "--port", "0",
                          "--allow-host", "a b:c"], env=subprocess_env(),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "'a b:c' is not a host name" in bad.stderr


# -- bounded resources ---------------------------------------------------------------------


def test_half_sent_requests_are_bounded_and_time_out():
    """380 connections each send half a request and wait: the server never holds more threads
    than its cap, answers the others 503 at once, and closes the stalled ones after its timeout."""
    baseline = threading.active_count()
    with BoardServer(port=0, max_connections=8, request_timeout=5.0) as server:
        port = server.port
        started = threading.active_count()
        most, sockets = 0, []
        try:
            for _ in range(380):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.sendall(f"GET /api/board HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
                sockets.append(sock)
                most = max(most, threading.active_count() - started)
            poll(lambda: server.accepted_connections >= 380, timeout=60,
                 message="every connection accepted")
            most = max(most, threading.active_count() - started)
            answers = [sock.recv(65536) for sock in sockets]  # each ends: 503, or closed
        finally:
            for sock in sockets:
                sock.close()
        assert most <= 8, f"{most} threads for 380 half-sent requests"
        busy = [answer for answer in answers if answer]
        assert all(b" 503 " in answer for answer in busy)
        assert len(busy) == server.refused_connections > 0
        poll(lambda: server.connections.acquire(blocking=False), timeout=30,
             message="a free connection")
        server.connections.release()
        assert get(port, f"127.0.0.1:{port}") == 200
    poll(lambda: threading.active_count() <= baseline, timeout=30, message="threads gone")


def test_a_request_trickling_in_is_cut_at_its_deadline():
    """A byte every 0.2 s resets no per-read timeout: the whole request has request_timeout."""
    with BoardServer(port=0, request_timeout=1.0) as server:
        request = (f"GET /api/board HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   + "X-Slow: " + "a" * 200 + "\r\n\r\n").encode()
        sent = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            closed = threading.Event()
            try:
                for byte in request:
                    sock.sendall(bytes([byte]))
                    sent += 1
                    readable = select.select([sock], [], [], 0.2)[0]
                    if readable and sock.recv(1) == b"":
                        closed.set()
                        break
            except (BrokenPipeError, ConnectionResetError):
                closed.set()
        assert closed.is_set() and sent < len(request), "the trickle was served to its end"
        assert get(server.port, f"127.0.0.1:{server.port}") == 200


def test_deep_json_is_a_400_not_a_crash():
    assert json_depth(b'{"a": [1, {"b": "[[[["}]}') == 3
    with BoardServer(port=0) as server:
        port = server.port
        host = f"127.0.0.1:{port}"
        for body in (b"[" * 2000 + b"]" * 2000, b'{"a":' * 600 + b"1" + b"}" * 600,
                     b'{"gpio": 17, "level": ' + b"[" * 17 + b"]" * 17 + b"}"):
            answer = raw(port, (f"POST /api/drive HTTP/1.1\r\nHost: {host}\r\n"
                                f"Content-Type: application/json\r\n"
                                f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            assert status_of(answer) == 400 and b"deeper than 16" in answer, answer[:200]
        assert post(port, host, {"gpio": 17, "level": 1}) == 200


def test_a_huge_body_is_refused_unread():
    with BoardServer(port=0) as server:
        port = server.port
        host = f"127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall((f"POST /api/drive HTTP/1.1\r\nHost: {host}\r\n"
                          "Content-Type: application/json\r\n"
                          f"Content-Length: {10**12}\r\n\r\n").encode() + b" " * 65536)
            answer = sock.recv(65536)
        assert status_of(answer) == 413
        chunked = raw(port, (f"POST /api/drive HTTP/1.1\r\nHost: {host}\r\n"
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "2\r\n{}\r\n0\r\n\r\n").encode())
        assert status_of(chunked) == 411
        assert post(port, host, {"gpio": 17, "level": 1}) == 200


def test_clients_vanishing_mid_request_leave_no_traceback(capfd, caplog):
    with BoardServer(port=0, request_timeout=1.0) as server:
        port = server.port
        head = (f"POST /api/drive HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"gpio\"").encode()
        for _ in range(5):  # reset mid-body
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        stalled = socket.create_connection(("127.0.0.1", port), timeout=30)
        stalled.sendall(head)  # then nothing: the server's read times out
        assert stalled.recv(100) == b""
        stalled.close()
        poll(lambda: server.connections.acquire(blocking=False) and
             (server.connections.release() or True), message="the server idle")
        assert get(port, f"127.0.0.1:{port}") == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception" not in err, err
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_max_connections_bounds_the_streams_too():
    assert server_module.MAX_STREAMS < server_module.MAX_CONNECTIONS
    with BoardServer(port=0, max_connections=3) as server:
        assert server.streams._initial_value == 2  # one place left for a request
