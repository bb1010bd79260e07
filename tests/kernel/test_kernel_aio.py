"""rpio_interrupts.aio on the real kernel: async iteration over uAPI v2 line events, a timed-out
wait, and cancellation in the middle of a wait releasing the line (the kernel says so)."""

from __future__ import annotations

import asyncio

import pytest
import rpio_interrupts as intr
from kernel_helpers import EVENT_TIMEOUT
from rpio_interrupts import aio, uapi

pytestmark = pytest.mark.gpiosim

GPIO = 22


@pytest.fixture
def bound(sim):
    """A chip labelled like a Pi 4's and the asyncio API on an Interruptor of its own."""
    chip = sim(num_lines=54, label="pinctrl-bcm2711")
    interruptor = intr.Interruptor(uapi.ChardevLineProvider())
    try:
        yield chip, aio.bind(interruptor)
    finally:
        interruptor.cleanup_interrupts()


def line_used(chip) -> bool:
    with uapi.Chip(chip.dev_path) as gpiochip:
        return gpiochip.line_info(GPIO).used


def test_async_for_gets_kernel_events(bound):
    chip, api = bound
    chip.set_pull(GPIO, "pull-down")

    async def main():
        seen = []
        async with api.edges(GPIO, edge="both", pull_up_down=intr.PUD_DOWN) as stream:
            assert line_used(chip)
            for pull in ("pull-up", "pull-down"):
                chip.set_pull(GPIO, pull)
                seen.append(await stream.next(EVENT_TIMEOUT))
        return seen

    seen = asyncio.run(main())
    assert [(e.gpio, e.value, e.line_seqno) for e in seen] == [(GPIO, 1, 1), (GPIO, 0, 2)]
    assert seen[0].timestamp_ns < seen[1].timestamp_ns
    assert not line_used(chip)  # released on leaving `async with`


def test_wait_for_edge_times_out_and_cancellation_releases_the_line(bound):
    chip, api = bound
    chip.set_pull(GPIO, "pull-down")

    async def main():
        assert await api.wait_for_edge(GPIO, "rising", timeout=0.2) is None
        waiter = asyncio.ensure_future(api.wait_for_edge(GPIO, "rising"))
        for _ in range(200):  # until the request is in place
            if line_used(chip):
                break
            await asyncio.sleep(0.01)
        assert line_used(chip)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(main())
    assert not line_used(chip)
