"""RPIO.aio streams' delivery path: batches served from memory without suspending, a waiting
consumer resumed inside the reader callback's own turn of the loop (not one turn later), and what
that must keep: the task's context, cancellation, errors in the consumer, closing from the body,
loss counting across batches.

Turn counting is done on asyncio's default loop (its turn structure is the documented
``_run_once``: callbacks ready at a turn's start run in it, what they schedule runs in the next);
the rest runs on uvloop too. No wall-clock bound anywhere.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

import pytest
from intr_helpers import WAIT
from rpio_interrupts import Interruptor, aio, aio_ownership
from rpio_interrupts.aio import _Waiter
from rpio_interrupts.event import EDGE_FALLING, EDGE_RISING, encode_event

try:
    import uvloop
except ImportError:  # pragma: no cover - depends on the environment
    uvloop = None

LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])


def records(gpio: int, seqnos, start_ts: int = 1_000_000) -> bytes:
    return b"".join(encode_event(start_ts + s, EDGE_RISING if s % 2 else EDGE_FALLING, gpio, s, s)
                    for s in seqnos)


@pytest.fixture
def intr(provider):
    intr = Interruptor(provider)
    yield intr
    intr.cleanup_interrupts()
    assert aio_ownership.owners() == []


def run_on(kind: str, coro_fn, *args):
    async def bounded():
        async with asyncio.timeout(2 * WAIT):
            return await coro_fn(*args)

    factory = uvloop.new_event_loop if kind == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(bounded())


async def until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0)


class Ticker:
    """A task that counts the loop's turns (one step per turn, via sleep(0))."""

    def __init__(self):
        self.turns = 0
        self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        while True:
            await asyncio.sleep(0)
            self.turns += 1

    async def stop(self):
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


# -- the waiting consumer resumes in the reader callback's turn --------------------------------
def test_a_waiting_consumer_resumes_in_the_turn_its_edge_is_read(intr, provider):
    """Writer task W writes one record in turn N and yields; in turn N+1 its own step runs first,
    then the reader callback (the fd became readable): the consumer must have the event by the
    time W runs again in turn N+2. With the wake-up scheduled (a Future's call_soon) it would get
    it only after W's step in N+2."""

    async def main():
        got = []
        async with aio.edges(5, interruptor=intr) as stream:
            async def consume():
                got.append(await stream.__anext__())

            consumer = asyncio.ensure_future(consume())
            await until(lambda: stream._waiter is not None)
            provider.rising(5)               # turn N
            await asyncio.sleep(0)           # turn N+1: this step, then the reader callback
            await asyncio.sleep(0)           # turn N+2
            seen_in_turn = len(got)
            await consumer
        return seen_in_turn, got

    seen_in_turn, got = run_on("asyncio", main)
    assert seen_in_turn == 1
    assert [(ev.value, ev.seqno) for ev in got] == [(1, 1)]


@pytest.mark.parametrize("kind", LOOPS)
def test_the_resumed_consumer_runs_in_its_own_task_and_context(intr, provider, kind):
    var = contextvars.ContextVar("var", default="loop's")

    async def main():
        async with aio.edges(5, interruptor=intr) as stream:
            async def consume():
                var.set("consumer's")  # after the reader was registered: not in its context
                event = await stream.__anext__()
                return event.seqno, var.get(), asyncio.current_task() is me[0]

            me = [asyncio.ensure_future(consume())]
            await until(lambda: stream._waiter is not None)
            provider.rising(5)
            return await me[0]

    assert run_on(kind, main) == (1, "consumer's", True)


@pytest.mark.parametrize("kind", LOOPS)
def test_an_error_in_the_resumed_consumer_goes_to_its_task_not_the_loop(intr, provider, kind):
    loop_errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: loop_errors.append(ctx))
        async with aio.edges(5, interruptor=intr) as stream:
            async def consume():
                async for _event in stream:
                    raise ValueError("from the body")

            consumer = asyncio.ensure_future(consume())
            await until(lambda: stream._waiter is not None)
            provider.rising(5)
            with pytest.raises(ValueError, match="from the body"):
                await consumer
            provider.falling(5)  # the stream still serves a next consumer
            return (await stream.next(WAIT)).value

    assert run_on(kind, main) == 0
    assert loop_errors == []


@pytest.mark.parametrize("kind", LOOPS)
def test_the_resumed_consumer_may_close_the_stream_from_its_body(intr, provider, kind):
    async def main():
        stream = aio.edges(5, interruptor=intr)
        async with stream:
            async def consume():
                async for event in stream:
                    stream.close()  # inside the reader callback's turn, with records still queued
                    return event.seqno

            consumer = asyncio.ensure_future(consume())
            await until(lambda: stream._waiter is not None)
            provider.write(5, records(5, range(1, 11)))
            seqno = await consumer
            return seqno, stream.closed, stream.pending

    assert run_on(kind, main) == (1, True, 0)
    assert provider.released == [5]


@pytest.mark.parametrize("kind", LOOPS)
def test_cancelling_a_waiting_consumer_still_releases_the_line(intr, provider, kind):
    async def main():
        stream = aio.edges(5, interruptor=intr)
        await stream.__aenter__()
        consumer = asyncio.ensure_future(stream.__anext__())
        await until(lambda: stream._waiter is not None)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        return stream.closed

    assert run_on(kind, main) is True
    assert provider.released == [5]


def test_the_waiter_falls_back_to_a_scheduled_wake_up_inside_a_task():
    """wake_now() reached from a running task (not from the loop) must not run the waiting task's
    wake-up inside it (asyncio refuses to enter a task while another runs): it schedules it, as
    a Future would. Reached from a loop callback, it runs it at once."""
    calls = []

    async def main():
        loop = asyncio.get_running_loop()
        in_task = _Waiter(loop)
        assert asyncio.isfuture(in_task)
        in_task.add_done_callback(lambda w: calls.append(("task", w.result())))
        in_task.wake_now("a")  # from this task
        assert calls == [] and in_task.done()
        await asyncio.sleep(0)
        assert calls == [("task", "a")]
        from_loop = _Waiter(loop)
        from_loop.add_done_callback(lambda w: calls.append(("loop", w.result())))
        seen = loop.create_future()
        loop.call_soon(lambda: (from_loop.wake_now("b"), seen.set_result(list(calls))))
        return await seen

    assert asyncio.run(main()) == [("task", "a"), ("loop", "b")]


# -- batches ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LOOPS)
def test_buffered_events_are_served_without_a_loop_turn(intr, provider, kind):
    async def main():
        async with aio.edges(6, interruptor=intr) as stream:
            provider.write(6, records(6, range(1, 201)))
            await until(lambda: stream.pending == 200)
            ticker = Ticker()
            await asyncio.sleep(0)
            before = ticker.turns
            seqnos = []
            async for event in stream:  # 200 buffered events: no suspension between them
                seqnos.append(event.seqno)
                if len(seqnos) == 200:
                    break
            during = ticker.turns - before
            await ticker.stop()
        return seqnos, during

    seqnos, during = run_on(kind, main)
    assert seqnos == list(range(1, 201))
    assert during == 0


@pytest.mark.parametrize("kind", LOOPS)
def test_a_batch_reaches_a_waiting_consumer_whole_and_in_order(intr, provider, kind):
    async def main():
        async with aio.edges(6, interruptor=intr) as stream:
            async def consume():
                events = [await stream.__anext__()]
                pending = stream.pending  # the rest of the batch came in the same read
                events += [await stream.__anext__() for _ in range(pending)]
                return events, pending

            consumer = asyncio.ensure_future(consume())
            await until(lambda: stream._waiter is not None)
            provider.write(6, records(6, range(1, 101)))
            return await consumer

    events, pending = run_on(kind, main)
    assert pending == 99
    assert [ev.seqno for ev in events] == list(range(1, 101))
    assert [ev.value for ev in events] == [1, 0] * 50


@pytest.mark.parametrize("kind", LOOPS)
def test_losses_are_counted_within_and_across_reads_and_said_once(intr, provider, kind, caplog):
    caplog.set_level(logging.WARNING, logger="RPIO")
    # max_queue=4: each read takes at most 4 records, so gaps fall inside reads and between them
    seqnos = [1, 2, 3, 4, 7, 8, 9, 10, 11, 20, 21, 22, 23, 24, 25, 26, 30]

    async def main():
        async with aio.edges(9, max_queue=4, interruptor=intr) as stream:
            provider.write(9, records(9, seqnos))
            got = [(await stream.next(WAIT)).seqno for _ in seqnos]
            return got, stream.lost

    got, lost = run_on(kind, main)
    assert got == seqnos
    assert lost == 2 + 8 + 3
    assert len([r for r in caplog.records if "lost" in r.getMessage()]) == 1


# -- one waiter per stream, re-armed ------------------------------------------------------------
@pytest.mark.parametrize("kind", LOOPS)
def test_the_re_armed_waiter_serves_waits_mixed_with_timeouts_and_ends_on_cancel(intr, provider, kind):
    """__anext__ re-arms one waiter for every wait; next(timeout) uses waiters of its own with
    timers. Mixed, each wait still gets exactly its own edge, a timed-out wait leaves nothing
    behind for the next, and a cancelled wait on the re-armed waiter still ends the stream."""

    async def main():
        got, waiters = [], set()
        async with aio.edges(7, interruptor=intr) as stream:
            for seqno in range(1, 41):
                assert await stream.next(0.001) is None  # a timed-out wait between edges
                consumer = asyncio.ensure_future(stream.__anext__())
                await until(lambda: stream._waiter is not None)
                waiters.add(id(stream._waiter))
                provider.write(7, records(7, [seqno]))
                got.append((await consumer).seqno)
            consumer = asyncio.ensure_future(stream.__anext__())
            await until(lambda: stream._waiter is not None)
            consumer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await consumer
            closed = stream.closed
        return got, len(waiters), closed

    got, distinct, closed = run_on(kind, main)
    assert got == list(range(1, 41))
    assert distinct == 1
    assert closed
