"""RPIO.aio on the simulated board: RPIO's numbering, the simulated chip's edge records, RPIO's
own Interruptor (shared with the threaded API, so one pin cannot be claimed by both)."""

import asyncio

import pytest

import RPIO
from RPIO import Exceptions


@pytest.fixture(autouse=True)
def stop_everything():
    yield
    RPIO.cleanup_interrupts()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10))


def test_async_for_edges_in_board_mode_with_timestamps():
    async def main():
        RPIO.setmode(RPIO.BOARD)
        seen = []
        async with RPIO.aio.edges(11, edge="both", pull_up_down=RPIO.PUD_DOWN) as stream:
            RPIO.sim.drive(11, 1)  # pin 11 is GPIO 17
            RPIO.sim.drive(11, 0)
            async for event in stream:
                seen.append(event)
                if len(seen) == 2:
                    break
        return seen

    seen = run(main())
    assert [(e.channel, e.gpio, e.value) for e in seen] == [(11, 17, 1), (11, 17, 0)]
    history = [entry.timestamp_ns for entry in RPIO.sim.history(11)][-2:]
    assert [e.timestamp_ns for e in seen] == history


def test_wait_for_edge_returns_the_event_or_none():
    async def main():
        assert await RPIO.aio.wait_for_edge(22, "rising", timeout=0.05) is None
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, RPIO.sim.drive, 22, 1)
        return await RPIO.aio.wait_for_edge(22, "rising", timeout=5)

    event = run(main())
    assert (event.channel, event.value) == (22, 1)


def test_wait_for_interrupts_serves_coroutine_callbacks_on_the_loop():
    async def main():
        got = asyncio.Queue()

        async def callback(gpio, value):
            await got.put((gpio, value))

        RPIO.add_interrupt_callback(23, callback, edge="falling", pull_up_down=RPIO.PUD_UP)
        server = asyncio.ensure_future(RPIO.aio.wait_for_interrupts())
        await asyncio.sleep(0)
        RPIO.sim.drive(23, 0)
        result = await asyncio.wait_for(got.get(), 5)
        RPIO.stop_waiting_for_interrupts()
        await asyncio.wait_for(server, 5)
        return result

    assert run(main()) == (23, 0)


def test_a_pin_cannot_be_owned_by_both_loops():
    RPIO.add_interrupt_callback(24, print)

    async def main():
        async with RPIO.aio.edges(24):
            pass

    with pytest.raises(Exceptions.PinOwnedError):
        run(main())
    assert RPIO.default_interruptor().interrupt_callbacks().keys() == {24}


def test_import_rpio_does_not_import_asyncio():
    import subprocess
    import sys

    code = ("import sys, RPIO; from RPIO import *; print('asyncio' in sys.modules); "
            "RPIO.aio; print('asyncio' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["False", "True"], result.stderr
