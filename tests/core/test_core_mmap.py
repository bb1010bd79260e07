"""MmapBus over ordinary files: the drivers' stores land at the datasheet's byte offsets."""

from __future__ import annotations

import errno
import os
import pathlib
import struct

import pytest
import rpio_core as rc


def make_file(tmp_path: pathlib.Path, size: int) -> pathlib.Path:
    path = tmp_path / "regs.bin"
    path.write_bytes(bytes(size))
    return path


def word(path: pathlib.Path, offset: int) -> int:
    return struct.unpack_from("<I", path.read_bytes(), offset)[0]


def test_bcm_driver_stores_land_in_the_file(tmp_path):
    path = make_file(tmp_path, 4096)
    bus = rc.MmapBus(path)  # os.PathLike accepted
    assert bus.size() == 4096 and bus.offset == 0 and bus.path == str(path)
    driver = rc.Bcm2835Driver(bus)
    driver.write(17, 1)
    assert word(path, 0x1C) == 1 << 17  # GPSET0
    driver.write(17, 0)
    assert word(path, 0x28) == 1 << 17  # GPCLR0
    driver.write(35, 1)
    assert word(path, 0x20) == 1 << 3  # GPSET1
    driver.set_function(17, rc.OUTPUT)
    assert word(path, 0x04) == 1 << 21  # GPFSEL1
    driver.set_function(17, rc.ALT5)
    assert word(path, 0x04) == 2 << 21
    driver.set_pull(33, rc.PULL_UP)  # ends with GPPUD = 0 and GPPUDCLK1 = 0
    assert word(path, 0x94) == 0 and word(path, 0x9C) == 0
    # Reads see the file too.
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 0x34, 1 << 4)  # GPLEV0
    path.write_bytes(bytes(data))
    assert driver.read(4) == 1 and driver.read(5) == 0
    assert bus.read32(0x34) == 1 << 4


def test_bcm2711_pull_register_in_the_file(tmp_path):
    path = make_file(tmp_path, 4096)
    driver = rc.Bcm2711Driver(rc.MmapBus(str(path)))
    driver.set_pull(20, rc.PULL_DOWN)
    assert word(path, 0xE8) == 0b10 << 8
    assert driver.get_pull(20) == rc.PULL_DOWN


def test_rp1_driver_over_a_gpiomem0_sized_file(tmp_path):
    path = make_file(tmp_path, 0x30000)
    driver = rc.Rp1Driver(rc.MmapBus(path, 0, 0x30000))
    driver.write(40, 1)
    assert word(path, 0x18000 + 0x2000) == 1 << 6  # bank 2 SYS_RIO OUT, SET alias
    driver.write(40, 0)
    assert word(path, 0x18000 + 0x3000) == 1 << 6  # CLR alias
    driver.set_function(3, rc.OUTPUT)
    assert word(path, 0x10000 + 0x4 + 0x2000) == 1 << 3  # OE via the SET alias
    assert word(path, 8 * 3 + 4) & 0x1F == 5  # CTRL FUNCSEL = SYS_RIO
    assert word(path, 0x20000 + 0x2000 + 4 + 4 * 3) == 0x40  # pad IE via the SET alias


def test_offset_window_and_unaligned_offset(tmp_path):
    path = make_file(tmp_path, 3 * 4096)
    bus = rc.MmapBus(path, offset=4096 + 256, length=1024)
    bus.write32(8, 0xDEADBEEF)
    assert word(path, 4096 + 256 + 8) == 0xDEADBEEF
    assert bus.read32(8) == 0xDEADBEEF
    with pytest.raises(IndexError):
        bus.read32(1024)
    assert "offset=4352" in repr(bus)


def test_errors_carry_errno_and_path(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as info:
        rc.MmapBus(missing)
    assert info.value.errno == errno.ENOENT and info.value.filename == str(missing)
    with pytest.raises(IsADirectoryError) as info:
        rc.MmapBus(tmp_path)
    assert info.value.errno == errno.EISDIR
    short = make_file(tmp_path, 100)
    with pytest.raises(OSError, match="shorter than offset") as info:
        rc.MmapBus(short)
    assert info.value.errno == errno.EINVAL and info.value.filename == str(short)
    with pytest.raises(ValueError):
        rc.MmapBus(short, offset=-1)
    with pytest.raises(ValueError):
        rc.MmapBus(short, length=6)


def _expect_permission_error(path: pathlib.Path) -> bool:
    try:
        rc.MmapBus(path)
    except PermissionError as exc:
        return exc.errno == errno.EACCES and exc.filename == str(path)
    return False


def test_permission_error_for_eacces(tmp_path):
    path = make_file(tmp_path, 4096)
    path.chmod(0o400)
    if os.geteuid() != 0:
        assert _expect_permission_error(path)
        return
    # root bypasses file permissions: check from a child that has dropped to "nobody".
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        ok = False
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            ok = _expect_permission_error(path)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_mmap_failure_is_an_oserror():
    # /dev/null opens read-write but cannot be mapped shared-writable.
    with pytest.raises(OSError) as info:
        rc.MmapBus("/dev/null")
    assert info.value.errno in (errno.ENODEV, errno.EINVAL, errno.EACCES)
    assert info.value.filename == "/dev/null"
    assert "(mmap)" in str(info.value)
