"""A TCP server for the flood test, run as a subprocess so its memory can be measured alone.

A threaded callback that is slower than its input; "ping" is answered with "pong". Prints the
port, then serves until stdin closes; the last line printed is the server's queue figures.
"""

from __future__ import annotations

import json
import sys
import time

from rpio_interrupts import Interruptor


def main() -> None:
    delay = float(sys.argv[1])
    intr = Interruptor(max_workers=4)

    def cb(client, message):
        if message == "ping":
            client.send("pong\n")
        else:
            time.sleep(delay)  # slower than the flood

    port = intr.add_tcp_callback(0, cb, threaded_callback=True)
    intr.wait_for_interrupts(threaded=True)
    print(port, flush=True)
    sys.stdin.read()
    clients = intr.tcp_clients(port)
    print(json.dumps({"clients": len(clients), "paused": sum(not c.reading for c in clients),
                      "max_client_queued": max((c.queued for c in clients), default=0)}), flush=True)
    intr.cleanup_interrupts()


if __name__ == "__main__":
    main()
