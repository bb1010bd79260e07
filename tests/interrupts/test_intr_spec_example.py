"""The spec's "GPIO & TCP Interrupts" example, run verbatim against rpio-interrupts.

The example is the text of ../shared/spec/rpio-py.rst, as examples/spec_interrupts.py holds it;
``import RPIO`` resolves to this package's module-level API (the umbrella's tests run the same
text against the real ``RPIO``). The only edit: port 8080 becomes 0 (an ephemeral port) so the
test never collides with a local service.
"""

from __future__ import annotations

import pathlib
import socket
import sys
import threading
import time

import pytest
import rpio_interrupts
from intr_helpers import WAIT

# The one copy of the spec's text in this repository (also run by tests/rpio/test_interrupts.py).
EXAMPLE = (pathlib.Path(__file__).resolve().parents[2] / "examples" / "spec_interrupts.py").read_text()


@pytest.fixture
def as_rpio(monkeypatch, provider):
    monkeypatch.setitem(sys.modules, "RPIO", rpio_interrupts)
    rpio_interrupts.set_line_provider(provider)
    yield rpio_interrupts.default_interruptor()
    rpio_interrupts.cleanup_interrupts()
    rpio_interrupts.set_line_provider(None)


def until(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        pause.wait(0.001)


class Output:
    """Accumulates what the example prints (capsys hands each chunk out once)."""

    def __init__(self, capsys):
        self.capsys = capsys
        self.text = ""

    def has(self, line: str) -> bool:
        self.text += self.capsys.readouterr().out
        return line in self.text.splitlines()


def test_spec_example_verbatim(as_rpio, provider, capsys):
    source = EXAMPLE.replace("add_tcp_callback(8080,", "add_tcp_callback(0,")
    assert source.count("\n") == EXAMPLE.count("\n")
    errors = []

    def main():
        try:
            exec(compile(source, "spec-example", "exec"), {"__name__": "__main__"})  # noqa: S102
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    script = threading.Thread(target=main)
    script.start()
    until(lambda: as_rpio.running and as_rpio.tcp_ports() or errors)
    assert not errors
    assert provider.requests == [(7, "both", "disabled", "RPIO"), (9, "both", "pull-up", "RPIO")]
    out = Output(capsys)

    provider.rising(7)
    provider.falling(9)
    until(lambda: out.has("gpio 7: 1") and out.has("gpio 9: 0"))

    (port,) = as_rpio.tcp_ports()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as client:
        client.settimeout(WAIT)
        client.sendall(b"hello\r\n")
        reply = b""
        while not reply.endswith(b"\n"):
            reply += client.recv(100)
        assert reply == b"echo: hello\n"
        (server_side,) = as_rpio.tcp_clients(port)
        until(lambda: out.has("socket %d: 'hello'" % server_side.fileno()))
        client.sendall(b"\r\n")  # an empty message closes the connection (telnet: just Enter)
        assert client.recv(100) == b""

    rpio_interrupts.stop_waiting_for_interrupts()
    script.join(WAIT)
    assert not script.is_alive() and not errors


def test_spec_threaded_and_debounce_snippets(as_rpio, provider):
    calls = []
    got = threading.Event()

    def do_something(gpio_id, value):
        calls.append((gpio_id, value))
        got.set()

    RPIO = rpio_interrupts
    RPIO.add_interrupt_callback(7, do_something, threaded_callback=True)
    RPIO.add_interrupt_callback(8, do_something, debounce_timeout_ms=100)
    RPIO.wait_for_interrupts(threaded=True)
    provider.rising(7)
    assert got.wait(WAIT) and calls == [(7, 1)]
    RPIO.stop_waiting_for_interrupts()
    assert not as_rpio.running
