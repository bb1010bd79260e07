"""Helpers shared by the kernel tier's tests (waiting on fds with poll timeouts, never sleeps)."""

from __future__ import annotations

import os
import select
import time

import pytest

# Generous: Python under QEMU's software emulation (TCG) runs ~16x slower than on the host.
EVENT_TIMEOUT = float(os.environ.get("RPIO_KERNEL_EVENT_TIMEOUT", "5"))


def open_fds():
    """The set of this process's open file descriptors."""
    return set(os.listdir("/proc/self/fd"))


def wait_readable(fd, timeout):
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(int(timeout * 1000)))


def collect_events(req, count, timeout=EVENT_TIMEOUT):
    """Read edge events from ``req`` until ``count`` arrived (or ``timeout`` s passed)."""
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        left = deadline - time.monotonic()
        if left <= 0 or not wait_readable(req.fileno(), left):
            break
        events.extend(req.read_events(16))
    return events


def assert_no_events(req, window):
    """Nothing becomes readable on ``req`` within ``window`` seconds."""
    if wait_readable(req.fileno(), window):
        pytest.fail(f"unexpected edge events: {req.read_events(16)}")


def line_request_fds():
    """This process's fds that are GPIO line requests."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:gpio-line":
                out.add(int(fd))
        except OSError:
            pass  # the fd listdir itself used
    return out
