"""Damaged-segment runner for test_core_segment_fuzz.py (run as a script: a fresh process that
forks one child per case, so the test process never shares a fault).

    python segment_fuzz_runner.py SEED FLIPS [unlink]

(unlink: remove each board file directly instead of through reset_board, to measure a build whose
reset_board itself crashes on a damaged board, as before the checks.)

Builds a sound shared board with every kind of record in use (wires, parts, an event line, history),
takes its bytes, then for each case writes a damaged copy as this user's own board (mode 0600) and
forks a child that attaches to it and uses it ("attach" cases), or attaches to a sound copy and is
damaged while attached, as a peer would ("runtime" cases). Each child ends with an exit code:
0 used without error, 3 "board X is damaged" (the one error a damaged board gives), 4 another
exception; or a signal (a crash; SIGALRM is a child stuck for 20 s). After each case the runner
resets the board with rpio_core.reset_board and checks that a damaged one is removed.

Prints one JSON object: {"cases": N, "outcomes": {...}, "signals": [...], "not_removed": [...]}.
"""

from __future__ import annotations

import collections
import gc
import json
import mmap
import os
import random
import signal
import struct
import sys

import rpio_core as rc
from rpio_core import _core

LAYOUT = _core._segment_layout()
PID_MAX = int(open("/proc/sys/kernel/pid_max").read())


def field_list() -> list[tuple[str, int, int, bool]]:
    """(name, offset, size, header) of every field the cases damage."""
    out = []
    header = ["magic", "layout_version", "abi", "total_size", "ready", "kind", "num_gpios",
              "history_alloc", "lock.word", "lock.kind"]
    for name in header:
        off, size = LAYOUT[name]
        out.append((name, off, size, True))
    for name in ("kind_name", "model", "name"):  # strings: all bytes at once
        off, size = LAYOUT[name]
        out.append((name, off, size, True))
    out.append(("attached[0].pid", LAYOUT["attached"][0], 4, True))
    for name in ("levels", "latch", "drives", "watched", "part_pins", "hist_capacity", "hist_head",
                 "hist_count", "hist_total"):
        off, size = LAYOUT[name]
        out.append((name, off, size, False))
    for g in (0, 5, 17, 63):
        for f, (off, size) in LAYOUT["Pin"].items():
            out.append((f"pins[{g}].{f}", LAYOUT["pins"][0] + g * LAYOUT["sizeof.Pin"] + off, size, False))
    out.append(("net[5]", LAYOUT["net"][0] + 5 * 8, 8, False))
    for f, (off, size) in LAYOUT["Wire"].items():
        out.append((f"wires[0].{f}", LAYOUT["wires"][0] + off, size, False))
    for slot in range(4):  # button, led, generator, servo
        for f, (off, size) in LAYOUT["Part"].items():
            out.append((f"parts[{slot}].{f}", LAYOUT["parts"][0] + slot * LAYOUT["sizeof.Part"] + off,
                        size, False))
    for f, (off, size) in LAYOUT["Subscriber"].items():
        out.append((f"subs[0].{f}", LAYOUT["subs"][0] + off, size, False))
    regs, regs_size = LAYOUT["regs"]
    for word in (0, 9, 12, 37, 60, 120, 180):  # fsel/ctrl, eds, ren, pud, pads, voltage/out, ie
        if 4 * word + 4 <= regs_size:
            out.append((f"regs[{word}]", regs + 4 * word, 4, False))
    for f, (off, size) in LAYOUT["HistoryRecord"].items():
        out.append((f"ring[0].{f}", LAYOUT["ring"][0] + off, size, False))
    return out


def values(name: str, size: int, rng: random.Random) -> list[bytes]:
    out = [bytes(size), b"\xff" * size]
    for _ in range(3):
        if name == "lock.word":  # a made-up owner: above pid_max, so never a live thread
            out.append(struct.pack("=I", rng.randrange(PID_MAX + 1, 1 << 30)))
        else:
            out.append(bytes(rng.randrange(256) for _ in range(size)))
    return out


def build_base(name: str, kind: str) -> bytes:
    """A sound board's bytes."""
    chip = rc.open_board(name, kind, history_capacity=32)
    chip.wire([5, 6])
    chip.add_part("button", "b", 4)
    chip.add_part("led", "l", 5)
    chip.add_part("generator", "g", 12, frequency=50.0)
    chip.add_part("servo", "s", 13)
    line = chip.request_events(17, True, True)
    for level in (1, 0, 1, None):
        chip.drive(17, level)
    chip.button_set("b", True)
    path = "/dev/shm" + rc.board_segment_path(name)
    with open(path, "rb") as f:
        data = f.read()
    # Let go of the board entirely (the next open_board must map the damaged file, not reuse this
    # object). The event line's record stays in the bytes, pointing at a descriptor now closed
    # (or reused for something that is not its pipe): the writer must refuse it.
    line.close()
    chip.detach()
    del chip, line
    gc.collect()
    rc.reset_board(name)
    return data


def use(chip) -> None:
    """What a program does with a board: every read and a few writes of each kind."""
    n = chip.num_gpios()
    for g in range(n):
        chip.pin_state(g)
    chip.history()
    chip.wires()
    chip.shorted()
    for part in chip.parts():
        name = part["name"]
        chip.part(name)
        if part["kind"] == "led":
            chip.led_history(name)
            chip.led_brightness(name)
        elif part["kind"] == "servo":
            chip.servo_pulses(name)
        elif part["kind"] == "button":
            chip.button_set(name, False)
        elif part["kind"] == "generator":
            chip.generator_start(name)
            chip.generator_stop(name)
    for g in (4, 5, 17, 20):
        chip.drive(g, 1)
        chip.drive(g, 0)
        chip.drive(g, None)
    kind = chip.kind
    driver = rc.make_driver(kind, chip)
    driver.set_function(18, rc.OUTPUT)
    driver.write(18, 1)
    driver.read(18)
    driver.set_pull(19, rc.PULL_UP)
    driver.set_function(18, rc.INPUT)
    chip.history()
    chip.detach()


def child(name: str, path: str, damage: tuple[int, bytes], runtime: bool) -> None:
    signal.alarm(20)
    try:
        if runtime:
            chip = rc.open_board(name, None)
            with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
                off, value = damage
                m[off:off + len(value)] = value
            use(chip)
        else:
            use(rc.open_board(name, None))
    except RuntimeError as e:
        os._exit(3 if " is damaged: " in str(e) and "rpio sim reset " in str(e) else 4)
    except BaseException:
        os._exit(4)
    os._exit(0)


def run_case(name: str, path: str, base: bytes, damage, runtime: bool,
             use_reset: bool = True) -> tuple[str, bool]:
    data = bytearray(base)
    if not runtime:
        for off, value in damage:
            data[off:off + len(value)] = value
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, bytes(data))
    os.close(fd)
    os.chmod(path, 0o600)
    pid = os.fork()
    if pid == 0:
        child(name, path, damage[0] if runtime else None, runtime)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        outcome = "signal " + signal.Signals(os.WTERMSIG(status)).name
    else:
        outcome = {0: "used", 3: "damaged", 4: "other error"}.get(os.WEXITSTATUS(status), "exit?")
    removed = True
    try:
        if use_reset:
            rc.reset_board(name)
    except Exception as e:  # noqa: BLE001 - reported
        outcome += f" / reset failed: {e}"
    if os.path.exists(path):
        removed = outcome != "damaged"  # a sound board that a process lists stays (reset in place)
        os.unlink(path)
    return outcome, removed


def main() -> None:
    seed, flips = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    name = f"fuzz-{os.getpid()}"
    path = "/dev/shm" + rc.board_segment_path(name)
    lock_off, lock_size = LAYOUT["lock"]
    cases = []
    bases = {kind: build_base(name, kind) for kind in ("bcm2835", "rp1")}
    kinds = list(bases)
    for i, (field, off, size, header) in enumerate(field_list()):
        for j, value in enumerate(values(field, size, rng)):
            kind = kinds[(i + j) % 2]
            cases.append((f"{kind} {field}={value.hex()}", kind, [(off, value)], False))
            if not header:
                cases.append((f"{kind} runtime {field}={value.hex()}", kind, [(off, value)], True))
    end = LAYOUT["ring"][0] + 4 * LAYOUT["sizeof.HistoryRecord"]
    for k in range(flips):
        kind = kinds[k % 2]
        damage = []
        for _ in range(rng.randint(1, 4)):
            off = rng.randrange(end)
            while lock_off <= off < lock_off + lock_size:  # the lock has its own cases above
                off = rng.randrange(end)
            damage.append((off, bytes([bases[kind][off] ^ rng.randrange(1, 256)])))
        cases.append((f"{kind} flips {[(o, v.hex()) for o, v in damage]}", kind, damage, False))
    outcomes = collections.Counter()
    signals, not_removed, results = [], [], {}
    for label, kind, damage, runtime in cases:
        outcome, removed = run_case(name, path, bases[kind], damage, runtime,
                                    use_reset=sys.argv[3:] != ["unlink"])
        outcomes[outcome] += 1
        results[label] = outcome
        if outcome.startswith("signal"):
            signals.append(f"{label}: {outcome}")
        if not removed:
            not_removed.append(label)
    print(json.dumps({"cases": len(cases), "outcomes": dict(outcomes), "signals": signals,
                      "not_removed": not_removed, "results": results}))


if __name__ == "__main__":
    main()
