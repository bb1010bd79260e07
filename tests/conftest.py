"""Shared pytest options. Tiers: the default run (simulated chips), tests/kernel (inside the
gpio-sim VM, via `tox -e kernel`), tests/hardware (a real Pi, `tox -e hardware`)."""

import ctypes
import os
import platform

import pytest

os.environ.setdefault("RPIO_BACKEND", "sim")  # never touch a real board from the default tier


def under_qemu_user() -> bool:
    """True in an emulated Pi root (how the Pi wheels are tested): qemu-user answers ENOSYS to
    get_robust_list, which every Linux kernel RPIO supports implements."""
    number = {"x86_64": 274, "aarch64": 100, "armv7l": 339, "armv6l": 339}.get(platform.machine())
    if number is None:
        return False
    head, size = ctypes.c_void_p(), ctypes.c_size_t()
    return ctypes.CDLL(None, use_errno=True).syscall(number, 0, ctypes.byref(head), ctypes.byref(size)) != 0


UNDER_QEMU_USER = under_qemu_user()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "native_kernel(why): needs what the Linux kernel does and qemu-user does not "
        "(skipped in emulated Pi roots, with why)")


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("native_kernel")
    if marker is not None and UNDER_QEMU_USER:
        pytest.skip(f"under qemu-user: {marker.args[0]}")


def pytest_addoption(parser):
    parser.addoption(
        "--run-hardware",
        action="store_true",
        help="run tests/hardware against this machine's real GPIO (a Raspberry Pi)",
    )
