"""The minimal GPIO character-device writer (Pi 5 software timing without the umbrella)."""

import os
import struct

from rpio_pwm.chardev import (
    GPIO_GET_CHIPINFO_IOCTL,
    GPIO_V2_GET_LINE_IOCTL,
    GPIO_V2_LINE_FLAG_OUTPUT,
    GPIO_V2_LINE_SET_VALUES_IOCTL,
    ChardevWriter,
    line_request,
)


def test_line_request_layout():
    req = line_request([18], "rpio-pwm", GPIO_V2_LINE_FLAG_OUTPUT, 1)
    assert len(req) == 592
    assert struct.unpack_from("=I", req, 0)[0] == 18
    assert req[256:264] == b"rpio-pwm" and req[264] == 0
    flags, nattrs = struct.unpack_from("=QI", req, 288)
    assert (flags, nattrs) == (GPIO_V2_LINE_FLAG_OUTPUT, 1)
    assert struct.unpack_from("=IIQQ", req, 288 + 32) == (2, 0, 1, 1)  # OUTPUT_VALUES: line 0 high
    assert struct.unpack_from("=II", req, 560) == (1, 0)


def test_writer_finds_the_chip_by_label(tmp_path):
    (tmp_path / "gpiochip0").write_bytes(b"")
    (tmp_path / "gpiochip4").write_bytes(b"")
    labels = {"gpiochip0": b"brcmstb-gpio", "gpiochip4": b"pinctrl-rp1"}
    calls = []
    line_fds = []

    def ioctl(fd, req, buf, mutate):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if req == GPIO_GET_CHIPINFO_IOCTL:
            buf[32:32 + len(labels[name])] = labels[name]
        elif req == GPIO_V2_GET_LINE_IOCTL:
            calls.append((name, struct.unpack_from("=I", buf, 0)[0]))
            lfd = os.open(os.devnull, os.O_RDONLY)
            line_fds.append(lfd)
            struct.pack_into("=i", buf, 588, lfd)
        elif req == GPIO_V2_LINE_SET_VALUES_IOCTL:
            calls.append(("set", struct.unpack("=QQ", bytes(buf))))
        return 0

    w = ChardevWriter(str(tmp_path), ioctl=ioctl)
    assert w.chip_path().endswith("gpiochip4")
    w(17, 1)
    w(17, 0)
    assert calls == [("gpiochip4", 17), ("set", (1, 1)), ("set", (0, 1))]
    w.close()
