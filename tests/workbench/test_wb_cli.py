"""`rpio pinout` and `rpio sim ...`: the pictures, and the commands acting on a shared board that a
script in another process uses (drive, press, list, reset, record, replay, export, serve --run)."""

import io
import itertools
import json
import os
import re
import select
import signal
import subprocess
import textwrap
import time
import urllib.request

import pytest
import rpio_core
from rpio_core import boards

import RPIO
import RPIO.sim
from RPIO import cli
from RPIO.workbench import vcd
from RPIO.workbench.board import shared_boards_available
from wb_helpers import PYTHON, subprocess_env


def run(*argv):
    """rpio ARGV in this process: (exit status, standard output)."""
    out = io.StringIO()
    status = cli.main(list(argv), out=out)
    return status, out.getvalue()


# -- rpio pinout ------------------------------------------------------------------------------


@pytest.mark.parametrize("model, header", [("c03111", "40"), ("0002", "26-rev1"),
                                           ("000e", "26-rev2"), ("pi5", "40"), ("zero2w", "40")])
def test_pinout_of_any_model_offline(model, header):
    status, text = run("pinout", "--model", model, "--no-color")
    assert status == 0
    info = boards.decode_revision(boards.resolve_board_name(model))
    assert text.splitlines()[0].startswith(info.model)
    # every pin of the header, at its place: "NAME (n) (n+1) NAME" rows, pin 1 first
    pins = boards.header_pins(header)
    rows = [line for line in text.splitlines() if re.search(r"\(\s*\d+\) \(\s*\d+\)", line)]
    for pair, line in zip(zip(pins[::2], pins[1::2]), rows):
        left, right = pair
        assert re.search(rf"{left.name} \(\s*{left.number}\) \(\s*{right.number}\) {right.name}",
                         line), line
    expected_rows = len(pins) // 2 + (4 if header == "26-rev2" else 0)  # rev 2: the P5 pads too
    assert len(rows) == expected_rows
    assert "\x1b[" not in text


def test_pinout_colours_on_request_and_for_compute_modules():
    status, text = run("pinout", "--model", "pi4", "--color")
    assert status == 0 and "\x1b[1;31m( 2)\x1b[0m" in text  # 5V in red
    status, text = run("pinout", "--model", "cm4", "--no-color")
    assert status == 0 and "no GPIO header" in text and "GPIO45" in text


def test_pinout_refuses_nonsense(capsys):
    assert run("pinout", "--model", "not-a-pi")[0] == 2
    assert "neither a revision code nor a board name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("pinout", "--model", "pi4", "--watch")


def test_pinout_watch_shows_functions_levels_and_pulls():
    RPIO.setup(27, RPIO.OUT, initial=RPIO.HIGH)
    RPIO.setup(22, RPIO.IN, pull_up_down=RPIO.PUD_OFF)
    RPIO.sim.drive(23, 1)
    status, text = run("pinout", "--watch", "--count", "1", "--no-color")
    assert status == 0
    line = next(line for line in text.splitlines() if "GPIO27" in line)
    assert re.search(r"OUT 1\s+GPIO27 \(13\)", line), line
    assert re.search(r"IN z\s+GPIO22 \(15\) \(16\) GPIO23 1↓> IN", text), text
    assert re.search(r"IN 1↑\s+GPIO2 \( 3\)", text)  # the BCM2711's reset pull-up


# -- rpio sim: a shared board between this process, a script and the commands ----------------

needs_shared = pytest.mark.skipif(not shared_boards_available(),
                                  reason="this RPIO.sim has no shared boards")
_names = itertools.count()


@pytest.fixture
def board_name():
    name = f"wbtest-{os.getpid()}-{next(_names)}"
    yield name
    RPIO.sim.use_board("c03111")  # this process leaves the shared board
    RPIO.sim.reset_board(name)  # removed (or reset, were a process still on it)


class Script:
    """A script in another process on the shared board, driven line by line through stdin."""

    SOURCE = textwrap.dedent('''
        import sys
        import RPIO

        RPIO.setwarnings(False)
        RPIO.setup(27, RPIO.OUT)

        def edge(gpio, value):
            print(f"edge {gpio} {value}", flush=True)

        RPIO.add_interrupt_callback(17, edge, edge="both", pull_up_down=RPIO.PUD_UP)
        RPIO.wait_for_interrupts(threaded=True)
        print("ready", flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[0] == "out":
                RPIO.output(27, int(command[1]))
                print("done", flush=True)
            elif command[0] == "quit":
                break
        RPIO.cleanup()
    ''')

    def __init__(self, board, tmp_path):
        path = tmp_path / "script.py"
        path.write_text(self.SOURCE)
        self.process = subprocess.Popen([PYTHON, str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=subprocess_env(RPIO_SIM_SHARED=board))
        self._buffer = ""
        self.expect("ready")

    def expect(self, text, timeout=10.0):
        """The next line of the script's output, which must be ``text``."""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while "\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([fd], [], [], max(0, remaining))
            if not readable:
                raise AssertionError(f"the script did not say {text!r} within {timeout} s "
                                     f"(stderr: {self._stderr()})")
            chunk = os.read(fd, 4096).decode()
            if not chunk:
                raise AssertionError(f"the script ended: {self._stderr()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        assert line == text, f"the script said {line!r}, not {text!r}"

    def _stderr(self):
        if self.process.poll() is None:
            return "(running)"
        return self.process.stderr.read()

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def close(self):
        if self.process.poll() is None:
            self.send("quit")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        assert self.process.returncode == 0, self.process.stderr.read()


@pytest.fixture
def script(board_name, tmp_path):
    child = Script(board_name, tmp_path)
    yield child
    child.close()


@needs_shared
def test_drive_and_press_reach_a_script_in_another_process(board_name, script):
    assert run("sim", "drive", "17", "0", "--board", board_name) == (
        0, "GPIO 17 driven to 0; it reads 0\n")
    script.expect("edge 17 0")
    assert run("sim", "drive", "17", "release", "--board", board_name)[0] == 0
    script.expect("edge 17 1")  # its pull-up decides again
    RPIO.sim.Button("bell", 17)  # this process is on the shared board now: a part for everyone
    assert run("sim", "click", "bell", "--board", board_name) == (0, "bell: click\n")
    script.expect("edge 17 0")
    script.expect("edge 17 1")
    causes = [entry.cause for entry in RPIO.sim.history(17)[-2:]]
    assert causes == ["part bell", "part bell"]


@needs_shared
def test_commands_name_their_board_or_refuse(board_name, script, capsys, monkeypatch):
    monkeypatch.delenv("RPIO_SIM_SHARED", raising=False)
    assert run("sim", "press", "bell")[0] == 1
    assert "which board?" in capsys.readouterr().err
    monkeypatch.setenv("RPIO_SIM_SHARED", board_name)  # the environment names it too
    assert run("sim", "press", "nobody")[0] == 1
    assert "parts on this board: none" in capsys.readouterr().err
    assert run("sim", "drive", "99", "1")[0] == 5  # no such GPIO: RPIO 0.10's status
    assert "does not exist" in capsys.readouterr().err
    assert run("sim", "reset", "no such board!")[0] == 1
    assert "board name" in capsys.readouterr().err


@needs_shared
def test_list_and_reset(board_name, script):
    status, text = run("sim", "list")
    assert status == 0
    line = next(line for line in text.splitlines() if line.startswith(board_name))
    assert str(script.process.pid) in line and "c03111" in line and "in use" in line
    script.send("out 1")
    script.expect("done")
    assert RPIO.sim.use_board(shared=board_name).level(27) == 1
    assert run("sim", "reset", board_name) == (0, f"shared board {board_name!r} reset\n")
    assert RPIO.sim.chip().pin_state(27).function == rpio_core.INPUT  # the reset state
    assert run("sim", "reset", f"{board_name}-none")[0] == 1


@needs_shared
def test_record_another_process_s_signal(board_name, tmp_path):
    RPIO.sim.use_board(shared=board_name)
    clock = RPIO.sim.Generator("clock", 4, frequency=200, duty=0.5)  # runs in this process
    clock.start()
    path = tmp_path / "clock.vcd"
    try:
        result = subprocess.run([PYTHON, "-m", "RPIO.cli", "sim", "record", str(path),
                                 "--seconds", "0.4", "--gpios", "4,17", "--board", board_name],
                                capture_output=True, text=True, timeout=60, env=subprocess_env())
    finally:
        clock.stop()
    assert result.returncode == 0, result.stderr
    assert re.match(rf"{re.escape(str(path))}: \d+ changes of 2 pins over 0\.4\d\d s", result.stdout)
    trace = vcd.read_vcd(path)
    levels = trace.levels("GPIO4_clock")
    assert [v for _t, v in trace.values("GPIO17")] == ["0"]
    periods = [b[0] - a[0] for a, b in zip(levels[1:], levels[3:]) if a[1] == 1][1:-1]
    assert len(periods) > 20
    assert sorted(periods)[len(periods) // 2] == pytest.approx(5_000_000, rel=0.05)  # 200 Hz


@needs_shared
def test_replay_a_file_onto_a_script_s_input(board_name, script, tmp_path):
    path = tmp_path / "presses.vcd"
    path.write_text(vcd.dumps([(0, 17, 1), (20_000_000, 17, 0), (50_000_000, 17, 1),
                               (60_000_000, 17, 0)], initial={17: 1}))
    result = subprocess.run([PYTHON, "-m", "RPIO.cli", "sim", "replay", str(path), "--board",
                             board_name], capture_output=True, text=True, timeout=60,
                            env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: 5 of 5 changes driven on GPIO 17 over 0.060 s\n"
    for value in (0, 1, 0):
        script.expect(f"edge 17 {value}")
    status, text = run("sim", "export", str(tmp_path / "all.vcd"), "--gpios", "17",
                       "--board", board_name)
    assert status == 0 and "changes of 1 pins" in text
    exported = vcd.read_vcd(tmp_path / "all.vcd").levels("GPIO17")
    assert [level for _t, level in exported][-3:] == [0, 1, 0]


@needs_shared
def test_serve_runs_a_script_beside_the_page(board_name, tmp_path):
    waiter = tmp_path / "wait_for_press.py"
    waiter.write_text(textwrap.dedent('''
        import threading
        import RPIO
        pressed = threading.Event()
        RPIO.setup(17, RPIO.IN, pull_up_down=RPIO.PUD_UP)
        RPIO.add_event_detect(17, RPIO.FALLING, callback=lambda channel: pressed.set())
        print("waiting", flush=True)  # armed: a press from now on is seen
        print("pressed" if pressed.wait(20) else "timeout", flush=True)
    '''))
    server = subprocess.Popen([PYTHON, "-m", "RPIO.cli", "sim", "serve", "--port", "0",
                               "--board", board_name, "--exit-with-script", "--run", str(waiter)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=subprocess_env())
    try:
        first = server.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", first).group(1)
        assert f"shared board {board_name!r}" in first and "writes allowed" in first
        assert server.stdout.readline() == "waiting\n"
        request = urllib.request.Request(url + "api/drive", json.dumps({"gpio": 17, "level": 0})
                                         .encode(), headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(request, timeout=10)) == {"ok": True}
        assert server.stdout.readline() == "pressed\n"
        assert server.wait(20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@needs_shared
def test_serve_ends_cleanly_on_sigterm(board_name):
    server = subprocess.Popen([PYTHON, "-m", "RPIO.cli", "sim", "serve", "--port", "0",
                               "--board", board_name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        assert "RPIO board page" in server.stdout.readline()
        assert any(server.pid in b.pids for b in RPIO.sim.list_boards() if b.name == board_name)
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0, server.stderr.read()
        listing = [b for b in RPIO.sim.list_boards() if b.name == board_name]
        assert not listing or (server.pid not in listing[0].pids
                               and server.pid not in listing[0].dead_pids)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_serve_without_a_board_name_says_what_it_shows(capsys, monkeypatch):
    monkeypatch.delenv("RPIO_SIM_SHARED", raising=False)
    # a port already taken: the command reports it instead of a traceback
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        status, _ = run("sim", "serve", "--port", str(taken.getsockname()[1]))
    finally:
        taken.close()
    err = capsys.readouterr().err
    assert status == 1 and "cannot listen on 127.0.0.1" in err
    assert "this process's own board" in err


def test_pinout_on_a_real_pi_draws_without_the_registers(tmp_path):
    (tmp_path / "proc/device-tree/system").mkdir(parents=True)
    (tmp_path / "proc/device-tree/system/linux,revision").write_bytes(bytes.fromhex("00a02082"))
    env = subprocess_env(RPIO_BACKEND="hardware", RPIO_ROOT=str(tmp_path))
    command = [PYTHON, "-m", "RPIO.cli", "pinout", "--no-color"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Pi 3 Model B (revision a02082, BCM2837): 40-pin header")
    # live levels need the registers: no /dev/gpiomem here, and the command says so
    result = subprocess.run(command + ["--watch", "--count", "1"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1 and "dev/gpiomem does not exist" in result.stderr
