"""A push button on a web page, live: RPIO.aio + aiohttp + server-sent events, no thread in the path.

Wire a push button between GPIO 17 and ground (the internal pull-up holds the pin high, a press
pulls it low). Each press and release reaches this program as a kernel edge event on a file
descriptor that the asyncio loop itself watches (``RPIO.aio.edges``). The program lets the
contacts settle, then pushes the button's state to every open browser tab over server-sent events.

    .venv/bin/pip install aiohttp     # next to RPIO (README.md: scripts/dev install)
    python examples/aio_button_web.py [--pin 17] [--host 127.0.0.1] [--port 8080] [--simulate]

Then open http://127.0.0.1:8080/ . Anywhere but on a Raspberry Pi, RPIO runs a simulated Pi; with
``--simulate`` this program presses the simulated button itself, bouncing contacts included, about
once a second, so you can watch the page change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random

import RPIO

BUTTON = 17
SETTLE_S = 0.02  # contacts bounce for a few ms: a level counts once the line was quiet this long
KEEPALIVE_S = 15.0  # an SSE comment this often, so a closed tab is noticed even with no presses

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RPIO button</title>
<style>
  body { font-family: system-ui, sans-serif; text-align: center; margin-top: 4em; }
  #button { display: inline-block; width: 10em; height: 10em; border-radius: 50%;
            line-height: 10em; font-size: 1.4em; color: white; background: #888;
            transition: background 80ms; }
  #button.pressed { background: #d33; }
  #button.released { background: #3a3; }
</style></head>
<body>
  <div id="button">waiting...</div>
  <p><span id="presses">0</span> presses, last change <span id="when">-</span></p>
  <script>
    const button = document.getElementById("button");
    new EventSource("events").onmessage = (message) => {
      const state = JSON.parse(message.data);
      if (state.pressed === null) return;
      button.className = state.pressed ? "pressed" : "released";
      button.textContent = state.pressed ? "pressed" : "released";
      document.getElementById("presses").textContent = state.presses;
      document.getElementById("when").textContent = new Date().toLocaleTimeString();
    };
  </script>
</body></html>
"""


class Hub:
    """The button's state, and one mailbox per open page. A mailbox holds only the newest state,
    so a slow browser tab can never hold the button back or fill memory."""

    def __init__(self) -> None:
        self.level: int | None = None  # None: not known yet
        self.presses = 0
        self.changed_ns: int | None = None  # kernel timestamp (CLOCK_MONOTONIC) of the change
        self.seqno = 0  # the kernel's sequence number of that edge
        self._mailboxes: set[asyncio.Queue] = set()

    def state(self) -> dict:
        pressed = None if self.level is None else self.level == 0  # pull-up: pressed reads 0
        return {"pressed": pressed, "presses": self.presses, "changed_ns": self.changed_ns,
                "seqno": self.seqno}

    def update(self, level: int, timestamp_ns: int | None = None, seqno: int = 0) -> bool:
        """A settled level of the pin. Returns True (and tells every page) if it changed."""
        if level == self.level:
            return False
        if self.level is not None and level == 0:
            self.presses += 1
        self.level, self.changed_ns, self.seqno = level, timestamp_ns, seqno
        state = self.state()
        for mailbox in self._mailboxes:
            if mailbox.full():
                mailbox.get_nowait()  # that tab has not taken the previous state: newest wins
            mailbox.put_nowait(state)
        return True

    @contextlib.contextmanager
    def subscribe(self):
        mailbox: asyncio.Queue = asyncio.Queue(maxsize=1)
        self._mailboxes.add(mailbox)
        try:
            yield mailbox
        finally:
            self._mailboxes.discard(mailbox)

    @property
    def pages(self) -> int:
        return len(self._mailboxes)


async def follow(presses, hub: Hub) -> None:
    """Feed ``hub`` from an open RPIO.aio.edges() stream until it is closed or the task is
    cancelled. After an edge it waits until the line has been quiet for SETTLE_S (the bounces are
    just more edges), then reads the level: the state shown is always the pin's real one."""
    hub.update(presses.get_value())
    async for event in presses:
        while await presses.next(timeout=SETTLE_S) is not None:
            pass  # still bouncing
        hub.update(presses.get_value(), event.timestamp_ns, event.seqno)


async def press_simulated_button(channel: int, period: float = 1.0, times: int | None = None) -> None:
    """On the simulated Pi: press and release the button like a finger would, with a few
    bouncing contacts each time."""
    count = 0
    while times is None or count < times:
        await asyncio.sleep(period)
        for level in (0, 1, 0, 1, 0):  # pressed, with bounces
            RPIO.sim.drive(channel, level)
        await asyncio.sleep(0.1 + random.random() * 0.2)
        for level in (None, 0, None):  # released (the pull-up takes over), with a bounce
            RPIO.sim.drive(channel, level)
        count += 1


def make_app(hub: Hub, channel: int = BUTTON, simulate: bool = False):
    """The aiohttp application: the page, its event stream, and the button watched for as long
    as the application runs."""
    from aiohttp import web  # here, so the button logic above can be used without aiohttp

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        with hub.subscribe() as mailbox:
            try:
                await response.write(f"data: {json.dumps(hub.state())}\n\n".encode())
                while True:
                    try:
                        state = await asyncio.wait_for(mailbox.get(), KEEPALIVE_S)
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")  # fails once the tab is gone
                        continue
                    await response.write(f"data: {json.dumps(state)}\n\n".encode())
            except ConnectionResetError:
                pass  # the tab was closed
        return response

    async def watch_button(app: web.Application):
        # Opening the stream here makes a busy line or a missing permission stop the start-up
        # with its error, instead of failing later in a background task.
        async with RPIO.aio.edges(channel, edge="both", pull_up_down=RPIO.PUD_UP) as presses:
            tasks = [asyncio.create_task(follow(presses, hub))]
            if simulate:
                tasks.append(asyncio.create_task(press_simulated_button(channel)))
            yield
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/events", events)
    app.cleanup_ctx.append(watch_button)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A push button on a web page, live.")
    parser.add_argument("--pin", type=int, default=BUTTON, help="the button's GPIO (BCM)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--simulate", action="store_true",
                        help="on the simulated Pi, press the button about once a second")
    args = parser.parse_args(argv)
    if args.simulate and not RPIO.sim.is_simulated():
        parser.error("--simulate needs the simulated Pi (this is a real one: press the button)")

    from aiohttp import web

    board = "a simulated " if RPIO.sim.is_simulated() else "this "
    print(f"RPIO {RPIO.VERSION} on {board}{RPIO.RPI_INFO['TYPE']}: button on GPIO {args.pin}, "
          f"page at http://{args.host}:{args.port}/")
    try:
        web.run_app(make_app(Hub(), args.pin, args.simulate), host=args.host, port=args.port,
                    print=None)
    finally:
        RPIO.cleanup()


if __name__ == "__main__":
    main()
