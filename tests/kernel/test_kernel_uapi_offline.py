"""rpio_interrupts.uapi without a kernel GPIO chip: ABI layout, configuration encoding, chip
discovery on fake /dev and /sys trees, holder lookup on a fake /proc. Runs everywhere."""

from __future__ import annotations

import ctypes
import errno
import os
import struct

import pytest
from kernel_helpers import open_fds
from rpio_interrupts import uapi


def test_struct_sizes_and_ioctl_numbers_match_the_kernel_header():
    assert ctypes.sizeof(uapi._LineRequestStruct) == 592
    assert ctypes.sizeof(uapi._LineInfoStruct) == 256
    assert ctypes.sizeof(uapi._LineConfig) == 272
    assert ctypes.sizeof(uapi._LineEventStruct) == 48 == uapi.EVENT_SIZE
    assert ctypes.sizeof(uapi._ChipInfoStruct) == 68
    assert uapi._LineRequestStruct.consumer.offset == 256
    assert uapi._LineRequestStruct.config.offset == 288
    assert uapi._LineRequestStruct.num_lines.offset == 560
    assert uapi._LineRequestStruct.fd.offset == 588
    assert uapi._LineInfoStruct.flags.offset == 72
    # values computed from include/uapi/linux/gpio.h on x86-64 (the generic _IOC encoding)
    assert uapi.GPIO_GET_CHIPINFO_IOCTL == 0x8044B401
    assert uapi.GPIO_V2_GET_LINEINFO_IOCTL == 0xC100B405
    assert uapi.GPIO_V2_GET_LINEINFO_WATCH_IOCTL == 0xC100B406
    assert uapi.GPIO_GET_LINEINFO_UNWATCH_IOCTL == 0xC004B40C
    assert uapi.GPIO_V2_GET_LINE_IOCTL == 0xC250B407
    assert uapi.GPIO_V2_LINE_SET_CONFIG_IOCTL == 0xC110B40D
    assert uapi.GPIO_V2_LINE_GET_VALUES_IOCTL == 0xC010B40E
    assert uapi.GPIO_V2_LINE_SET_VALUES_IOCTL == 0xC010B40F


def test_config_bytes_are_laid_out_as_the_kernel_reads_them():
    cfg = uapi._build_config(
        [17, 4, 9], direction="output", edge=None, bias="pull-up", debounce_us=0, output_values={4: 1, 9: 0}
    )
    raw = bytes(cfg)
    assert len(raw) == 272
    flags, num_attrs = struct.unpack_from("=QI", raw, 0)
    assert flags == uapi.FLAG_OUTPUT | uapi.FLAG_BIAS_PULL_UP and num_attrs == 1
    attr_id, pad, values, mask = struct.unpack_from("=IIQQ", raw, 32)
    assert (attr_id, pad, values, mask) == (uapi.ATTR_ID_OUTPUT_VALUES, 0, 0b010, 0b110)  # bits index offsets[i]
    assert raw[56:] == bytes(272 - 56)  # unused attributes must be zero or the kernel says EINVAL

    cfg = uapi._build_config([3, 5], direction="input", edge="both", bias="as-is", debounce_us=2500, output_values=None)
    raw = bytes(cfg)
    assert struct.unpack_from("=QI", raw, 0) == (uapi.FLAG_INPUT | uapi.FLAG_EDGE_RISING | uapi.FLAG_EDGE_FALLING, 1)
    assert struct.unpack_from("=IIIIQ", raw, 32) == (uapi.ATTR_ID_DEBOUNCE, 0, 2500, 0, 0b11)
    assert uapi._config_summary(cfg) == "flags=INPUT|EDGE_RISING|EDGE_FALLING, debounce=2500us"


def test_flag_names():
    assert uapi.flags_to_names(0) == "0"
    assert uapi.flags_to_names(uapi.FLAG_USED | uapi.FLAG_INPUT | uapi.FLAG_BIAS_DISABLED) == "USED|INPUT|BIAS_DISABLED"
    assert uapi.flags_to_names(1 << 40 | uapi.FLAG_OUTPUT) == "OUTPUT|0x10000000000"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1, 0, 1], "3 values for 2 lines"),
        ({8: 1}, "line 8 is not one of the requested lines [3, 5]"),
        ([2, 0], "values must be 0 or 1"),
        ([1.0, 0], "values must be 0 or 1"),
    ],
)
def test_bad_output_values(values, message):
    with pytest.raises(uapi.LineConfigError) as e:
        uapi._build_config([3, 5], direction="output", edge=None, bias="as-is", debounce_us=0, output_values=values)
    assert message in str(e.value)


def _fake_tree(tmp_path, chips):
    """dev/gpiochipN as regular files (so opening them says 'not a character device') and
    sys/bus/gpio/devices/gpiochipN/of_node/compatible as given."""
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "null-not-a-chip").write_text("")
    for n, compatible in chips.items():
        (dev / f"gpiochip{n}").write_text("")
        if compatible is not None:
            node = tmp_path / "sys" / "bus" / "gpio" / "devices" / f"gpiochip{n}" / "of_node"
            node.mkdir(parents=True)
            (node / "compatible").write_bytes(b"\0".join(c.encode() for c in compatible) + b"\0")
    return str(dev), str(tmp_path / "sys")


def test_find_chip_by_device_tree_compatible_never_by_number(tmp_path):
    dev, sys_dir = _fake_tree(
        tmp_path,
        {0: ("raspberrypi,firmware-gpio",), 4: ("raspberrypi,rp1-gpio",), 10: ("brcm,bcm2712-gpio",), 11: None},
    )
    assert uapi.find_chip(dev_dir=dev, sys_dir=sys_dir) == os.path.join(dev, "gpiochip4")
    assert uapi.ChardevLineProvider(dev_dir=dev, sys_dir=sys_dir).chip_path == os.path.join(dev, "gpiochip4")
    found = uapi.list_chips(dev, sys_dir)
    assert [os.path.basename(c.path) for c in found] == ["gpiochip0", "gpiochip4", "gpiochip10", "gpiochip11"]
    assert found[0].info is None and "not a character device" in found[0].error


def test_find_chip_lists_what_it_found(tmp_path):
    dev, sys_dir = _fake_tree(tmp_path, {2: ("acme,expander",), 0: None})
    fds = open_fds()
    with pytest.raises(uapi.ChipNotFoundError) as e:
        uapi.find_chip(dev_dir=dev, sys_dir=sys_dir)
    assert open_fds() == fds
    msg = str(e.value)
    assert "found no GPIO chip labelled 'pinctrl-bcm2835' or 'pinctrl-bcm2711' or 'pinctrl-rp1'" in msg
    assert "'raspberrypi,rp1-gpio'" in msg
    assert msg.index("gpiochip0 (") < msg.index("gpiochip2 (")  # in chip-number order
    assert "compatible acme,expander" in msg
    assert e.value.errno == errno.ENOENT and isinstance(e.value, FileNotFoundError)


def test_find_chip_without_any_chip(tmp_path):
    with pytest.raises(uapi.ChipNotFoundError, match="there is no gpiochip device in .* at all"):
        uapi.find_chip(dev_dir=str(tmp_path), sys_dir=str(tmp_path))
    provider = uapi.ChardevLineProvider(dev_dir=str(tmp_path / "none"))  # constructing never fails
    assert "labels=" in repr(provider)
    with pytest.raises(uapi.ChipNotFoundError):
        provider.request(17, edge="both", bias="as-is", consumer="rpio")


def test_chip_errors_leave_nothing_open(tmp_path):
    fds = open_fds()
    with pytest.raises(uapi.ChipNotFoundError, match="no GPIO chip at"):
        uapi.Chip(str(tmp_path / "gpiochip7"))
    plain = tmp_path / "gpiochip8"
    plain.write_text("")
    with pytest.raises(OSError, match="not a character device") as e:
        uapi.Chip(str(plain))
    assert e.value.errno == errno.ENOTTY
    if os.path.exists("/dev/null"):
        with pytest.raises(OSError, match="/dev/null is not a GPIO character device"):
            uapi.Chip("/dev/null")
    assert open_fds() == fds


def test_holders_are_found_in_proc_fdinfo(tmp_path):
    proc = tmp_path / "proc"

    def process(pid, comm, fds):
        (proc / str(pid) / "fd").mkdir(parents=True)
        (proc / str(pid) / "fdinfo").mkdir()
        (proc / str(pid) / "comm").write_text(comm + "\n")
        for fd, (target, info) in fds.items():
            os.symlink(target, proc / str(pid) / "fd" / str(fd))
            (proc / str(pid) / "fdinfo" / str(fd)).write_text(info)

    process(
        100,
        "button-daemon",
        {3: ("anon_inode:gpio-line", "pos:\t0\nflags:\t02000000\ngpio-chip:\tgpiochip0\ngpio-line:\t4\ngpio-line:\t17\n")},
    )
    process(200, "other", {5: ("anon_inode:gpio-line", "gpio-chip:\tgpiochip1\ngpio-line:\t17\n")})
    process(300, "cat", {0: ("/dev/null", "gpio-chip:\tgpiochip0\ngpio-line:\t17\n")})
    (proc / "self").mkdir()
    holders, complete = uapi._find_holders("gpiochip0", 17, proc=str(proc))
    assert holders == [(100, "button-daemon")] and complete
    assert uapi._find_holders("gpiochip0", 5, proc=str(proc)) == ([], True)
    assert uapi._holder_text("pwm", [(100, "button-daemon")], True) == (
        "held by 'pwm', a line request of process 100 (button-daemon)"
    )
    assert "the kernel (a driver or a device-tree hog" in uapi._holder_text("spi0 CS0", [], True)
    assert "another user's process (run as root" in uapi._holder_text("x", [], False)
    assert "/sys/class/gpio/unexport" in uapi._holder_text("sysfs", [], True)


def test_permission_message_names_the_group(tmp_path):
    node = tmp_path / "gpiochip0"
    node.write_text("")
    st = os.stat(node)
    err = uapi._permission_error(str(node), PermissionError(errno.EACCES, "denied"), "open")
    assert isinstance(err, PermissionError) and err.errno == errno.EACCES
    assert f"no permission to open {node} (group " in str(err)
    if st.st_gid == 0:
        assert "run as root, or give a group read-write access" in str(err)
    else:
        assert "add your user to the" in str(err)
