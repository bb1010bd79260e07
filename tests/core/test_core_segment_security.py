"""The shared board's trust model, attacked by a second local user and by planted records.

A shared board lives in /dev/shm/rpio-sim.<uid>.<name>, a directory every user can write to. RPIO
attaches only to a regular file of its own user with mode 0600, and writes edge records only into
the pipe of a live process that is attached to the board and runs as the same user. Each attack
below worked on the code before these checks (a root-owned 0644 file was overwritten with edge
records); the file must now stay untouched and the refusal must name the file, its owner and mode
and how to remove it.

The two-user tests need root (to act as uid 65534 in a forked child); they are skipped otherwise.
"""

from __future__ import annotations

import mmap
import os
import pathlib
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import traceback

import pytest
import rpio_core as rc

WAIT = 20.0
OTHER_UID = 65534  # nobody
LAYOUT = rc._core._segment_layout()
two_users = pytest.mark.skipif(
    os.geteuid() != 0,
    reason=f"acting as a second local user needs root (these tests run as uid {os.geteuid()})")


def shm_file(name: str) -> str:
    return "/dev/shm" + rc.board_segment_path(name)


def shm_file_of(uid: int, name: str) -> str:
    return f"/dev/shm/rpio-sim.{uid}.{name}"


@pytest.fixture
def name(request):
    board = f"sec-{os.getpid()}-{request.node.name}"[:60]
    yield board
    for path in (shm_file(board), shm_file_of(OTHER_UID, board)):
        if os.path.lexists(path):
            os.unlink(path)


@pytest.fixture
def target():
    """A file of root's (mode 0644, in a directory anyone may enter) that the other user can read
    but never write."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="rpio-victim-"))
    os.chmod(directory, 0o755)
    path = directory / "precious"
    path.write_bytes(b"precious content\n" * 8)
    os.chmod(path, 0o644)
    yield path
    shutil.rmtree(directory)


def read_line(fd: int, timeout: float = WAIT) -> str:
    data = b""
    while not data.endswith(b"\n"):
        if not select.select([fd], [], [], timeout)[0]:
            raise AssertionError(f"no line within {timeout} s (got {data!r})")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"the other side ended (got {data!r})")
        data += chunk
    return data.decode().strip()


class Forked:
    """fn(to_parent_fd, from_parent_fd) in a forked child, as uid `uid` (None: this user). The child
    reports its traceback on stderr and exits 1 if fn raises."""

    def __init__(self, fn, uid: int | None = None):
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                os.close(up_r)
                os.close(down_w)
                if uid is not None:
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
                fn(up_w, down_r)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        self.up, self.down = up_r, down_w

    def expect(self, prefix: str) -> str:
        line = read_line(self.up)
        assert line.startswith(prefix), line
        return line[len(prefix):].strip()

    def send(self, line: str = "go") -> None:
        os.write(self.down, (line + "\n").encode())

    def finish(self) -> int:
        self.send("done")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.up)
        os.close(self.down)
        return os.waitstatus_to_exitcode(status)


def plant_subscriber(path: str, slot: int, *, pid: int | None = None, start: int | None = None,
                     fd: int, st: os.stat_result, attach_pid: int | None = None,
                     attach_start: int = 0) -> None:
    """Rewrites event-line record `slot` of the segment at path to point at (pid, fd) with the
    inode and device of st; optionally lists attach_pid as attached (slot 63)."""
    sub = LAYOUT["Subscriber"]
    base = LAYOUT["subs"][0] + slot * LAYOUT["sizeof.Subscriber"]
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        if pid is not None:
            struct.pack_into("=I", m, base + sub["id"][0], 0x7fff0000 + slot)
            struct.pack_into("=i", m, base + sub["pid"][0], pid)
            struct.pack_into("=Q", m, base + sub["start"][0], start or 0)
            struct.pack_into("=I", m, base + sub["gpio"][0], 17)
            rising = sub["dev"][0] + 8  # rising, falling: one byte each after dev
            m[base + rising:base + rising + 2] = b"\x01\x01"
        struct.pack_into("=i", m, base + sub["read_fd"][0], fd)
        struct.pack_into("=Q", m, base + sub["ino"][0], st.st_ino)
        struct.pack_into("=Q", m, base + sub["dev"][0], st.st_dev)
        if attach_pid is not None:
            entry = LAYOUT["attached"][0] + 63 * 16
            struct.pack_into("=iIQ", m, entry, attach_pid, 1, attach_start)
        # `watched` must include gpio 17 for the writer to look at subscribers.
        watched = struct.unpack_from("=Q", m, LAYOUT["watched"][0])[0] | (1 << 17)
        struct.pack_into("=Q", m, LAYOUT["watched"][0], watched)


def sub_ids(path: str) -> list[int]:
    sub = LAYOUT["Subscriber"]
    with open(path, "rb") as f:
        data = f.read()
    return [struct.unpack_from("=I", data, LAYOUT["subs"][0] + i * LAYOUT["sizeof.Subscriber"] + sub["id"][0])[0]
            for i in range(LAYOUT["subs"][1] // LAYOUT["sizeof.Subscriber"])]


def start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def toggle(chip, gpio: int = 17) -> None:
    for level in (1, 0, 1, 0):
        chip.drive(gpio, level)
    chip.drive(gpio, None)


# -- a second user plants the segment ----------------------------------------------------------
def squat(name: str, target: str, mode: int):
    """The attacker's side: makes a real board under its own uid with an event line, points that
    line at `target` (opened read-only), and moves the segment to the victim's name."""
    def attack(up: int, down: int) -> None:
        chip = rc.open_board(name, "bcm2711")
        line = chip.request_events(17, True, True)
        victim_fd = os.open(target, os.O_RDONLY)
        own = shm_file_of(os.getuid(), name)
        slot = next(i for i, v in enumerate(sub_ids(own)) if v)
        plant_subscriber(own, slot, fd=victim_fd, st=os.fstat(victim_fd))
        os.chmod(own, mode)
        os.rename(own, shm_file_of(0, name))
        os.write(up, b"planted\n")
        read_line(down, 3600)
        line.close()
    return attack


@two_users
@pytest.mark.parametrize("mode", [0o666, 0o600])
def test_a_board_planted_by_another_user_is_refused_and_the_file_is_untouched(name, target, mode):
    original = target.read_bytes()
    attacker = Forked(squat(name, str(target), mode), uid=OTHER_UID)
    try:
        attacker.expect("planted")
        planted = shm_file(name)
        assert os.stat(planted).st_uid == OTHER_UID
        refused = None
        try:
            chip = rc.open_board(name, "bcm2711")
        except PermissionError as e:
            refused = e
        else:  # the old behaviour: attached, and its edges went into the target
            toggle(chip)
            chip.detach()
        assert target.read_bytes() == original, "edge records were written into the target file"
        assert refused is not None, "a board planted by another user was attached"
        text = str(refused)
        assert refused.filename == planted
        assert f"owned by nobody (uid {OTHER_UID}) with mode {mode:04o}" in text
        assert f"rpio sim reset {name}" in text and f"rm {planted}" in text
        # The listing shows it as unusable without reading it; reset removes it unread.
        listed = [b for b in rc.list_boards() if b["name"] == name]
        assert listed and listed[0]["kind"] is None and not listed[0]["compatible"]
        assert listed[0]["problem"] == f"refused: it is owned by nobody (uid {OTHER_UID}) with mode {mode:04o}"
        assert rc.reset_board(name) is True
        assert not os.path.lexists(planted)
        assert target.read_bytes() == original
    finally:
        assert attacker.finish() == 0


@two_users
def test_an_event_line_of_another_users_process_is_refused(name):
    """Defence in depth: even in this user's own segment, a record naming a process of another
    user (listed as attached, holding the very pipe the record names) is never written to, and
    is dropped."""
    def holder(up: int, down: int) -> None:
        r, w = os.pipe()
        st = os.fstat(r)
        os.write(up, f"pipe {r} {st.st_ino} {st.st_dev}\n".encode())
        read_line(down, 3600)  # "check"
        got = select.select([r], [], [], 0)[0]
        os.write(up, (b"data\n" if got else b"empty\n"))
        read_line(down, 3600)

    other = Forked(holder, uid=OTHER_UID)
    chip = rc.open_board(name, "bcm2711")
    try:
        fd, ino, dev = (int(x) for x in other.expect("pipe ").split())
        st = os.stat_result((0, ino, dev, 0, 0, 0, 0, 0, 0, 0))
        plant_subscriber(shm_file(name), 5, pid=other.pid, start=start_time(other.pid), fd=fd,
                         st=st, attach_pid=other.pid, attach_start=start_time(other.pid))
        toggle(chip)
        other.send("check")
        assert other.expect("") == "empty", "edge records reached another user's pipe"
        assert sub_ids(shm_file(name))[5] == 0, "the planted event line is still listed"
    finally:
        assert other.finish() == 0
        chip.detach()
        rc.reset_board(name)


# -- one user: what an event line may point at ---------------------------------------------------
PEER = """
import os, sys, rpio_core as rc
chip = rc.open_board(sys.argv[1], None)
fd = os.open(sys.argv[2], os.O_RDONLY)
print("fd", fd, flush=True)
sys.stdin.readline()
chip.detach()
"""


def test_an_event_line_pointing_at_a_regular_file_is_refused(name, target):
    """A record of a live, attached process of this user whose descriptor is a file, not the pipe
    it registered: nothing is written, and the record is dropped."""
    original = target.read_bytes()
    chip = rc.open_board(name, "bcm2711")
    peer = subprocess.Popen([sys.executable, "-c", PEER, name, str(target)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fd = int(read_line(peer.stdout.fileno()).split()[1])
        assert peer.pid in chip.attached_pids()
        plant_subscriber(shm_file(name), 7, pid=peer.pid, start=start_time(peer.pid), fd=fd,
                         st=os.stat(target))
        toggle(chip)
        assert target.read_bytes() == original, "edge records were written into a regular file"
        assert sub_ids(shm_file(name))[7] == 0
    finally:
        peer.communicate("\n", timeout=WAIT)
        chip.detach()
        rc.reset_board(name)


def test_an_event_line_of_a_process_not_attached_is_refused(name):
    """A live process of this user that is not attached to the board: its pipe gets nothing."""
    chip = rc.open_board(name, "bcm2711")
    r, w = os.pipe()
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE, pass_fds=(r,))
    try:
        plant_subscriber(shm_file(name), 9, pid=sleeper.pid, start=start_time(sleeper.pid), fd=r,
                         st=os.fstat(r))
        toggle(chip)
        assert not select.select([r], [], [], 0)[0], "edge records reached a process not attached"
        assert sub_ids(shm_file(name))[9] == 0
    finally:
        sleeper.communicate(b"", timeout=WAIT)
        os.close(r)
        os.close(w)
        chip.detach()
        rc.reset_board(name)


def test_a_reset_drops_event_lines_of_processes_that_ended(name):
    chip = rc.open_board(name, "bcm2711")
    code = textwrap.dedent("""
        import os, sys, rpio_core as rc
        chip = rc.open_board(sys.argv[1], None)
        line = chip.request_events(17, True, True)
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    peer = subprocess.Popen([sys.executable, "-c", code, name], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert read_line(peer.stdout.fileno()) == "ready"
        assert any(sub_ids(shm_file(name)))
        peer.send_signal(signal.SIGKILL)
        peer.wait(WAIT)
        chip.reset()
        assert not any(sub_ids(shm_file(name))), "a dead process's event line survived a reset"
    finally:
        if peer.poll() is None:
            peer.kill()
        peer.wait(WAIT)
        chip.detach()
        rc.reset_board(name)


def test_created_boards_are_0600_whatever_the_umask(name):
    old = os.umask(0o277)  # would leave 0400
    try:
        chip = rc.open_board(name, "rp1")
    finally:
        os.umask(old)
    st = os.stat(shm_file(name))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    chip.detach()
    assert rc.reset_board(name) is True


def test_a_symbolic_link_is_refused_and_its_target_untouched(name, target):
    original = target.read_bytes()
    os.symlink(target, shm_file(name))
    with pytest.raises(PermissionError, match="is a symbolic link"):
        rc.open_board(name, "bcm2711")
    assert rc.reset_board(name) is True
    assert not os.path.lexists(shm_file(name)) and target.read_bytes() == original


def test_a_fifo_neither_blocks_the_listing_nor_is_attached(name):
    os.mkfifo(shm_file(name), 0o600)
    code = "import rpio_core as rc, sys; print([b['kind'] for b in rc.list_boards() if b['name'] == sys.argv[1]])"
    out = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                         timeout=WAIT)
    assert out.stdout.strip() == "[None]", out.stderr
    with pytest.raises(PermissionError, match="is a FIFO"):
        rc.open_board(name, "bcm2711")
    assert rc.reset_board(name) is True and not os.path.lexists(shm_file(name))
