"""examples/aio_button_web.py: its button logic on the pipe provider, its web page over real HTTP
(when aiohttp is installed), and the whole example on the simulated board (when the umbrella
package RPIO is installed).

The example does ``import RPIO`` and uses ``RPIO.aio``, which is ``rpio_interrupts.aio.bind()``
on RPIO's Interruptor. For the pipe-provider tests, RPIO is stood in for by exactly what the
example uses of it (``aio`` bound to an Interruptor on a PipeProvider, and ``PUD_UP``); the
simulated-board test uses the real umbrella (and, if it does not export ``aio`` yet, binds it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import pathlib
import sys
import types

import pytest
import rpio_interrupts
from intr_helpers import WAIT, PipeProvider
from rpio_interrupts import Interruptor, aio

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "aio_button_web.py"

try:
    import RPIO as REAL_RPIO
except ImportError:  # the umbrella (and its C++ core) is not installed here
    REAL_RPIO = None


def load_example(rpio_module):
    saved = sys.modules.get("RPIO")
    sys.modules["RPIO"] = rpio_module
    try:
        spec = importlib.util.spec_from_file_location("aio_button_web", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["RPIO"]
        else:
            sys.modules["RPIO"] = saved
    return module


@pytest.fixture
def pipe_board():
    """A PipeProvider, and the example loaded with RPIO.aio bound to an Interruptor on it."""
    provider = PipeProvider()
    intr = Interruptor(provider)
    stand_in = types.ModuleType("RPIO")
    stand_in.aio = aio.bind(intr)
    stand_in.PUD_UP = rpio_interrupts.PUD_UP
    yield provider, stand_in, load_example(stand_in)
    intr.cleanup_interrupts()
    for line in list(provider.active.values()):
        line.close()


def run(coro):
    async def bounded():
        async with asyncio.timeout(2 * WAIT):
            return await coro

    return asyncio.run(bounded())


async def until(predicate):
    while not predicate():
        await asyncio.sleep(0)


def test_hub_counts_presses_and_keeps_only_the_newest_state_per_page(pipe_board):
    hub = pipe_board[2].Hub()

    async def main():
        assert hub.state()["pressed"] is None
        with hub.subscribe() as slow, hub.subscribe() as fast:
            assert hub.pages == 2
            assert hub.update(1)  # first known level: released, not a press
            assert fast.get_nowait()["pressed"] is False
            assert hub.update(0, 100, 7)
            assert not hub.update(0, 200, 8)  # no change, nothing sent
            assert hub.update(1, 300, 9)
            assert hub.update(0, 400, 10)
            assert fast.qsize() == 1 and slow.qsize() == 1
            assert slow.get_nowait() == {"pressed": True, "presses": 2, "changed_ns": 400, "seqno": 10}
        assert hub.pages == 0

    asyncio.run(main())


def test_follow_settles_bouncing_contacts_to_the_real_level(pipe_board):
    provider, rpio, example = pipe_board
    hub = example.Hub()

    async def main():
        with hub.subscribe() as page:
            async with rpio.aio.edges(17, edge="both", pull_up_down=rpio.PUD_UP) as presses:
                assert provider.requests[-1] == (17, "both", "pull-up", "RPIO")
                provider.levels[17] = 1
                follower = asyncio.create_task(example.follow(presses, hub))
                assert (await page.get())["pressed"] is False  # the level read at the start
                for rising in (False, True, False, True, False):  # a press, bouncing
                    provider.edge(17, rising)
                pressed = await page.get()
                for rising in (True, False, True):  # a release, bouncing
                    provider.edge(17, rising)
                released = await page.get()
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)
        return pressed, released

    pressed, released = run(main())
    assert (pressed["pressed"], pressed["presses"], pressed["seqno"]) == (True, 1, 1)
    assert (released["pressed"], released["presses"], released["seqno"]) == (False, 1, 6)
    assert provider.active == {}


def test_the_page_and_its_event_stream_over_http(pipe_board):
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    provider, _, example = pipe_board
    hub = example.Hub()

    async def main():
        provider.levels[17] = 1
        client = TestClient(TestServer(example.make_app(hub, 17)))
        await client.start_server()
        try:
            page = await client.get("/")
            assert page.status == 200 and "EventSource" in await page.text()
            stream = await client.get("/events")
            assert stream.headers["Content-Type"] == "text/event-stream"

            async def next_state():
                while True:
                    line = (await stream.content.readline()).decode()
                    if line.startswith("data: "):
                        return json.loads(line[6:])

            assert (await next_state())["pressed"] is False
            await until(lambda: hub.pages == 1)
            provider.falling(17)
            provider.levels[17] = 0
            assert await next_state() == {"pressed": True, "presses": 1, "changed_ns": provider._clock,
                                          "seqno": 1}
            provider.rising(17)
            assert (await next_state())["pressed"] is False
            stream.close()
        finally:
            await client.close()  # runs the app's cleanup: the line is released

    run(main())
    assert provider.active == {} and provider.released == [17]


def test_a_busy_button_line_stops_the_start_up(pipe_board):
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestServer

    provider, _, example = pipe_board
    provider.fail_next[17] = OSError(16, "gpio 17 is busy")

    async def main():
        server = TestServer(example.make_app(example.Hub(), 17))
        with pytest.raises(OSError, match="busy"):
            await server.start_server()
        await server.close()

    run(main())
    assert provider.active == {}


@pytest.mark.skipif(REAL_RPIO is None, reason="the umbrella package RPIO is not installed")
def test_the_example_on_the_simulated_board(monkeypatch):
    if not REAL_RPIO.sim.is_simulated():
        pytest.skip("RPIO drives a real Raspberry Pi here")
    if not hasattr(REAL_RPIO, "aio"):  # until the umbrella exports it: what it will export
        monkeypatch.setattr(REAL_RPIO, "aio", aio.bind(REAL_RPIO.default_interruptor()),
                            raising=False)
    example = load_example(REAL_RPIO)
    hub = example.Hub()

    async def main():
        states = []
        with hub.subscribe() as page:
            async def collect():
                while True:
                    states.append(await page.get())

            async with REAL_RPIO.aio.edges(23, edge="both", pull_up_down=REAL_RPIO.PUD_UP) as presses:
                tasks = [asyncio.create_task(example.follow(presses, hub)),
                         asyncio.create_task(collect())]
                await until(lambda: len(states) == 1)  # the pull-up holds it high: released
                for count in (3, 5):
                    await example.press_simulated_button(23, period=0, times=1)
                    await until(lambda count=count: len(states) >= count)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return states

    try:
        states = run(main())
    finally:
        REAL_RPIO.cleanup()
    assert [(s["pressed"], s["presses"]) for s in states] == [
        (False, 0), (True, 1), (False, 1), (True, 2), (False, 2)]
