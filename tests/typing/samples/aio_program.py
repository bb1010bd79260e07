"""An RPIO.aio program: edges as an async iterator, waiting with a timeout, callbacks on the loop."""
import asyncio

import RPIO
import RPIO.aio


async def main() -> None:
    RPIO.setup(27, RPIO.OUT)
    async with RPIO.aio.edges(17, edge="falling", pull_up_down=RPIO.PUD_UP) as presses:
        async for event in presses:
            print(event.channel, event.value, event.timestamp_ns)
            RPIO.output(27, not RPIO.input(27))
            break
        nxt: RPIO.aio.EdgeEvent | None = await presses.next(timeout=0.5)
        print(nxt)
    edge = await RPIO.aio.wait_for_edge(17, RPIO.aio.FALLING, timeout=1.0)
    print(edge)


asyncio.run(main())
