"""A fleet without hardware: simulated Raspberry Pis, each a process on its own shared board.

``SimulatedPi`` starts one program (by default ``rpio mqtt CONFIG``) with ``RPIO_SIM_SHARED`` set
to a board of its own, and keeps a handle on that board in this process, so this process can
press the Pi's buttons (drive its pins) and read its outputs while the program serves them. The
fleet demo (examples/mqtt_fleet.py), the tests and bench/mqtt.py use it. docs/fleet.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import List, Optional, Sequence

import rpio_core
from rpio_core import boards

from .._backend import DEFAULT_SIM_BOARD


def device_config(device: str, host: str, port: int, *, prefix: str = "fleet",
                  button_gpio: int = 17, led_gpio: int = 27, extra_broker: str = "") -> str:
    """The TOML of a small Pi: a push button to ground (pull-up, inverted: pressed is 1) and an
    LED output."""
    return (f'device = "{device}"\n[broker]\nhost = "{host}"\nport = {port}\n'
            f'prefix = "{prefix}"\nreconnect_min = 0.1\nreconnect_max = 2.0\n{extra_broker}'
            f'[discovery]\nenabled = false\n'
            f'[[input]]\nname = "button"\ngpio = {button_gpio}\npull = "up"\ninverted = true\n'
            f'[[output]]\nname = "led"\ngpio = {led_gpio}\n')


class SimulatedPi:
    """One simulated Pi: a shared board named ``board`` and a process serving it.

    ``command`` (default ``[python, -m, RPIO.cli, mqtt, config_path]``) runs with
    ``RPIO_BACKEND=sim RPIO_SIM_SHARED=board``. The board is created here first (a Pi 4), so it
    exists before the process attaches, and reset (removed) by :meth:`close`.
    """

    def __init__(self, board: str, config_path: Optional[str] = None,
                 command: Optional[Sequence[str]] = None, *, env: Optional[dict] = None,
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE):
        self.board = board
        info = boards.decode_revision(DEFAULT_SIM_BOARD)
        rpio_core.reset_board(board)  # a leftover of an earlier run starts afresh
        self.chip = rpio_core.open_board(board, info.chip, model=info.revision_hex)
        if command is None:
            command = [sys.executable, "-m", "RPIO.cli", "mqtt", str(config_path)]
        # the model is named, so the process attaches without looking at other boards
        full_env = dict(os.environ if env is None else env, RPIO_BACKEND="sim",
                        RPIO_SIM_SHARED=board, RPIO_SIM_BOARD=info.revision_hex)
        full_env.pop("RPIO_SIM_CONFIG", None)
        self.proc = subprocess.Popen(list(command), env=full_env, stdout=stdout, stderr=stderr,
                                     text=True)

    # the outside world of this Pi
    def press(self, gpio: int = 17) -> None:
        """A button to ground on ``gpio`` closes."""
        self.chip.drive(gpio, 0)

    def release(self, gpio: int = 17) -> None:
        self.chip.drive(gpio, None)

    def drive(self, gpio: int, level: Optional[int]) -> None:
        self.chip.drive(gpio, level)

    def level(self, gpio: int) -> int:
        return self.chip.level(gpio)

    def last_change_ns(self, gpio: int) -> int:
        """The CLOCK_MONOTONIC time of the pin's last level change (the board's history)."""
        for entry in reversed(self.chip.history()):
            if entry[1] == gpio:
                return entry[0]
        raise LookupError(f"GPIO {gpio} has not changed")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, and wait for the process to end; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self) -> None:
        """Stop the process (if running), detach from the board and remove it."""
        self.stop()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        self.chip.detach()
        self.chip = None
        rpio_core.reset_board(self.board)


def close_all(pis: List[SimulatedPi]) -> None:
    for pi in pis:
        if pi.alive:
            pi.proc.send_signal(signal.SIGTERM)  # all at once, then wait for each
    for pi in pis:
        pi.close()
