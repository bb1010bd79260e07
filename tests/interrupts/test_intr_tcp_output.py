"""The TCP queued-output path: replies larger than the socket buffers reach a slow reader whole and
in order, whether sent from a plain callback, a threaded one or a coroutine callback on asyncio.

The server's socket gets a 4 KiB send buffer and the client a 4 KiB receive buffer, and the client
reads nothing until the callback has returned: so most of every reply waits in the client's output
queue (each test checks that it did) and leaves only through TcpClient._flush.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading

import pytest
from intr_helpers import WAIT, Recorder
from rpio_interrupts import Interruptor, aio

CHUNKS = 6
WORDS = 16384  # per chunk: 64 KiB of big-endian counters, so a lost or swapped byte shows
SMALL = 4096


def chunk(k: int) -> bytes:
    return struct.pack(f">{WORDS}I", *range(k * WORDS, (k + 1) * WORDS))


EXPECTED = b"".join(chunk(k) for k in range(CHUNKS)) + b"END\n"


def small_send_buffer(client) -> None:
    client.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)


def reply(client, sent: Recorder) -> None:
    small_send_buffer(client)
    for k in range(CHUNKS):
        client.send(chunk(k))
    client.send("END\n")
    sent(client.pending_output)


def slow_client(port: int, sent: Recorder) -> bytes:
    """Connect with a small receive buffer, ask, wait until the reply is queued, read it slowly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)  # before connect: the window
    sock.settimeout(WAIT)
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"reply please")
        ((pending,),) = sent.wait_for(1)
        assert pending > len(EXPECTED) // 2, "the reply did not wait in the output queue"
        data = bytearray()
        while len(data) < len(EXPECTED):
            piece = sock.recv(1000)  # small reads: the queue drains over many writable events
            if not piece:
                break
            data += piece
        return bytes(data)
    finally:
        sock.close()


def check(data: bytes) -> None:
    assert len(data) == len(EXPECTED), f"{len(data)} of {len(EXPECTED)} bytes arrived"
    for k in range(CHUNKS):  # name the first damaged chunk rather than dump a megabyte
        assert data[k * WORDS * 4:(k + 1) * WORDS * 4] == chunk(k), f"chunk {k} damaged or out of order"
    assert data.endswith(b"END\n")


@pytest.mark.parametrize("threaded", [False, True], ids=["plain", "threaded"])
def test_reply_larger_than_the_socket_buffers_arrives_whole_and_in_order(running, threaded):
    sent = Recorder()
    port = running.add_tcp_callback(0, lambda c, m: reply(c, sent), threaded_callback=threaded,
                                    max_outbuf=2 * len(EXPECTED))
    check(slow_client(port, sent))


def test_two_slow_clients_each_get_their_own_bytes(running):
    """Two queues filled at once from worker threads, flushed by the loop in turns."""
    recorders = [Recorder(), Recorder()]
    order = iter(recorders)
    lock = threading.Lock()

    def cb(client, message):
        with lock:
            sent = next(order)  # the n-th message gets the n-th client's recorder
        reply(client, sent)

    port = running.add_tcp_callback(0, cb, threaded_callback=True, max_outbuf=2 * len(EXPECTED))
    results: list[bytes] = []
    first = threading.Thread(target=lambda: results.append(slow_client(port, recorders[0])))
    first.start()
    recorders[0].wait_for(1)  # the first client's reply is queued before the second asks
    check(slow_client(port, recorders[1]))
    first.join(WAIT)
    assert len(results) == 1
    check(results[0])


def test_reply_from_a_coroutine_callback_on_asyncio(provider):
    sent = Recorder()
    intr = Interruptor(provider)

    async def cb(client, message):
        small_send_buffer(client)
        for k in range(CHUNKS):
            client.send(chunk(k))
            await asyncio.sleep(0)  # the loop may flush between chunks
        client.send("END\n")
        sent(client.pending_output)

    async def main():
        port = intr.add_tcp_callback(0, cb, max_outbuf=2 * len(EXPECTED))
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        try:
            return await asyncio.to_thread(slow_client, port, sent)
        finally:
            intr.stop_waiting_for_interrupts()
            await serving

    try:
        check(asyncio.run(main()))
    finally:
        intr.cleanup_interrupts()
