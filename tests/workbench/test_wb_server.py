"""The board page's server: the snapshot, live updates by server-sent events, writes from the page
reaching the script (its interrupt callback), refusals, a real Pi's registers read-only."""

import http.client
import json
import os
import pathlib
import socket
import struct
import threading
import time

import pytest

import RPIO
import RPIO.sim
from RPIO import _backend
from RPIO._gpio import _state
from RPIO.workbench.board import HardwareSource, OfflineSource, layout_for
from RPIO.workbench.server import BoardServer
from wb_helpers import poll


@pytest.fixture
def server():
    with BoardServer(port=0, poll_interval=0.02, heartbeat=0.5) as running:
        yield running


def request(server, method, path, body=None, headers=None, raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    all_headers = {"Host": f"127.0.0.1:{server.port}"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    connection.request(method, path, body=data, headers=all_headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    content_type = response.getheader("Content-Type", "")
    return response.status, (json.loads(payload) if "json" in content_type else payload)


class EventStream:
    """A minimal server-sent events client (the browser's EventSource, in Python)."""

    def __init__(self, server, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        self.sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        assert b" 200 " in status, status
        while self.file.readline() not in (b"\r\n", b"\n", b""):
            pass

    def next(self):
        """(event name, data dict) of the next event; comments (pings) are skipped."""
        name, data = "message", []
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("the server closed the stream")
            line = line.decode().rstrip("\r\n")
            if not line:
                if data:
                    return name, json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def until(self, predicate, limit=200):
        for _ in range(limit):
            name, data = self.next()
            if predicate(name, data):
                return name, data
        raise AssertionError("no such event")

    def close(self):
        self.file.close()
        self.sock.close()


def test_the_snapshot_describes_the_header_and_every_pin(server):
    RPIO.setup(27, RPIO.OUT, initial=RPIO.HIGH)
    # the watcher publishes within milliseconds, the edge's cause follows: poll the snapshot
    snapshot = poll(lambda: (lambda s: s if s["pins"]["27"]["level"] == 1 and s["edges"]
                             and s["edges"][-1]["cause"] else None)(
        request(server, "GET", "/api/board")[1]), message="the snapshot with GPIO 27 high")
    layout = snapshot["board"]["layout"]
    assert layout["header"] == "40" and len(layout["rows"]) == 20
    assert layout["rows"][5][0] == {"number": 11, "name": "GPIO17", "kind": "gpio", "gpio": 17}
    assert snapshot["board"]["simulated"] and snapshot["board"]["writable"]
    assert set(snapshot["pins"]) == {str(g) for g in range(28)}
    assert snapshot["pins"]["27"] == {"gpio": 27, "function": "OUT", "signal": None, "level": 1,
                                      "pull": "off", "drive": None, "floating": False,
                                      "consumer": None}
    assert snapshot["pins"]["17"]["pull"] == "down"  # the BCM2711's reset pulls
    edge = snapshot["edges"][-1]
    assert (edge["gpio"], edge["level"]) == (27, 1)
    # who did it, from the board's history: this process, making the pin an output at 1
    assert edge["cause"] == f"pid {os.getpid()} function"


def test_the_page_and_its_assets_are_served(server):
    status, page = request(server, "GET", "/")
    assert status == 200 and b'<script src="/static/board.js">' in page
    for asset in ("/static/board.js", "/static/board.css"):
        status, body = request(server, "GET", asset)
        assert status == 200 and len(body) > 1000
    assert request(server, "GET", "/nothing")[0] == 404


def test_a_script_s_writes_reach_the_page_as_they_happen(server):
    stream = EventStream(server)
    try:
        name, snapshot = stream.next()
        assert name == "snapshot" and snapshot["pins"]["27"]["function"] == "IN"
        RPIO.setup(27, RPIO.OUT)  # no level change, no edge: found by the watcher's poll
        stream.until(lambda n, d: d.get("pins", {}).get("27", {}).get("function") == "OUT")
        started = time.monotonic()
        RPIO.output(27, 1)
        _, update = stream.until(lambda n, d: d.get("pins", {}).get("27", {}).get("level") == 1)
        assert time.monotonic() - started < 1.0
        assert [(e["gpio"], e["level"]) for e in update["edges"]] == [(27, 1)]
        # then who did it, found in the board's history
        _, patch = stream.until(lambda n, d: d.get("causes"))
        assert patch["causes"] == [{"t_ns": update["edges"][0]["t_ns"], "gpio": 27,
                                    "cause": f"pid {os.getpid()} output"}]
        RPIO.output(27, 0)  # a pulse shorter than any poll: the timeline still gets both edges
        RPIO.output(27, 1)
        RPIO.output(27, 0)
        edges = []
        stream.until(lambda n, d: edges.extend((e["gpio"], e["level"]) for e in d.get("edges", []))
                     or len(edges) >= 3)
        assert edges == [(27, 0), (27, 1), (27, 0)]
    finally:
        stream.close()


def test_a_drive_from_the_page_runs_the_script_s_callback(server):
    pressed = threading.Event()
    calls = []

    def callback(gpio, value):
        calls.append((gpio, value))
        pressed.set()

    RPIO.add_interrupt_callback(17, callback, edge="falling", pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
    assert RPIO.input(17) == 1
    status, answer = request(server, "POST", "/api/drive", {"gpio": 17, "level": 0})
    assert (status, answer) == (200, {"ok": True})
    assert pressed.wait(5), "the callback did not run"
    assert calls == [(17, 0)] and RPIO.input(17) == 0
    assert request(server, "POST", "/api/drive", {"gpio": 17, "level": None})[0] == 200
    assert RPIO.input(17) == 1  # released: the pull-up decides again
    assert RPIO.sim.chip().pin_state(17).drive is None


@pytest.mark.parametrize("body, status, message", [
    ({"gpio": 99, "level": 1}, 400, "does not exist"),
    ({"gpio": "17", "level": 1}, 400, "BCM number"),
    ({"gpio": 17, "level": 2}, 400, "level is 0, 1 or None"),
    ({"gpio": True, "level": 1}, 400, "BCM number"),
])
def test_bad_drives_are_refused_with_a_reason(server, body, status, message):
    got, answer = request(server, "POST", "/api/drive", body)
    assert got == status and message in answer["error"]


def test_requests_that_are_not_this_page_s_are_refused(server):
    port = server.port
    assert request(server, "GET", "/api/board", headers={"Host": f"evil.example:{port}"})[0] == 421
    assert request(server, "POST", "/api/drive", {"gpio": 17, "level": 1},
                   headers={"Origin": "http://evil.example"})[0] == 403
    assert request(server, "POST", "/api/drive", {"gpio": 17, "level": 1},
                   headers={"Origin": f"http://127.0.0.1:{port}"})[0] == 200
    assert request(server, "POST", "/api/drive", raw=b"gpio=17",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert request(server, "POST", "/api/drive", raw=b"{not json",
                   headers={"Content-Type": "application/json"})[0] == 400
    assert request(server, "POST", "/api/drive", raw=b"[1]",
                   headers={"Content-Type": "application/json"})[0] == 400
    assert request(server, "POST", "/api/drive", raw=b" " * 5000,
                   headers={"Content-Type": "application/json"})[0] == 413
    assert request(server, "POST", "/api/else", {"x": 1})[0] == 404
    assert RPIO.sim.chip().pin_state(17).drive == 1  # only the same-origin drive went through


def test_a_read_only_page_writes_nothing():
    with BoardServer(port=0, read_only=True) as server:
        status, answer = request(server, "POST", "/api/drive", {"gpio": 17, "level": 1})
        assert status == 403 and "read-only" in answer["error"]
        assert request(server, "GET", "/api/board")[1]["board"]["writable"] is False
    assert RPIO.sim.chip().pin_state(17).drive is None


def test_parts_need_the_parts_model_or_name_a_real_part(server):
    status, answer = request(server, "POST", "/api/part", {"name": "nobody", "action": "press"})
    assert status == 404
    assert request(server, "POST", "/api/part", {"name": 3, "action": "press"})[0] == 400


@pytest.mark.skipif(not hasattr(RPIO.sim, "Button"), reason="RPIO.sim has no parts yet")
def test_a_button_part_is_pressed_from_the_page(server):
    pressed = threading.Event()
    RPIO.add_interrupt_callback(17, lambda gpio, value: pressed.set(), edge="falling",
                                pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
    RPIO.sim.Button("bell", 17)
    snapshot = poll(lambda: [p for p in request(server, "GET", "/api/board")[1]["parts"]
                             if p["name"] == "bell"], message="the part in the snapshot")
    assert snapshot[0]["kind"] == "button" and snapshot[0]["gpios"] == [17]
    assert snapshot[0]["actions"] == ["press", "release", "click"]
    assert request(server, "POST", "/api/part", {"name": "bell", "action": "press"})[0] == 200
    assert pressed.wait(5)
    assert RPIO.input(17) == 0
    assert request(server, "POST", "/api/part", {"name": "bell", "action": "release"})[0] == 200
    assert RPIO.input(17) == 1
    status, answer = request(server, "POST", "/api/part", {"name": "bell", "action": "start"})
    assert status == 400 and "cannot" in answer["error"]


def test_a_new_board_is_a_new_snapshot(server):
    stream = EventStream(server)
    try:
        assert stream.next()[1]["board"]["layout"]["header"] == "40"
        RPIO.sim.use_board("0002")  # a rev 1 Model B: 26 pins, GPIO 0/1 on pins 3/5
        _, snapshot = stream.until(lambda n, d: n == "snapshot")
        layout = snapshot["board"]["layout"]
        assert layout["header"] == "26-rev1" and layout["rows"][1][0]["gpio"] == 0
        assert "21" in snapshot["pins"] and "27" not in snapshot["pins"]
    finally:
        stream.close()


def test_the_history_downloads_as_vcd(server):
    RPIO.setup(27, RPIO.OUT)
    RPIO.output(27, 1)
    RPIO.output(27, 0)
    status, body = request(server, "GET", "/api/history.vcd")
    assert status == 200
    from RPIO.workbench import vcd

    trace = vcd.read_vcd(body.decode())
    assert [v for _t, v in trace.values("GPIO27")] == ["0", "1", "0"]


def test_idle_streams_get_pings_and_end_when_the_server_stops():
    server = BoardServer(port=0, heartbeat=0.05).start()
    stream = EventStream(server)
    try:
        stream.next()
        line = b""
        while not line.startswith(b": ping"):
            line = stream.file.readline()
        server.stop()
        with pytest.raises(EOFError):
            while True:
                stream.next()
    finally:
        stream.close()
        server.stop()


# -- a real Pi: registers through a file-backed page, read-only unless allowed --------------


def fake_pi(root: pathlib.Path, revision: int):
    (root / "proc/device-tree/system").mkdir(parents=True)
    (root / "proc/device-tree/system/linux,revision").write_bytes(revision.to_bytes(4, "big"))
    (root / "dev").mkdir()
    (root / "dev" / "gpiomem").write_bytes(bytes(4096))
    return root / "dev" / "gpiomem"


@pytest.fixture
def real_pi(tmp_path):
    page = fake_pi(tmp_path, 0xA02082)  # a Pi 3 B
    previous = _state._board
    _state.use_board(_backend.identify({"RPIO_ROOT": str(tmp_path)}))
    yield page
    _state.use_board(previous)


def _write_word(page, offset, value):
    with open(page, "r+b") as file:
        file.seek(offset)
        file.write(struct.pack("<I", value))


def test_a_real_pi_is_watched_read_only(real_pi):
    with BoardServer(port=0, poll_interval=0.02) as server:
        assert isinstance(server.source, HardwareSource)
        status, snapshot = request(server, "GET", "/api/board")
        assert snapshot["board"]["simulated"] is False and snapshot["board"]["writable"] is False
        assert snapshot["pins"]["4"]["function"] == "IN" and snapshot["pins"]["4"]["pull"] is None
        _write_word(real_pi, 0x00, 1 << 12)  # GPFSEL0: GPIO 4 output (another program did it)
        _write_word(real_pi, 0x34, 1 << 4)  # GPLEV0: it reads 1
        poll(lambda: request(server, "GET", "/api/board")[1]["pins"]["4"]["level"] == 1,
             message="the page seeing GPIO 4 high")
        assert request(server, "GET", "/api/board")[1]["pins"]["4"]["function"] == "OUT"
        status, answer = request(server, "POST", "/api/drive", {"gpio": 4, "level": 0})
        assert status == 403 and "--allow-writes" in answer["error"]
        assert request(server, "GET", "/api/history.vcd")[0] == 404
    assert struct.unpack_from("<I", real_pi.read_bytes(), 0x28)[0] == 0  # GPCLR0 never written


def test_allow_writes_sets_a_real_output_and_nothing_else(real_pi):
    _write_word(real_pi, 0x00, 1 << 12)  # GPIO 4 an output
    with BoardServer(port=0, allow_writes=True) as server:
        assert request(server, "POST", "/api/drive", {"gpio": 4, "level": 1})[0] == 200
        assert struct.unpack_from("<I", real_pi.read_bytes(), 0x1C)[0] == 1 << 4  # GPSET0
        status, answer = request(server, "POST", "/api/drive", {"gpio": 17, "level": 1})
        assert status == 400 and "only be set while it is an output" in answer["error"]
        assert request(server, "POST", "/api/drive", {"gpio": 4, "level": None})[0] == 400


def test_layouts_of_every_header():
    assert layout_for("pi4").gpios == tuple(layout_for("c03111").gpios)
    rev2 = layout_for("000e")
    assert rev2.header == "26-rev2" and rev2.extra[0][0] == "P5" and 28 in rev2.gpios
    assert layout_for("0002").rows[1][0].gpio == 0
    module = layout_for("cm4")
    assert module.header is None and module.module_gpios == tuple(range(46))
    assert layout_for("cm5").module_gpios == tuple(range(28))
    offline = OfflineSource("pi5")
    assert not offline.live and offline.pin_states() == {} and offline.layout.info.chip == "rp1"
    with pytest.raises(ValueError):
        layout_for("not a pi")



def test_the_number_of_pages_following_the_board_is_bounded(monkeypatch):
    from RPIO.workbench import server as server_module

    monkeypatch.setattr(server_module, "MAX_STREAMS", 1)
    with BoardServer(port=0, heartbeat=0.2) as server:
        first = EventStream(server)
        try:
            assert first.next()[0] == "snapshot"
            status, answer = request(server, "GET", "/api/events")
            assert status == 503 and "1 pages follow this board already" in answer["error"]
        finally:
            first.close()
        # the first page went away: its place is free again (its thread notices at a ping)
        poll(lambda: server.streams.acquire(blocking=False), message="a free place")
        server.streams.release()


def test_a_board_out_of_event_lines_is_polled_instead(caplog):
    chip = RPIO.sim.chip()
    held = []
    try:
        while True:  # every process on a board shares one bounded table of event lines
            held.append(chip.request_events(5, True, True))
    except RuntimeError:
        pass
    for line in held[:2]:  # room for two lines only: the header's first GPIOs (2 and 3) get them
        line.close()
    try:
        with caplog.at_level("WARNING", logger="RPIO.workbench"):
            server = BoardServer(port=0, poll_interval=0.02).start()
        try:
            assert "the board page: no edge line for GPIO 4, 14, 15, 17," in caplog.text
            RPIO.setup(27, RPIO.OUT)
            RPIO.output(27, 1)  # no line for GPIO 27: the poll finds it
            poll(lambda: request(server, "GET", "/api/board")[1]["pins"]["27"]["level"] == 1,
                 message="GPIO 27 high on the page")
        finally:
            server.stop()
    finally:
        for line in held[2:]:
            line.close()


def test_a_burst_of_edges_is_gathered_not_flooded():
    RPIO.setup(4, RPIO.IN)
    clock = RPIO.sim.Generator("clock", 4, frequency=5000, duty=0.5)
    with BoardServer(port=0, heartbeat=0.2) as server:
        stream = EventStream(server)
        try:
            stream.next()
            clock.start()
            started = time.monotonic()
            updates, sent, skipped = 0, 0, 0
            while time.monotonic() - started < 0.5:
                name, data = stream.next()
                if name == "update" and data["edges"]:  # (updates with causes come too)
                    updates += 1
                    sent += sum(1 for e in data["edges"] if e["gpio"] == 4)
                    skipped += data.get("skipped", 0)
                    assert len(data["edges"]) <= 200
            clock.stop()
        finally:
            clock.stop()
            stream.close()
    # ~5,000 edges in 0.5 s; at most one update per 5 ms (plus the odd early one)
    assert sent + skipped > 1000
    assert updates <= 0.6 / 0.005


def test_api_board_reports_the_wires(server):
    RPIO.sim.wire(22, 23)
    poll(lambda: request(server, "GET", "/api/board")[1]["wires"] == [[22, 23]],
         message="the wire in the snapshot")
    RPIO.sim.wires()[0].remove()
    poll(lambda: request(server, "GET", "/api/board")[1]["wires"] == [], message="no wire")


def test_the_timeline_feed_comes_from_the_board_s_history(server):
    """/api/history: every change since a time, and whether the page can trust it is complete
    (the ring reached back that far, the limit was not hit)."""
    RPIO.setup(27, RPIO.OUT)
    for level in (1, 0, 1):
        RPIO.output(27, level)
    ours = [(e.timestamp_ns, 27, e.level) for e in RPIO.sim.history(27)]

    def feed(query):
        status, answer = request(server, "GET", "/api/history" + query)
        assert status == 200
        return answer

    assert len(ours) == 3
    answer = poll(lambda: (lambda a: a if [e["gpio"] for e in a["edges"]].count(27) == 3
                           else None)(feed("?since_ns=0")), message="three changes of GPIO 27")
    assert answer["complete"] and answer["from_ns"] is None
    assert [(e["t_ns"], e["gpio"], e["level"]) for e in answer["edges"] if e["gpio"] == 27] == ours
    last = answer["edges"][-1]["t_ns"]
    assert feed(f"?since_ns={last}")["edges"] == []
    # a small ring that wraps: the feed says what it lost and where its history starts
    RPIO.sim.chip().history_capacity = 16
    for _ in range(20):
        RPIO.output(27, 0)
        RPIO.output(27, 1)
    oldest = RPIO.sim.chip().history()[0][0]
    wrapped = poll(lambda: (lambda a: a if a["from_ns"] == oldest else None)(
        feed(f"?since_ns={last}")), message="the wrapped ring")
    assert not wrapped["complete"] and len(wrapped["edges"]) == 16
    newest = feed(f"?since_ns={oldest}&limit=5")
    assert not newest["complete"] and len(newest["edges"]) == 5  # the limit hit
    assert feed(f"?since_ns={oldest}")["complete"]  # from the oldest it holds: all there
    for bad in ("?since_ns=x", "?limit=0", "?limit=20001"):
        assert request(server, "GET", "/api/history" + bad)[0] == 400
