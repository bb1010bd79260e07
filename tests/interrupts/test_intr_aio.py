"""rpio_interrupts.aio: edges, wait_for_edge and wait_for_interrupts on a running asyncio loop.

Every test runs under asyncio's default loop and, when uvloop is importable, under uvloop. Edges
come from the pipe-backed PipeProvider (records and timestamps written by the test, often from
another thread). Every wait is bounded: each test coroutine runs under asyncio.timeout(), and
thread hand-offs use events with timeouts, never sleeps.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import socket
import threading
import warnings

import pytest
from intr_helpers import WAIT, PipeProvider, Recorder, open_fds
from rpio_interrupts import (
    PUD_DOWN,
    PUD_UP,
    EdgeDetector,
    InterruptError,
    Interruptor,
    InvalidArgumentError,
    InvalidCallbackError,
    InvalidChannelError,
    InvalidEdgeError,
    InvalidPullError,
    LoopRunningError,
    aio,
    aio_ownership,
)
from rpio_interrupts.aio import EdgeEvent, PinOwnedError
from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, encode_event

try:
    import uvloop
except ImportError:  # pragma: no cover - depends on the environment
    uvloop = None

MS = 1_000_000
LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def intr(loop):
    """conftest's Interruptor on the pipe provider; no pin may stay claimed after a test."""
    yield loop
    loop.cleanup_interrupts()
    assert aio_ownership.owners() == []


@pytest.fixture(params=LOOPS)
def arun(request):
    """arun(coro_fn, *args): run it on a fresh loop of the parametrized kind, bounded in time,
    and check that no task of ours outlives it."""

    def run(coro_fn, *args, timeout: float = 2 * WAIT):
        async def guarded():
            async with asyncio.timeout(timeout):
                result = await coro_fn(*args)
            others = asyncio.all_tasks() - {asyncio.current_task()}
            assert not others, f"tasks left running: {others}"
            return result

        factory = uvloop.new_event_loop if request.param == "uvloop" else None
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(guarded())

    run.kind = request.param
    return run


async def granted(provider: PipeProvider, gpio: int) -> None:
    """Wait (on the loop) until ``gpio`` has been granted to somebody."""
    if gpio in provider.active:
        return
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def hook(g):
        if g == gpio and not fut.done():
            loop.call_soon_threadsafe(fut.set_result, None)

    provider.hooks.append(hook)
    try:
        if gpio not in provider.active:
            await fut
    finally:
        provider.hooks.remove(hook)


async def until(predicate, what: str = "the condition") -> None:
    """Let the loop run until ``predicate()`` holds (bounded by the test's timeout)."""
    while not predicate():
        await asyncio.sleep(0)


# -- edges(): the basics ----------------------------------------------------------------------
def test_edges_yield_channel_value_timestamp_and_sequence_numbers(arun, intr, provider):
    async def main():
        async with aio.edges(17, interruptor=intr) as stream:
            assert provider.requests == [(17, "both", "disabled", "RPIO")]
            assert stream.gpio == 17 and not stream.closed
            provider.rising(17, ts_ns=111)
            provider.falling(17, ts_ns=222)
            first = await stream.__anext__()
            second = await stream.__anext__()
        return first, second, stream.closed

    first, second, closed = arun(main)
    assert first == EdgeEvent(17, 1, 111, 1, 1, 17)
    assert (first.edge, second.edge) == ("rising", "falling")
    assert (second.value, second.timestamp_ns, second.seqno, second.line_seqno) == (0, 222, 2, 2)
    assert closed
    assert provider.released == [17] and provider.active == {}


def test_value_comes_from_the_event_not_the_level(arun, intr, provider):
    async def main():
        async with aio.edges(4, interruptor=intr) as stream:
            provider.levels[4] = 0
            provider.write(4, encode_event(5, EDGE_RISING, 4, 1, 1))
            return await stream.__anext__()

    assert arun(main).value == 1


def test_board_numbering_event_carries_the_channel_as_given(arun, provider):
    board = {11: 17, 12: 18}

    def mapper(channel):
        if channel not in board:
            raise InvalidChannelError(f"The channel sent is invalid: {channel}")
        return board[channel]

    intr = Interruptor(provider, channel_mapper=mapper)

    async def main():
        async with aio.edges(11, interruptor=intr) as stream:
            provider.rising(17)
            event = await stream.__anext__()
        return event

    event = arun(main)
    assert (event.channel, event.gpio, event.value) == (11, 17, 1)
    assert provider.requests[-1][0] == 17


@pytest.mark.parametrize("edge, requested, ids, expected", [
    ("rising", "rising", [1, 2, 1, 2], [1, 1]),
    ("FALLING", "falling", [1, 2, 1], [0]),
    (aio.BOTH, "both", [1, 2], [1, 0]),
])
def test_edge_is_filtered_by_the_request(arun, intr, provider, edge, requested, ids, expected):
    async def main():
        async with aio.edges(5, edge, interruptor=intr) as stream:
            assert provider.requests[-1][1] == requested
            for event_id in ids:
                provider.edge(5, event_id == EDGE_RISING)
            got = [await stream.__anext__() for _ in expected]
            # one wanted edge as a barrier: nothing filtered slipped in before it
            provider.edge(5, expected[0] == 1)
            got.append(await stream.__anext__())
            assert stream.pending == 0
        return [ev.value for ev in got]

    assert arun(main) == expected + [expected[0]]


def test_pull_maps_to_bias(arun, intr, provider):
    async def main():
        async with aio.edges(1, pull_up_down=PUD_UP, interruptor=intr), \
                aio.edges(2, pull_up_down=PUD_DOWN, interruptor=intr), \
                aio.edges(3, interruptor=intr):
            pass

    arun(main)
    assert [r[2] for r in provider.requests] == ["pull-up", "pull-down", "disabled"]


def test_many_records_in_one_read_and_records_split_across_writes(arun, intr, provider):
    async def main():
        async with aio.edges(6, interruptor=intr) as stream:
            burst = b"".join(provider.record(6, EDGE_RISING if i % 2 == 0 else EDGE_FALLING)
                             for i in range(150))
            provider.write(6, burst)  # more than one read's worth in one write
            values = [(await stream.__anext__()).value for _ in range(150)]
            rec = provider.record(6, EDGE_RISING, 42)
            provider.write(6, rec[:20])
            provider.write(6, rec[20:])
            last = await stream.__anext__()
        return values, last

    values, last = arun(main)
    assert values == [1, 0] * 75
    assert (last.timestamp_ns, last.seqno) == (42, 151)


def test_several_pins_driven_from_another_thread_at_once(no_leaks, arun, intr, provider):
    pins = [5, 6, 13, 19]
    per_pin = 200
    ready = threading.Event()
    failures = []

    def drive():
        try:
            assert ready.wait(WAIT)
            for i in range(per_pin):
                for gpio in pins:
                    provider.edge(gpio, i % 2 == 0)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    async def consume(stream):
        return [await stream.__anext__() for _ in range(per_pin)]

    async def main():
        streams = [aio.edges(gpio, interruptor=intr) for gpio in pins]
        for stream in streams:
            await stream.__aenter__()
        try:
            writer = threading.Thread(target=drive)
            writer.start()
            ready.set()
            results = await asyncio.gather(*(consume(s) for s in streams))
            writer.join(WAIT)
        finally:
            for stream in streams:
                stream.close()
        return results

    results = arun(main)
    assert not failures
    for gpio, events in zip(pins, results, strict=True):
        assert {ev.channel for ev in events} == {gpio}
        assert [ev.seqno for ev in events] == list(range(1, per_pin + 1))  # none lost, in order
        assert [ev.value for ev in events] == [1, 0] * (per_pin // 2)
    assert sorted(provider.released) == sorted(pins)


def test_debounce_on_event_timestamps(arun, intr, provider):
    async def main():
        async with aio.edges(9, debounce_timeout_ms=10, interruptor=intr) as stream:
            for t_ms in (0, 5, 12, 13, 21.9, 22):
                provider.rising(9, ts_ns=1_000 * MS + int(t_ms * MS))
            return [await stream.__anext__() for _ in range(3)], stream.pending

    events, pending = arun(main)
    assert [(ev.timestamp_ns - 1_000 * MS) / MS for ev in events] == [0, 12, 22]
    assert pending == 0


def test_back_pressure_stops_reading_and_resumes_without_loss(arun, intr, provider):
    async def main():
        async with aio.edges(7, max_queue=4, interruptor=intr) as stream:
            provider.write(7, b"".join(provider.record(7, EDGE_RISING) for _ in range(300)))
            await until(lambda: stream.pending >= 4)
            await asyncio.sleep(0)  # one more loop pass: reading is paused, nothing more comes in
            assert stream.pending < 4 + 64 + 1
            return [(await stream.__anext__()).seqno for _ in range(300)]

    assert arun(main) == list(range(1, 301))


def test_next_with_timeout_keeps_the_stream_open(arun, intr, provider):
    async def main():
        async with aio.edges(8, interruptor=intr) as stream:
            assert await stream.next(timeout=0.01) is None
            assert not stream.closed
            provider.falling(8)
            event = await stream.next(timeout=WAIT)
            assert await stream.next(0) is None
            return event

    assert arun(main).value == 0


def test_next_batch_takes_everything_queued_in_order_and_waits_when_empty(arun, intr, provider):
    async def main():
        async with aio.edges(8, interruptor=intr) as stream:
            assert await stream.next_batch(timeout=0.01) == []  # none came: the stream stays open
            provider.write(8, b"".join(provider.record(8, EDGE_RISING) for _ in range(50)))
            await until(lambda: stream.pending == 50)
            first = await stream.next_batch()  # all 50 at once, without waiting
            waiting = asyncio.ensure_future(stream.next_batch())
            await until(lambda: stream._waiter is not None)
            provider.falling(8)
            second = await waiting  # the one that came while it waited
            return [e.seqno for e in first], [(e.seqno, e.value) for e in second], stream.pending

    first, second, pending = arun(main)
    assert first == list(range(1, 51))
    assert second == [(51, 0)]
    assert pending == 0


def test_batches_and_single_edges_share_one_stream_in_order(arun, intr, provider):
    async def main():
        seen = []
        async with aio.edges(8, interruptor=intr) as stream:
            provider.write(8, b"".join(provider.record(8, EDGE_RISING) for _ in range(10)))
            await until(lambda: stream.pending == 10)
            seen.append([(await stream.__anext__()).seqno])  # one edge alone
            async for batch in stream.batches():
                seen.append([e.seqno for e in batch])
                if batch[-1].seqno == 10:
                    provider.write(8, provider.record(8, EDGE_FALLING))
                elif batch[-1].seqno == 11:
                    stream.close()  # ends the batches() iteration
        return seen

    assert arun(main) == [[1], list(range(2, 11)), [11]]


def test_next_batch_resumes_reading_after_back_pressure_without_loss(arun, intr, provider):
    async def main():
        got = []
        async with aio.edges(7, max_queue=4, interruptor=intr) as stream:
            provider.write(7, b"".join(provider.record(7, EDGE_RISING) for _ in range(300)))
            await until(lambda: stream.pending >= 4)
            while len(got) < 300:
                batch = await stream.next_batch()
                assert 1 <= len(batch) <= 4 + 64  # never more than one paused read's worth
                got += [e.seqno for e in batch]
            return got, stream.lost

    got, lost = arun(main)
    assert got == list(range(1, 301)) and lost == 0


def test_cancelling_a_waiting_next_batch_releases_the_line(no_leaks, arun, intr, provider):
    async def main():
        stream = aio.edges(9, interruptor=intr)
        waiting = asyncio.ensure_future(stream.next_batch())
        await until(lambda: stream._waiter is not None)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(StopAsyncIteration):
            await stream.next_batch()
        return stream.closed, 9 in provider.active

    assert arun(main) == (True, False)


def test_get_value_reads_the_line(arun, intr, provider):
    async def main():
        provider.levels[3] = 1
        async with aio.edges(3, interruptor=intr) as stream:
            return stream.get_value()

    assert arun(main) == 1


# -- edges(): closing and cancellation --------------------------------------------------------
def test_cancel_in_the_middle_of_async_for_releases_the_line(no_leaks, arun, intr, provider):
    async def main():
        got = []

        async def consumer():
            async for event in aio.edges(21, interruptor=intr):  # no 'async with': still released
                got.append(event)

        task = asyncio.create_task(consumer())
        await granted(provider, 21)
        provider.rising(21)
        await until(lambda: got)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return got

    got = arun(main)
    assert [ev.value for ev in got] == [1]
    assert provider.released == [21] and provider.active == {}
    assert aio_ownership.owners() == []


def test_cancel_inside_async_with_releases_the_line(no_leaks, arun, intr, provider):
    async def main():
        entered = asyncio.Event()

        async def consumer():
            async with aio.edges(22, interruptor=intr) as stream:
                entered.set()
                await asyncio.Event().wait()  # blocked on something else entirely
                await stream.__anext__()

        task = asyncio.create_task(consumer())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(main)
    assert provider.released == [22] and provider.active == {}


def test_close_from_another_task_ends_the_iteration(arun, intr, provider):
    async def main():
        stream = aio.edges(23, interruptor=intr)
        await stream.__aenter__()
        seen = []

        async def consumer():
            async for event in stream:
                seen.append(event)
            return "ended"

        task = asyncio.create_task(consumer())
        provider.rising(23)
        await until(lambda: seen)
        stream.close()
        assert await task == "ended"
        stream.close()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        with pytest.raises(RuntimeError, match="closed"):
            await stream.__aenter__()

    arun(main)
    assert provider.released == [23]


def test_two_tasks_cannot_wait_on_one_stream(arun, intr, provider):
    async def main():
        async with aio.edges(24, interruptor=intr) as stream:
            first = asyncio.create_task(stream.__anext__())
            await until(lambda: stream._waiter is not None)
            with pytest.raises(RuntimeError, match="already waiting"):
                await stream.__anext__()
            provider.rising(24)
            return await first

    assert arun(main).value == 1


def test_end_of_the_event_source_ends_the_stream(arun, intr, provider, caplog):
    async def main():
        async with aio.edges(25, interruptor=intr) as stream:
            provider.rising(25)
            provider.hang_up(25)
            events = [event async for event in stream]
        return events

    events = arun(main)
    assert [ev.value for ev in events] == [1]
    assert "event source was closed" in caplog.text


def test_an_unclosed_stream_is_released_when_collected(arun, intr, provider):
    async def main():
        stream = aio.edges(26, interruptor=intr)
        await stream.__aenter__()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del stream
            gc.collect()
        return [str(w.message) for w in caught if w.category is ResourceWarning]

    messages = arun(main)
    assert any("unclosed <EdgeStream 26" in m for m in messages)
    assert provider.released == [26]
    assert aio_ownership.owners() == []


# -- wait_for_edge() --------------------------------------------------------------------------
def test_wait_for_edge_returns_the_event(arun, intr, provider):
    async def main():
        task = asyncio.create_task(aio.wait_for_edge(12, "falling", timeout=WAIT, interruptor=intr))
        await granted(provider, 12)
        threading.Thread(target=lambda: (provider.rising(12), provider.falling(12, ts_ns=77))).start()
        return await task

    event = arun(main)
    assert (event.channel, event.value, event.timestamp_ns) == (12, 0, 77)
    assert provider.requests == [(12, "falling", "disabled", "RPIO")]
    assert provider.released == [12]


def test_wait_for_edge_timeout_returns_none_and_releases(no_leaks, arun, intr, provider):
    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await aio.wait_for_edge(12, "both", timeout=0.02, interruptor=intr)
        return result, loop.time() - start

    result, elapsed = arun(main)
    assert result is None
    assert elapsed >= 0.015
    assert provider.released == [12] and provider.active == {}


def test_cancel_wait_for_edge_releases_everything(no_leaks, arun, intr, provider):
    async def main():
        task = asyncio.create_task(aio.wait_for_edge(13, "rising", interruptor=intr))
        await granted(provider, 13)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(main)
    assert provider.released == [13] and provider.active == {}
    assert aio_ownership.owners() == []


def test_wait_for_edge_timeout_checks(arun, intr):
    async def main():
        with pytest.raises(InvalidArgumentError):
            await aio.wait_for_edge(1, "rising", timeout=-1, interruptor=intr)
        with pytest.raises(InvalidArgumentError):
            await aio.wait_for_edge(1, "rising", timeout="1", interruptor=intr)

    arun(main)


def test_wait_for_edge_on_a_closed_source_raises_eoferror(arun, intr, provider):
    provider.hooks.append(lambda gpio: provider.hang_up(gpio))

    async def main():
        with pytest.raises(EOFError):
            await aio.wait_for_edge(14, "both", timeout=WAIT, interruptor=intr)

    arun(main)
    assert provider.released == [14]


# -- errors -----------------------------------------------------------------------------------
def test_argument_errors_are_raised_by_edges_itself(intr):
    with pytest.raises(InvalidEdgeError):
        aio.edges(1, "up", interruptor=intr)
    with pytest.raises(InvalidPullError):
        aio.edges(1, pull_up_down=99, interruptor=intr)
    with pytest.raises(InvalidArgumentError):
        aio.edges(1, debounce_timeout_ms=-5, interruptor=intr)
    with pytest.raises(InvalidArgumentError):
        aio.edges(1, max_queue=0, interruptor=intr)
    with pytest.raises(TypeError):
        aio.edges(1, interruptor=object())


@pytest.mark.parametrize("how", ["async with", "async for", "wait_for_edge"])
@pytest.mark.parametrize("failure, expected", [
    ("unknown channel", InvalidChannelError),
    (OSError(errno.EBUSY, "gpio 17 is busy (held by 'kernel')"), OSError),
    (PermissionError(errno.EACCES, "no permission to open /dev/gpiochip0"), PermissionError),
])
def test_request_errors_come_from_the_awaiting_call_and_leave_nothing(
        no_leaks, arun, intr, provider, how, failure, expected):
    channel = -1 if failure == "unknown channel" else 17
    if isinstance(failure, BaseException):
        provider.fail_next[17] = failure

    async def main():
        fds = open_fds()
        with pytest.raises(expected) as info:
            if how == "async with":
                async with aio.edges(channel, interruptor=intr):
                    pass
            elif how == "async for":
                async for _ in aio.edges(channel, interruptor=intr):
                    pass
            else:
                await aio.wait_for_edge(channel, "both", timeout=WAIT, interruptor=intr)
        assert open_fds() == fds
        return info.value

    err = arun(main)
    if isinstance(failure, BaseException):
        assert err is failure
    assert provider.active == {} and aio_ownership.owners() == []
    # the pin is usable afterwards
    provider.fail_next.clear()
    intr.add_interrupt_callback(17, Recorder())
    intr.cleanup_interrupts()


def test_edges_needs_a_running_loop(intr, provider):
    stream = aio.edges(1, interruptor=intr)
    coro = stream.__aenter__()
    with pytest.raises(RuntimeError, match="no running event loop"):
        coro.send(None)
    assert provider.active == {} and aio_ownership.owners() == []


# -- mixing the threaded loop and asyncio -----------------------------------------------------
def test_a_pin_with_interrupt_callbacks_cannot_be_claimed_by_asyncio(arun, intr, provider):
    intr.add_interrupt_callback(17, Recorder())

    async def main():
        with pytest.raises(PinOwnedError, match="owned by the interrupt loop") as info:
            async with aio.edges(17, interruptor=intr):
                pass
        with pytest.raises(PinOwnedError):
            await aio.wait_for_edge(17, "rising", timeout=WAIT, interruptor=intr)
        return info.value

    err = arun(main)
    assert isinstance(err, InterruptError) and isinstance(err, ValueError)
    assert (err.gpio, err.side) == (17, "interrupt loop")
    assert provider.requests == [(17, "both", "disabled", "RPIO")]  # asyncio requested nothing
    assert list(intr.interrupt_callbacks()) == [17]


def test_a_pin_held_by_asyncio_cannot_get_interrupt_callbacks(arun, intr, provider):
    detector = EdgeDetector(lambda ch: ch, lambda gpio: True, provider)

    async def main():
        async with aio.edges(18, interruptor=intr):
            with pytest.raises(PinOwnedError, match=r"owned by RPIO\.aio\.edges\(\)") as info:
                intr.add_interrupt_callback(18, Recorder())
            # RPi.GPIO's event API (another Interruptor): its own message, the reason chained
            with pytest.raises(RuntimeError, match="Failed to add edge detection") as failed:
                detector.add_event_detect(18, 31)
            assert isinstance(failed.value.__cause__, PinOwnedError)
            assert intr.interrupt_callbacks() == {}
            assert info.value.side == "asyncio"
        # released: the threaded side may have it now
        intr.add_interrupt_callback(18, Recorder())

    try:
        arun(main)
    finally:
        detector.close()
    assert list(intr.interrupt_callbacks()) == [18]
    assert [r[0] for r in provider.requests] == [18, 18]


def test_two_asyncio_claims_on_one_pin(arun, intr, provider):
    async def main():
        async with aio.edges(19, interruptor=intr):
            with pytest.raises(PinOwnedError, match="already|owned by RPIO.aio.edges"):
                async with aio.edges(19, "rising", interruptor=intr):
                    pass
            with pytest.raises(PinOwnedError):
                await aio.wait_for_edge(19, "rising", timeout=WAIT, interruptor=intr)

    arun(main)
    assert len(provider.requests) == 1


def test_the_threaded_loop_and_the_asyncio_loop_cannot_serve_one_interruptor(arun, intr, provider):
    intr.wait_for_interrupts(threaded=True)
    try:
        async def refused():
            with pytest.raises(LoopRunningError):
                await aio.wait_for_interrupts(intr)

        arun(refused)
    finally:
        intr.stop_waiting_for_interrupts()

    async def served():
        task = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        with pytest.raises(LoopRunningError, match="asyncio"):
            intr.wait_for_interrupts(threaded=True)
        with pytest.raises(LoopRunningError):
            intr.wait_for_interrupts()  # blocking inside the loop's own thread would deadlock
        with pytest.raises(LoopRunningError):
            await aio.wait_for_interrupts(intr)
        intr.stop_waiting_for_interrupts()  # from the loop's thread: asks, does not block
        await task

    arun(served)
    assert not intr.running


# -- wait_for_interrupts(): callbacks on the loop ---------------------------------------------
def test_plain_and_coroutine_callbacks_run_on_the_loop(no_leaks, arun, intr, provider):
    plain = Recorder("plain")
    calls = []

    async def main():
        loop_thread = threading.current_thread().name

        async def coro_cb(gpio_id, value, event):
            await asyncio.sleep(0)
            calls.append((gpio_id, value, event.timestamp_ns, threading.current_thread().name))
            if len(calls) == 2:
                intr.stop_waiting_for_interrupts()

        intr.add_interrupt_callback(5, plain)
        intr.add_interrupt_callback(6, coro_cb, edge="rising", with_event=True)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(5)
        provider.falling(6)  # filtered by the request
        provider.rising(6, ts_ns=10)
        provider.rising(6, ts_ns=20)
        await serving
        return loop_thread

    loop_thread = arun(main)
    assert plain.calls == [(5, 1)] and plain.threads == [loop_thread]
    assert calls == [(6, 1, 10, loop_thread), (6, 1, 20, loop_thread)]
    assert not intr.running
    assert sorted(intr.interrupt_callbacks()) == [5, 6]  # registrations stay


def test_coroutine_callbacks_keep_order_per_pin_and_run_pins_in_parallel(arun, intr, provider):
    log_ = []

    async def main():
        gate = asyncio.Event()

        async def slow(gpio_id, value):
            log_.append(("start", gpio_id, value))
            if gpio_id == 1:
                await gate.wait()  # pin 1 blocks until pin 2 has run
            log_.append(("end", gpio_id, value))

        async def fast(gpio_id, value):
            log_.append(("fast", gpio_id, value))
            gate.set()

        intr.add_interrupt_callback(1, slow)
        intr.add_interrupt_callback(2, fast)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(1)
        provider.falling(1)
        await until(lambda: ("start", 1, 1) in log_)
        provider.rising(2)
        await until(lambda: ("end", 1, 0) in log_)
        intr.stop_waiting_for_interrupts()
        await serving

    arun(main)
    assert log_ == [("start", 1, 1), ("fast", 2, 1), ("end", 1, 1), ("start", 1, 0), ("end", 1, 0)]


def test_stop_from_another_thread_waits_for_queued_coroutine_callbacks(arun, intr, provider):
    done = []
    stopped = []

    async def main():
        started = asyncio.Event()
        release = asyncio.Event()

        async def cb(gpio_id, value):
            started.set()
            await release.wait()
            done.append(value)

        intr.add_interrupt_callback(3, cb)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(3)
        await started.wait()
        stopper = threading.Thread(target=lambda: (intr.stop_waiting_for_interrupts(),
                                                   stopped.append(list(done))))
        stopper.start()
        await until(lambda: not intr.running)  # asked to stop; the callback still runs
        release.set()
        await serving
        await until(lambda: stopped)
        stopper.join(WAIT)

    arun(main)
    assert done == [1]
    assert stopped == [[1]]  # stop_waiting_for_interrupts() returned after the callback ended


def test_cancelling_wait_for_interrupts_cancels_coroutine_callbacks(no_leaks, arun, intr, provider):
    outcome = []

    async def main():
        started = asyncio.Event()

        async def cb(gpio_id, value):
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise

        intr.add_interrupt_callback(4, cb)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(4)
        provider.falling(4)  # queued behind the first: closed, never run
        await started.wait()
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine ... was never awaited"
        arun(main)
        gc.collect()
    assert outcome == ["cancelled"]
    assert not intr.running
    intr.cleanup_interrupts()


def test_callback_errors_are_logged_and_serving_goes_on(arun, intr, provider, caplog):
    seen = []

    async def main():
        async def bad(gpio_id, value):
            await asyncio.sleep(0)
            raise ValueError("boom")

        def good(gpio_id, value):
            seen.append(value)
            if len(seen) == 2:
                intr.stop_waiting_for_interrupts()

        intr.add_interrupt_callback(8, bad)
        intr.add_interrupt_callback(8, good)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(8)
        provider.falling(8)
        await serving

    with caplog.at_level(logging.ERROR, logger="RPIO"):
        arun(main)
    assert seen == [1, 0]
    assert caplog.text.count("ValueError: boom") == 2


def test_threaded_callbacks_still_run_on_the_pool(arun, intr, provider):
    cb = Recorder()

    async def main():
        intr.add_interrupt_callback(10, cb, threaded_callback=True)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(10)
        await until(lambda: cb.calls)
        intr.stop_waiting_for_interrupts()
        await serving

    arun(main)
    assert cb.calls == [(10, 1)] and cb.threads[0].startswith("RPIO-callback")


def test_coroutine_function_cannot_be_a_threaded_callback(intr):
    async def cb(*args):
        pass

    with pytest.raises(InvalidCallbackError, match="coroutine"):
        intr.add_interrupt_callback(1, cb, threaded_callback=True)
    with pytest.raises(InvalidCallbackError, match="coroutine"):
        intr.add_tcp_callback(0, cb, threaded_callback=True)
    assert intr.interrupt_callbacks() == {} and intr.tcp_ports() == []


def test_coroutine_callback_under_the_threaded_loop_is_reported_not_leaked(intr, provider, caplog):
    plain = Recorder()

    async def coro_cb(gpio_id, value):
        raise AssertionError("must not run")

    intr.add_interrupt_callback(11, coro_cb)
    intr.add_interrupt_callback(11, plain)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        intr.wait_for_interrupts(threaded=True)
        provider.rising(11)
        plain.wait_for(1)
        intr.stop_waiting_for_interrupts()
        gc.collect()
    assert "coroutine callbacks run only when the loop is served by asyncio" in caplog.text


def test_restart_serves_edges_that_came_while_stopped(arun, intr, provider):
    cb = Recorder()
    intr.add_interrupt_callback(15, cb)

    async def serve_until(count):
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: len(cb.calls) >= count)
        intr.stop_waiting_for_interrupts()
        await serving

    provider.rising(15)
    arun(serve_until, 1)
    provider.falling(15)  # nobody serves now
    arun(serve_until, 2)
    intr.wait_for_interrupts(threaded=True)  # and the threaded loop can take over
    provider.rising(15)
    cb.wait_for(3)
    intr.stop_waiting_for_interrupts()
    assert cb.calls == [(15, 1), (15, 0), (15, 1)]


def test_default_interruptor_is_used_without_interruptor_argument(arun, provider):
    import rpio_interrupts

    rpio_interrupts.set_line_provider(provider)
    try:
        cb = Recorder()
        rpio_interrupts.add_interrupt_callback(16, cb)

        async def main():
            serving = asyncio.create_task(aio.wait_for_interrupts())
            await until(lambda: rpio_interrupts.default_interruptor().running)
            provider.rising(16)
            await until(lambda: cb.calls)
            rpio_interrupts.stop_waiting_for_interrupts()
            await serving
            async with aio.edges(20) as stream:
                provider.falling(20)
                return await stream.__anext__()

        assert arun(main).channel == 20
        assert cb.calls == [(16, 1)]
    finally:
        rpio_interrupts.cleanup_interrupts()
        rpio_interrupts.set_line_provider(None)


def test_registration_from_another_thread_while_asyncio_serves(arun, intr, provider):
    cb = Recorder()

    async def main():
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        adder = threading.Thread(target=intr.add_interrupt_callback, args=(30, cb))
        adder.start()
        await until(lambda: not adder.is_alive())
        provider.rising(30)
        await until(lambda: cb.calls)
        intr.del_interrupt_callback(30)
        intr.stop_waiting_for_interrupts()
        await serving

    arun(main)
    assert cb.calls == [(30, 1)] and provider.released == [30]


def test_cleanup_from_a_coroutine_callback_ends_serving_and_releases_everything(
        no_leaks, arun, provider):
    intr = Interruptor(provider)

    async def main():
        async def cb(gpio_id, value):
            await asyncio.sleep(0)
            intr.cleanup_interrupts()

        intr.add_interrupt_callback(31, cb)
        intr.add_tcp_callback(0, lambda c, m: None)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        await until(lambda: intr.running)
        provider.rising(31)
        await serving

    arun(main)
    assert provider.active == {} and intr.tcp_ports() == [] and intr.interrupt_callbacks() == {}
    assert intr._epoll is None


def test_bind_gives_the_api_on_one_interruptor(arun, intr, provider):
    bound = aio.bind(intr)
    assert (bound.PUD_UP, bound.RISING, bound.EdgeEvent, bound.PinOwnedError) == (
        PUD_UP, aio.RISING, EdgeEvent, PinOwnedError)
    assert bound.interruptor is intr and "bound to" in repr(bound)
    cb = Recorder()

    async def main():
        async with bound.edges(5, "rising", PUD_DOWN, 1) as stream:
            provider.rising(5)
            event = await stream.__anext__()
        assert await bound.wait_for_edge(6, "rising", timeout=0) is None
        intr.add_interrupt_callback(7, cb)
        serving = asyncio.create_task(bound.wait_for_interrupts())
        await until(lambda: intr.running)
        provider.rising(7)
        await until(lambda: cb.calls)
        intr.stop_waiting_for_interrupts()
        await serving
        return event

    assert arun(main).gpio == 5
    assert provider.requests[:2] == [(5, "rising", "pull-down", "RPIO"), (6, "rising", "disabled", "RPIO")]
    assert cb.calls == [(7, 1)]
    with pytest.raises(TypeError):
        aio.bind(None)


# -- TCP through the asyncio loop -------------------------------------------------------------
def test_tcp_coroutine_callback_with_asyncio_stream_clients(no_leaks, arun, intr):
    messages = []

    async def main():
        async def echo(client, message):
            messages.append((type(client).__name__, message))
            await asyncio.sleep(0)
            client.send("echo: %s\n" % message)

        port = intr.add_tcp_callback(0, echo)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write("  grüße \r\n".encode())
        assert await reader.readline() == "echo: grüße\n".encode()
        writer.write(b"\xff\xfe raw\n")  # undecodable bytes survive (surrogateescape)
        assert await reader.readline() == b"echo: \xff\xfe raw\n"
        # a second client at the same time, served by a plain callback on another port
        port2 = intr.add_tcp_callback(0, lambda client, message: client.send(message.upper()))
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", port2)
        writer2.write(b"abc")
        assert await reader2.read(3) == b"ABC"
        writer.write(b" \n")  # an empty message closes the client
        assert await reader.read() == b""
        writer.close()
        writer2.close()
        await writer.wait_closed()
        await writer2.wait_closed()
        await until(lambda: not intr.tcp_clients())
        intr.stop_waiting_for_interrupts()
        await serving
        intr.cleanup_interrupts()

    arun(main)
    assert messages == [("TcpClient", "grüße"), ("TcpClient", "\udcff\udcfe raw")]


def test_tcp_messages_of_one_client_are_answered_in_order(arun, intr):
    dispatched = []

    async def main():
        gate = asyncio.Event()

        async def reply(client, message):
            if message == "1":
                await gate.wait()  # the second message must still be answered second
            client.send(message + "\n")

        def on_message(client, message):  # a plain callable returning an awaitable
            dispatched.append(message)
            return reply(client, message)

        port = intr.add_tcp_callback(0, on_message)
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"1")
        await until(lambda: dispatched == ["1"])
        writer.write(b"2")
        await until(lambda: dispatched == ["1", "2"])
        gate.set()
        lines = [await reader.readline(), await reader.readline()]
        writer.close()
        await writer.wait_closed()
        intr.stop_waiting_for_interrupts()
        await serving
        return lines

    assert arun(main) == [b"1\n", b"2\n"]


def test_tcp_from_a_blocking_client_thread(no_leaks, arun, intr):
    replies = []

    async def main():
        port = intr.add_tcp_callback(0, lambda c, m: c.send("got %s\n" % m))
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))

        def client():
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
                sock.sendall(b"ping\n")
                replies.append(sock.recv(100))
            intr.stop_waiting_for_interrupts()  # from another thread: returns once stopped

        thread = threading.Thread(target=client)
        thread.start()
        await serving
        thread.join(WAIT)
        intr.cleanup_interrupts()

    arun(main)
    assert replies == [b"got ping\n"]


# -- nothing left behind ----------------------------------------------------------------------
def test_no_fd_task_or_thread_leaks_after_a_full_session(no_leaks, arun, provider):
    intr = Interruptor(provider)

    async def main():
        cb = Recorder()
        intr.add_interrupt_callback(2, cb)
        port = intr.add_tcp_callback(0, lambda c, m: c.send(m))
        serving = asyncio.create_task(aio.wait_for_interrupts(intr))
        async with aio.edges(3, interruptor=intr) as stream:
            provider.rising(2)
            provider.rising(3)
            await stream.__anext__()
        await until(lambda: cb.calls)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        assert await reader.read(1) == b"x"
        writer.close()
        await writer.wait_closed()
        assert await aio.wait_for_edge(4, "both", timeout=0, interruptor=intr) is None
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        intr.cleanup_interrupts()

    arun(main)
    assert provider.active == {}
    assert aio_ownership.owners() == []
