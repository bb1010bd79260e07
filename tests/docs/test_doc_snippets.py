"""The guides' code runs: every ```python block of docs/*.md and of the package READMEs, as a user
would paste it, on a simulated board (a subprocess each, RPIO_BACKEND=sim, in a temporary
directory), and the shared-board shell recipe of docs/develop-without-a-pi.md, end to end.

Snippets are fragments of a guide: GLUE gives each the lines the guide's prose supplies around it
(the `ring` callback, `run_my_program`, the `mylamp` module...), keyed by the file and a line of
the block. A block that is an API listing, not a program, is in LISTINGS with the reason.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("packages/*/README.md"))]
PRELUDE = "import RPIO, RPIO.sim\n"
# asyncio snippets serve until a press or forever: the glue presses the simulated button on 17 (and
# 5) and bounds the run to 2 s, which ends it as a task cancellation (what Ctrl-C does to a user)
BOUNDED = """import asyncio, threading
_run = asyncio.run
def _bounded(coro):
    async def _wrapper():
        try:
            await asyncio.wait_for(coro, 2)
        except TimeoutError:
            pass
    return _run(_wrapper())
asyncio.run = _bounded
def _press():
    for gpio in (17, 5):
        RPIO.sim.drive(gpio, 0)
        RPIO.sim.drive(gpio, 1)
threading.Timer(0.3, _press).start()
"""

# (file name, a line of the block) -> code run before the block (after PRELUDE)
GLUE: dict[tuple[str, str], str] = {
    ("develop-without-a-pi.md", 'bell = RPIO.sim.Button("doorbell", 17)'):
        "rings = []\ndef ring(gpio, value):\n    rings.append(value)\n",
    ("develop-without-a-pi.md", 'lamp = RPIO.sim.LED("porch", 18)'): "import time\nt = time.monotonic_ns()\n",
    ("develop-without-a-pi.md", 'RPIO.sim.load_board_file("doorbell.toml")'):
        f"import shutil\nshutil.copy({str(ROOT / 'examples/doorbell_tests/board.toml')!r}, 'doorbell.toml')\n",
    ("develop-without-a-pi.md", "with BoardServer(port=0) as server:"):
        "def run_my_program():\n    RPIO.setup(17, RPIO.OUT); RPIO.output(17, 1)\n",
    ("develop-without-a-pi.md", "export_vcd(\"all.vcd\")"):
        "import time\nt0 = time.monotonic_ns()\nRPIO.setup(17, RPIO.OUT)\n"
        "def run_my_program():\n    RPIO.output(17, 1); RPIO.output(17, 0)\n"
        # a capture from another tool to read: a pin and an 8-bit bus
        "open('capture.vcd', 'w').write('$timescale 1us $end\\n$scope module top $end\\n"
        "$var wire 1 ! GPIO17 $end\\n$var wire 8 # bus $end\\n$upscope $end\\n$enddefinitions $end\\n"
        "#0\\n0!\\nb10100101 #\\n#5\\n1!\\n')\n",
    ("asyncio.md", "first = await asyncio.wait("): BOUNDED + "pin = None\n",
    ("asyncio.md", "async def on_button(gpio_id, value):"):
        BOUNDED + "class _Mqtt:\n    async def publish(self, topic, value):\n        pass\nmqtt = _Mqtt()\n",
    ("asyncio.md", "async with RPIO.aio.edges(17, edge=\"falling\""): BOUNDED,
    ("asyncio.md", "async for batch in pulses.batches():"): BOUNDED,
}
# blocks that end inside a coroutine body (GLUE opened it): indent them, then run the coroutine
INDENTED = {("asyncio.md", "first = await asyncio.wait("), ("asyncio.md", "async def on_button(gpio_id, value):")}
EPILOGUE: dict[tuple[str, str], str] = {}
# the port of a TCP example: any free one here (other programs on the machine may hold 8080)
PORTS = {("asyncio.md", "async def on_button(gpio_id, value):")}
# pytest modules: run by pytest, not python
PYTEST = {("develop-without-a-pi.md", "def test_the_lamp_follows_the_button(sim_board):"),
          ("develop-without-a-pi.md", "def bell(sim_board):"),
          ("README.md", "def test_the_led_follows_the_button(sim_board):")}
MYLAMP = '''import threading
import RPIO
def start():
    """A press lights the lamp on 27 for half a second."""
    RPIO.setup(27, RPIO.OUT)
    def pressed(gpio, value):
        RPIO.output(27, 1)
        threading.Timer(0.5, RPIO.output, (27, 0)).start()
    RPIO.add_interrupt_callback(17, pressed, edge="falling", pull_up_down=RPIO.PUD_UP)
    RPIO.wait_for_interrupts(threaded=True)
'''
# (file, line) -> why it is not run
LISTINGS: dict[tuple[str, str], str] = {
    ("mqtt.md", 'config = RPIO.mqtt.load_config("garage.toml")'):
        "serves until SIGTERM and needs a broker (tests/mqtt/test_mqtt_api.py runs load_config and the "
        "Bridge against Mosquitto)",
    ("fleet.md", 'pi = SimulatedPi("fleet-pi00", "pi00.toml")'):
        "needs a broker on port 1883 (tests/mqtt/test_mqtt_fleet.py runs examples/mqtt_fleet.py, "
        "SimulatedPis, against Mosquitto)",
    ("workbench.md", "RPIO.sim.use_board(model=None, *, shared=None) -> SimChip"): "an API listing with return types",
    ("design.md", "class LineProvider(Protocol):"): "the provider protocol (type declarations)",
    ("asyncio.md", "async def follow(presses, hub):"): "a part of examples/aio_button_web.py (tested whole in tests/rpio)",
    ("asyncio.md", "class Hub:"): "a part of examples/aio_button_web.py (tested whole in tests/rpio)",
    ("asyncio.md", "async def events(request):"): "a part of examples/aio_button_web.py (tested whole in tests/rpio)",
    ("asyncio.md", "async def watch_button(app):"): "a part of examples/aio_button_web.py (tested whole in tests/rpio)",
    ("README.md", "RPIO.wait_for_interrupts()                # one epoll loop"):
        "serves forever (the same calls run in the sim_board example below it)",
    ("README.md", "servo = Servo()"): "needs the DMA engine of a Pi (tests/pwm runs the same calls on the model)",
    ("README.md", "import rpio_interrupts as RPIO"): "the kernel's GPIO chip, not the simulated board (the kernel tier runs it)",
    ("README.md", "provider.request(gpio, *, edge, bias, consumer) -> handle"): "an API listing",
    ("README.md", "make_pwm_class("): "an API listing",
}


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            found.append((path.name, text[: match.start()].count("\n") + 1, match.group(1)))
    return found


def _key(table, name: str, code: str):
    return next((key for key in table if key[0] == name and key[1] in code), None)


BLOCKS = _blocks()


@pytest.mark.parametrize("name,line,code", BLOCKS, ids=[f"{n}:{number}" for n, number, _ in BLOCKS])
def test_the_snippet_runs(name: str, line: int, code: str, tmp_path: pathlib.Path) -> None:
    listing = _key(LISTINGS, name, code)
    if listing:
        compile(code, f"{name}:{line}", "exec") if "->" not in code else None
        pytest.skip(f"not a program: {LISTINGS[listing]}")
    env = {**os.environ, "RPIO_BACKEND": "sim", "PYTHONPATH": str(tmp_path)}
    env.pop("RPIO_SIM_SHARED", None)
    env.pop("RPIO_SIM_CONFIG", None)
    glue = _key(GLUE, name, code)
    source = PRELUDE + (GLUE[glue] if glue else "")
    if glue in PORTS:
        code = code.replace("add_tcp_callback(8080,", "add_tcp_callback(0,")
    if glue in INDENTED:
        source += "async def _main():\n" + textwrap.indent(code, "    ") + "\nasyncio.run(_main())\n"
    else:
        source += code + EPILOGUE.get(glue, "")
    if _key({k: 1 for k in PYTEST}, name, code):
        (tmp_path / "mylamp.py").write_text(MYLAMP)
        (tmp_path / f"test_snippet_{line}.py").write_text(source)
        if "doorbell" in source:
            for file in (ROOT / "examples" / "doorbell_tests").glob("*.py"):
                if not file.name.startswith("test_"):
                    (tmp_path / file.name).write_text(file.read_text())
            (tmp_path / f"test_snippet_{line}.py").write_text(
                "import types\nimport pytest\nimport doorbell\nRING = 0.1\n" + source)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    else:
        (tmp_path / "snippet.py").write_text(source)
        command = [sys.executable, "snippet.py"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{name}:{line}\n{source}\n--- output\n{result.stdout}{result.stderr}"


def test_one_board_for_several_processes_recipe(tmp_path: pathlib.Path) -> None:
    """docs/develop-without-a-pi.md's shared-board recipe, its two terminals as two processes."""
    text = (ROOT / "docs" / "develop-without-a-pi.md").read_text()
    section = text[text.index("### One board for several processes"):]
    recipe = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    terminal_1, terminal_2 = [re.sub(r"\s+#.*", "", line).strip() for line in recipe.splitlines()
                              if line.strip().startswith("RPIO_SIM")]
    name = f"docs{os.getpid()}"  # a board of this test's own, not the user's "doorbell"
    board = tmp_path / "board.toml"
    original = (ROOT / "examples/doorbell_tests/board.toml").read_text()
    board.write_text(original.replace('shared = "doorbell"', f'shared = "{name}"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RPIO_SIM")}
    env["RPIO_BACKEND"] = "sim"
    program = subprocess.Popen(["/bin/sh", "-c", "exec env " + terminal_1.replace("python3", sys.executable)
                                .replace("board.toml", str(board))],
                               cwd=ROOT / "examples" / "doorbell_tests", env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "doorbell on" in program.stdout.readline()
        press = terminal_2.replace("RPIO_SIM_SHARED=doorbell", f"RPIO_SIM_SHARED={name}").replace("python3", sys.executable)
        subprocess.run(["/bin/sh", "-c", press], env=env, check=True, timeout=60)
        assert program.stdout.readline().strip() == "ding dong #1"
    finally:
        program.send_signal(signal.SIGINT)
        program.wait(timeout=30)
        subprocess.run([sys.executable, "-c", f"import RPIO.sim; RPIO.sim.reset_board({name!r})"], env=env)
