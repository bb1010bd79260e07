"""The board page's update latency: from a pin change to the page having it. JSON out.

    python bench/board_page.py [--samples N] [--gap-ms MS] [--browser-samples N]

Measured (milliseconds, p50/p90/p99/max over --samples changes, every change waited for before
the next, --gap-ms apart: isolated changes; the server gathers a burst into one update per 5 ms):
- sse_update_ms: a script in this process writes an output (RPIO.output); a server-sent events
  client (the browser's EventSource, in Python) takes CLOCK_MONOTONIC when the update carrying the
  edge has arrived. Latency = that time - the edge's timestamp in the model (CLOCK_MONOTONIC, taken
  inside output()): the watcher's wake-up on the edge line, its diff, the JSON, the socket.
- sse_update_cross_process_ms: the same with the script in another process on a shared board
  (RPIO_SIM_SHARED): the edge crosses processes on the board's event path first. Skipped when
  RPIO.sim has no shared boards.
- browser_dom_update_ms: Debian's chromium (headless, through chromedriver) shows the page; a
  MutationObserver stamps the wall-clock time when pin 13 (GPIO 27) changes its data-level; the
  script stamped the wall clock just before output(). Skipped (with the reason) without
  selenium/chromium/chromedriver.
Baseline in the same run: http_get_board_ms, a GET /api/board round trip (the whole snapshot) on
the same server. Ratio: sse p50 / GET p50 (below 1: an update reaches the page faster than a
client could ask for it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import RPIO
import RPIO.sim
from RPIO.workbench.board import shared_boards_available
from RPIO.workbench.server import BoardServer

LED = 27  # header pin 13


def stats(values_ms):
    values = sorted(values_ms)
    if not values:
        return {"n": 0}

    def pick(q):
        return round(values[min(len(values) - 1, int(q * len(values)))], 3)

    return {"n": len(values), "p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99),
            "max": round(values[-1], 3)}


class EventStream:
    """Server-sent events over a raw socket: (event, data, CLOCK_MONOTONIC ns at arrival)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        while self.file.readline() not in (b"\r\n", b""):
            pass

    def next(self):
        name, data = "message", None
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError
            if line in (b"\n", b"\r\n"):
                if data is not None:
                    return name, json.loads(data), time.monotonic_ns()
                continue
            if line.startswith(b"event: "):
                name = line[7:].strip().decode()
            elif line.startswith(b"data: "):
                data = line[6:]

    def edges_of(self, gpio, count, timeout=10.0):
        """Wait for ``count`` edges of gpio: [(edge t_ns, arrival ns)]."""
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} edges arrived")
            _name, data, arrived = self.next()
            found += [(e["t_ns"], arrived) for e in data.get("edges", []) if e["gpio"] == gpio]
        return found

    def close(self):
        self.file.close()
        self.sock.close()


def http_get_ms(port, samples):
    times = []
    for _ in range(samples):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.perf_counter_ns()
        connection.request("GET", "/api/board", headers={"Host": f"127.0.0.1:{port}"})
        connection.getresponse().read()
        times.append((time.perf_counter_ns() - started) / 1e6)
        connection.close()
    return times


def in_process(samples, gap_s):
    RPIO.sim.use_board("c03111")
    RPIO.setup(LED, RPIO.OUT)
    with BoardServer(port=0) as server:
        stream = EventStream(server.port)
        stream.next()  # the snapshot
        latencies = []
        for i in range(samples):
            RPIO.output(LED, (i + 1) % 2)
            (edge_ns, arrived_ns), = stream.edges_of(LED, 1)
            latencies.append((arrived_ns - edge_ns) / 1e6)
            time.sleep(gap_s)
        stream.close()
        get = http_get_ms(server.port, samples)
    return latencies, get


CHILD = textwrap.dedent('''
    import sys, time, RPIO
    RPIO.setup(27, RPIO.OUT)
    print("ready", flush=True)
    samples, gap = int(sys.argv[1]), float(sys.argv[2])
    sys.stdin.readline()
    for i in range(samples):
        RPIO.output(27, (i + 1) % 2)
        time.sleep(gap)
    print("done", flush=True)
    sys.stdin.readline()
''')


def cross_process(samples, gap_s):
    name = f"bench-page-{os.getpid()}"
    env = dict(os.environ, RPIO_SIM_SHARED=name, RPIO_BACKEND="sim")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(samples), str(gap_s)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline() == "ready\n"
        RPIO.sim.use_board(shared=name)
        with BoardServer(port=0) as server:
            stream = EventStream(server.port)
            stream.next()
            child.stdin.write("go\n")
            child.stdin.flush()
            edges = stream.edges_of(LED, samples, timeout=samples * gap_s + 30)
            stream.close()
        child.stdin.write("end\n")
        child.stdin.flush()
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        RPIO.sim.use_board("c03111")
        RPIO.sim.reset_board(name)
    return [(arrived - edge) / 1e6 for edge, arrived in edges]


def browser(samples, gap_s):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed"
    chromium = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "")
                     if p and os.path.isfile(p)), None)
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return None, "chromium/chromedriver are not installed (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    RPIO.sim.use_board("c03111")
    RPIO.setup(LED, RPIO.OUT)
    try:
        with BoardServer(port=0) as server:
            driver.get(server.url)
            deadline = time.monotonic() + 20
            while not driver.execute_script(
                    "return document.getElementById('status').textContent === 'live' && "
                    "!!document.getElementById('pin-13').dataset.level"):
                if time.monotonic() > deadline:
                    return None, "the page did not come up"
                time.sleep(0.01)
            driver.execute_script("""
                window.__stamps = [];
                const pin = document.getElementById('pin-13');
                new MutationObserver(() => window.__stamps.push(
                    [pin.dataset.level, performance.timeOrigin + performance.now()]))
                  .observe(pin, {attributes: true, attributeFilter: ['data-level']});
            """)
            latencies = []
            for i in range(samples):
                level = (i + 1) % 2
                before_ms = time.time() * 1000
                RPIO.output(LED, level)
                deadline = time.monotonic() + 10
                while True:
                    stamps = driver.execute_script("return window.__stamps.splice(0)")
                    hit = [t for lvl, t in stamps if lvl == str(level)]
                    if hit:
                        latencies.append(hit[0] - before_ms)
                        break
                    if time.monotonic() > deadline:
                        return None, f"sample {i}: the page did not update"
                    time.sleep(0.001)
                time.sleep(gap_s)
        return latencies, None
    finally:
        driver.quit()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--browser-samples", type=int, default=60)
    args = parser.parse_args(argv)
    RPIO.setwarnings(False)
    gap = args.gap_ms / 1000
    sse, get = in_process(args.samples, gap)
    result = {
        "bench": "board_page",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "samples": args.samples,
        "sse_update_ms": stats(sse),
        "http_get_board_ms": stats(get),
    }
    result["ratio_sse_p50_over_get_p50"] = round(result["sse_update_ms"]["p50"]
                                                 / result["http_get_board_ms"]["p50"], 3)
    if shared_boards_available():
        result["sse_update_cross_process_ms"] = stats(cross_process(args.samples, gap))
    else:
        result["sse_update_cross_process_ms"] = "skipped: RPIO.sim has no shared boards"
    latencies, reason = browser(args.browser_samples, gap)
    result["browser_dom_update_ms"] = stats(latencies) if reason is None else f"skipped: {reason}"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
