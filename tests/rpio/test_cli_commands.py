"""The `rpio` command as people run it: subprocesses on shared simulated boards, pipes, exit
statuses, the kernel-tool verbs, completion and the man page."""

import json
import os
import shutil
import subprocess
import sys

import pytest

TIMEOUT = 60


def environment(**env):
    result = dict(os.environ, RPIO_BACKEND="sim")
    result.pop("RPIO_SIM_SHARED", None)
    result.update(env)
    return result


def rpio(*args, check=True, **env):
    result = subprocess.run([sys.executable, "-m", "RPIO", *args], capture_output=True, text=True,
                            env=environment(**env), timeout=TIMEOUT)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


@pytest.fixture
def board():
    """A fresh shared simulated board name, removed afterwards."""
    name = f"clitest{os.getpid()}x{os.urandom(3).hex()}"
    yield name
    rpio("sim", "reset", name, check=False)
    for entry in os.listdir("/dev/shm"):
        if entry.endswith("." + name) and entry.startswith("rpio-sim."):
            os.unlink(os.path.join("/dev/shm", entry))


def start(*args, stdout=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "RPIO", *args], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=environment())


def wait_until_waiting(process):
    """Read stderr up to the line that says the command waits for edges."""
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "waiting for edges" in line:
            return seen
    raise AssertionError(f"never waited: {''.join(seen)}")


def test_a_private_board_is_announced_and_a_shared_one_keeps_its_pins(board):
    result = rpio("--setoutput", "26:1")
    assert "no Raspberry Pi here" in result.stderr and "--sim NAME" in result.stderr
    rpio("--setoutput", "26:1", "--sim", board)
    shown = rpio("-i", "26", "--sim", board)
    assert shown.stdout == "GPIO 26: OUTPUT (1)\n"
    assert "no Raspberry Pi here" not in shown.stderr
    # --board is the same option (as in `rpio sim`)
    assert rpio("get", "26", "--board", board).stdout == "26=1\n"


def test_sysinfo_says_simulated():
    assert "simulated" in rpio("--sysinfo").stdout


def test_hardware_backend_off_a_pi_is_one_clear_line():
    result = rpio("--sysinfo", check=False, RPIO_BACKEND="hardware")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "RPIO_BACKEND=hardware" in result.stderr


def test_output_closed_early_ends_quietly_with_141():
    # `rpio -I | head -1`, made deterministic: nobody reads the pipe by the time rpio writes
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = start("-I", stdout=writer)
    finally:
        os.close(writer)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_help_names_every_command():
    usage = rpio("--help").stdout.splitlines()[0]
    for command in ("get", "set", "mon", "info", "sim", "pinout", "selftest", "mqtt", "completion",
                    "man"):
        assert command in usage


def test_wait_leaves_the_bias_as_it_is(board):
    # GPIO 8 is pulled up at reset: -w without a pull must not take the pull away (gpiomon)
    assert rpio("get", "8", "--sim", board).stdout == "8=1\n"
    watcher = start("-w", "8", "--count", "1", "--sim", board)
    try:
        wait_until_waiting(watcher)
        assert rpio("get", "8", "--sim", board).stdout == "8=1\n"
        rpio("sim", "drive", "8", "0", "--board", board)
        out, err = watcher.communicate(timeout=TIMEOUT)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert out.startswith("GPIO 8 interrupt: value = 0")
    rpio("sim", "drive", "8", "release", "--board", board)
    assert rpio("get", "8", "--sim", board).stdout == "8=1\n"  # still pulled up after it left


def test_wait_on_a_private_board_says_how_to_drive_it():
    watcher = start("-w", "17")
    try:
        seen = "".join(wait_until_waiting(watcher))
    finally:
        watcher.terminate()
        watcher.communicate(timeout=TIMEOUT)
    assert "rpio sim drive 17 1 --board NAME" in seen
    assert watcher.returncode == 0  # SIGTERM ends a monitor as Ctrl-C does


def test_mon_json_with_physical_pins(board):
    watcher = start("mon", "-P", "11", "--json", "--count", "2", "--bias", "pull-down",
                    "--sim", board)
    try:
        wait_until_waiting(watcher)
        rpio("sim", "drive", "17", "1", "--board", board)
        rpio("sim", "drive", "17", "0", "--board", board)
        out, err = watcher.communicate(timeout=TIMEOUT)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["gpio"], e["pin"], e["edge"], e["value"]) for e in events] == [
        (17, 11, "rising", 1), (17, 11, "falling", 0)]
    assert events[0]["timestamp_ns"] < events[1]["timestamp_ns"]
    assert [e["line_seqno"] for e in events] == [1, 2]


def test_get_set_info_verbs(board):
    assert json.loads(rpio("set", "-P", "11=1", "13:0", "--json", "--sim", board).stdout) == [
        {"gpio": 17, "pin": 11, "level": 1}, {"gpio": 27, "pin": 13, "level": 0}]
    assert rpio("get", "17,27", "--sim", board).stdout == "17=1 27=0\n"
    assert rpio("get", "-P", "11", "13", "--sim", board).stdout == "11=1 13=0\n"
    rows = json.loads(rpio("info", "--json", "2-3,17", "--sim", board).stdout)
    assert [(r["gpio"], r["pin"], r["function"], r["level"], r["pull"]) for r in rows] == [
        (2, 3, "IN", 1, "up"), (3, 5, "IN", 1, "up"), (17, 11, "OUT", 1, "off")]
    table = rpio("info", "17", "--sim", board).stdout.splitlines()
    assert table[0].split() == ["GPIO", "PIN", "FUNCTION", "SIGNAL", "LEVEL", "PULL", "PWM"]
    assert table[1].split() == ["17", "11", "OUT", "-", "1", "off", "software"]
    # which PWM engine serves a pin: the C++ engine on a simulated Pi 4, PIO on a simulated Pi 5
    assert json.loads(rpio("info", "--json", "4", RPIO_SIM_BOARD="pi5").stdout)[0]["pwm_engine"] == "pio"


def test_set_refuses_an_alt_pin_unless_forced_and_changes_nothing(board):
    # GPIO 2 to ALT0 (SDA1) through the shared board's registers, from a script
    script = ("import RPIO, rpio_core; RPIO.gpio_count(); "
              "RPIO.sim.chip().write32(0x00, 4 << 6)")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=TIMEOUT,
                   env=dict(os.environ, RPIO_BACKEND="sim", RPIO_SIM_SHARED=board))
    result = rpio("set", "17=1", "2=0", "--sim", board, check=False)
    assert result.returncode == 1 and "ALT0 (SDA1)" in result.stderr and "--force" in result.stderr
    assert rpio("info", "17", "--json", "--sim", board).stdout.count('"IN"') == 1  # untouched
    rpio("set", "2=0", "--force", "--sim", board)
    assert json.loads(rpio("info", "2", "--json", "--sim", board).stdout)[0]["function"] == "OUT"


def test_bad_physical_pin_and_compute_module(board):
    result = rpio("get", "-P", "1", "--sim", board, check=False)  # pin 1 is 3V3
    assert result.returncode == 5 and "header pin 1 is not a GPIO" in result.stderr
    result = rpio("get", "-P", "3", check=False, RPIO_SIM_BOARD="a020a0")  # CM3: no header
    assert result.returncode == 2 and "compute module" in result.stderr


def test_bash_completion_completes_commands_and_options(tmp_path):
    if not shutil.which("bash"):
        pytest.skip("no bash")
    script = tmp_path / "rpio.bash"
    script.write_text(rpio("completion", "bash").stdout)

    def complete(*words):
        line = " ".join(words)
        program = (f"source {script}; COMP_WORDS=(rpio {line}); COMP_CWORD={len(words)}; "
                   "_rpio; printf '%s\\n' \"${COMPREPLY[@]}\"")
        return subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                              check=True, timeout=TIMEOUT).stdout.split()

    assert {"get", "set", "mon", "info", "sim", "pinout", "selftest", "mqtt"} <= set(complete("''"))
    assert "--jumper" in complete("selftest", "--j")
    assert "drive" in complete("sim", "dr")
    assert "--json" in complete("mon", "--j")
    assert "--allow-writes" in complete("sim", "serve", "--al")


def test_man_page_renders_without_warnings():
    page = rpio("man").stdout
    assert page.startswith(".TH RPIO 1")
    for section in ("rpio get", "rpio sim drive", "rpio pinout", "rpio selftest", "rpio mqtt",
                    "EXIT STATUS"):
        assert section.replace("-", "\\-") in page
    if not shutil.which("groff"):
        pytest.skip("groff is not installed: the page was checked as text only")
    rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=page,
                              capture_output=True, text=True, timeout=TIMEOUT)
    assert rendered.returncode == 0 and rendered.stderr == ""


def test_sim_list_writes_old_revision_codes_with_four_digits(board):
    rpio("sim", "drive", "3", "1", "--board", board, "--model", "0002")
    line = next(line for line in rpio("sim", "list").stdout.splitlines() if line.startswith(board))
    assert line.split()[1] == "0002"


def test_unknown_part_is_named_plainly(board):
    result = rpio("sim", "press", "bell", "--board", board, check=False)
    assert result.returncode == 1
    assert result.stderr == ("rpio sim press: no part named 'bell' on this board "
                             "(parts on this board: none)\n")


def test_serve_with_a_script_ends_at_the_first_sigterm(tmp_path):
    # the script catches KeyboardInterrupt itself (as the doorbell example does): the first SIGTERM
    # must still end the server, not leave the page up waiting for a second signal
    script = tmp_path / "catches.py"
    script.write_text("import sys, threading\n"
                      "print('script up', file=sys.stderr, flush=True)\n"
                      "try:\n    threading.Event().wait()\nexcept KeyboardInterrupt:\n    pass\n")
    server = start("sim", "serve", "--port", "0", "--run", str(script))
    try:
        for line in server.stderr:
            if "script up" in line:
                break
        server.terminate()
        server.communicate(timeout=TIMEOUT)
    finally:
        server.kill()
    assert server.returncode == 0
