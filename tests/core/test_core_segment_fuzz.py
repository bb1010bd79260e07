"""A damaged shared board gives one clear error, never a signal.

segment_fuzz_runner.py (a fresh process) damages a sound board's segment field by field (0, the
maximum, three seeded random values, before attaching and, for state fields, while attached as a
peer would) and by seeded random byte flips, and attaches in a forked child for each case. Before
the checks, num_gpios 0xffffffff gave SIGSEGV, a huge hist_head SIGBUS and hist_capacity 0 SIGFPE.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import rpio_core as rc
from rpio_core import _core

RUNNER = pathlib.Path(__file__).with_name("segment_fuzz_runner.py")
LAYOUT = _core._segment_layout()


def test_damaged_segments_never_kill_a_process():
    runner = subprocess.Popen([sys.executable, str(RUNNER), "20261207", "240"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = runner.communicate(timeout=900)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        leftover = "/dev/shm" + rc.board_segment_path(f"fuzz-{runner.pid}")
        if os.path.lexists(leftover):  # the runner died before removing its board
            os.unlink(leftover)
    assert runner.returncode == 0, err[-4000:]
    report = json.loads(out.strip().splitlines()[-1])
    outcomes, results = report["outcomes"], report["results"]
    print(f"\nsegment fuzz: {report['cases']} cases, outcomes {outcomes}")
    assert report["cases"] >= 600
    assert report["signals"] == [], f"children killed by a signal: {report['signals'][:20]}"
    assert report["not_removed"] == [], f"`reset` left damaged boards: {report['not_removed'][:20]}"
    # The faults seen before the checks each give the one error now.
    for kind in ("bcm2835", "rp1"):
        for label in (f"{kind} num_gpios=ffffffff", f"{kind} hist_head=ffffffffffffffff",
                      f"{kind} hist_capacity=0000000000000000", f"{kind} history_alloc=ffffffff",
                      f"{kind} total_size=ffffffffffffffff", f"{kind} lock.kind=ffffffff",
                      f"{kind} lock.word=ffffffff", f"{kind} subs[0].gpio=ffffffff",
                      f"{kind} parts[2].frequency=ffffffffffffffff"):
            if label in results:
                assert results[label] == "damaged", (label, results[label])
    damaged = [label for label, outcome in results.items() if outcome == "damaged"]
    assert len(damaged) >= report["cases"] // 4, outcomes
    # A peer that damages the history's indices while this process runs: the next use says so.
    runtime = {label: outcome for label, outcome in results.items()
               if " runtime hist_head=ffff" in label or " runtime hist_capacity=0000" in label}
    assert runtime and set(runtime.values()) == {"damaged"}, runtime


@pytest.fixture
def name(request):
    board = f"dmg-{os.getpid()}-{request.node.name}"[:60]
    yield board
    path = "/dev/shm" + rc.board_segment_path(board)
    if os.path.lexists(path):
        os.unlink(path)


def damage(name: str, field: str, value: bytes) -> None:
    off, size = LAYOUT[field]
    assert len(value) == size
    with open("/dev/shm" + rc.board_segment_path(name), "r+b") as f:
        f.seek(off)
        f.write(value)


def test_a_damaged_board_gives_one_clear_error_and_the_cli_removes_it(name):
    chip = rc.open_board(name, "bcm2711")
    chip.detach()
    del chip
    damage(name, "num_gpios", b"\xff\xff\xff\xff")
    code = "import rpio_core as rc, sys; rc.open_board(sys.argv[1], None)"
    run = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert run.stderr.strip().splitlines()[-1] == (
        f"RuntimeError: board '{name}' is damaged: num_gpios 4294967295 is not the bcm2711's 58; "
        f"`rpio sim reset {name}` removes it")
    rpio = pathlib.Path(sys.executable).with_name("rpio")
    listing = subprocess.run([str(rpio), "sim", "list"], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith(name))
    assert row.endswith(f"unusable, damaged: num_gpios 4294967295 is not the bcm2711's 58; "
                        f"`rpio sim reset {name}` removes it"), row
    reset = subprocess.run([str(rpio), "sim", "reset", name], capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert not os.path.lexists("/dev/shm" + rc.board_segment_path(name))


def test_a_peer_damaging_the_history_while_attached_gives_the_error(name):
    chip = rc.open_board(name, "rp1", history_capacity=16)
    chip.drive(3, 1)
    damage(name, "hist_head", (1 << 40).to_bytes(8, "little"))
    with pytest.raises(RuntimeError, match=f"board '{name}' is damaged: .*hist_head 1099511627776"):
        chip.drive(3, 0)
    with pytest.raises(RuntimeError, match="is damaged"):
        chip.history()
    damage(name, "hist_head", bytes(8))
    damage(name, "hist_capacity", bytes(8))
    with pytest.raises(RuntimeError, match="is damaged"):
        chip.history()  # count > capacity 0: a division by zero before the check
    # A larger history_alloc does not make the ring larger than what this process mapped.
    damage(name, "history_alloc", b"\xff\xff\xff\xff")
    damage(name, "hist_capacity", (1 << 30).to_bytes(8, "little"))
    damage(name, "hist_head", (1 << 29).to_bytes(8, "little"))
    with pytest.raises(RuntimeError, match="do not fit a history of 16 slots"):
        chip.drive(3, 1)
    assert rc.reset_board(name) is True
    assert not os.path.lexists("/dev/shm" + rc.board_segment_path(name))
    chip.detach()
