"""The /dev/pio0 path against a fake device that records every ioctl, and the fallback order
PIO -> RP1 hardware PWM -> C++ engine (issue 17). The emulator's own tests are C++ (test_cpp_engine)."""

import logging
import struct

import pytest
from rpio_pwm import _pwm
from rpio_pwm.gpio_pwm import PioPwmEngine, SoftwarePwmEngine, SysfsPwmEngine, default_engine

IOC = _pwm.PIO_IOC


def test_ioctl_numbers_follow_rp1_pio_if_h():
    # _IOW(102, nr, struct): direction write (1 << 30), size << 16, magic << 8, nr
    def iow(nr, size):
        return (1 << 30) | (size << 16) | (102 << 8) | nr

    assert IOC["ADD_PROGRAM"] == iow(11, 68) and IOC["SM_CLAIM"] == iow(20, 2)
    assert IOC["SM_INIT"] == iow(30, 20) and IOC["SM_EXEC"] == iow(32, 6)
    assert IOC["SM_SET_ENABLED"] == iow(37, 4) and IOC["SM_PUT"] == iow(41, 8)
    assert IOC["GPIO_INIT"] == iow(50, 2) and IOC["GPIO_SET_FUNCTION"] == iow(51, 4)


def test_a_servo_through_the_fake_device():
    dev, calls = _pwm.fake_pio_device(taken_mask=0b0001)  # SM 0 held by someone else
    pio = _pwm.PioPwm(dev)
    assert pio.set(6, 20_000_000, 1_500_000)
    log = calls()
    reqs = [r for r, _ in log]
    claims = [struct.unpack("<H", a)[0] for r, a in log if r == IOC["SM_CLAIM"]]
    assert claims == [1, 2]  # SM 0 refused, SM 1 taken
    n, origin, *instrs = struct.unpack("<HH32H", next(a for r, a in log if r == IOC["ADD_PROGRAM"]))
    assert n == 6 and origin == 0xFFFF and instrs[:6] == list(_pwm.pio_program())
    sm, pc, clkdiv, execctrl, shiftctrl, pinctrl = struct.unpack("<HHIIII", next(a for r, a in log if r == IOC["SM_INIT"]))
    assert sm == 1 and clkdiv == 100 << 16  # 0.5 us cycles: every whole-us width exact
    assert (pinctrl >> 10) & 31 == 6 and (pinctrl >> 5) & 31 == 6  # side-set and SET on GPIO 6
    sm, _, _, word = struct.unpack("<HBBI", next(a for r, a in log if r == IOC["SM_PUT"]))
    assert sm == 1 and word == pio.plan(6)["word"]
    assert (word & 0xFFFF) + 2 == 3000 and (word >> 16) + 4 == 40000 - 3000
    fn = [struct.unpack("<HH", a) for r, a in log if r == IOC["GPIO_SET_FUNCTION"]]
    assert fn == [(6, 7)]  # the pin's function: PIO
    enabled = max(i for i, r in enumerate(reqs) if r == IOC["SM_SET_ENABLED"])
    assert reqs.index(IOC["SM_PUT"]) < enabled
    # the pin is the PIO's before its state machine runs: else the first pulse shows on the pin
    # only from the function switch on, cut short (seen under emulation: 2.49896 ms of 2.5)
    assert reqs.index(IOC["GPIO_SET_FUNCTION"]) < enabled
    before = len(log)
    assert pio.set(6, 20_000_000, 1_000_000)  # same frequency: one FIFO word, nothing else
    assert [r for r, _ in calls()[before:]] == [IOC["SM_PUT"]]
    pio.stop(6)
    tail = calls()[-3:]
    assert [r for r, _ in tail] == [IOC["SM_EXEC"], IOC["GPIO_SET_FUNCTION"], IOC["SM_UNCLAIM"]]
    assert struct.unpack("<HH", tail[1][1]) == (6, 5)  # back to SYS_RIO (GPIO)


def test_four_state_machines_at_most():
    dev, _ = _pwm.fake_pio_device()
    pio = _pwm.PioPwm(dev)
    assert all(pio.set(g, 1_000_000, 500_000) for g in (1, 2, 3, 4))
    assert not pio.set(5, 1_000_000, 500_000)
    assert pio.pins() == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        pio.set(30, 1_000_000, 500_000)  # RP1 bank 0 only


class _Chip:
    path = "fake-pwmchip"

    def __init__(self):
        self.configured = []

    def configure(self, ch, period, duty):
        self.configured.append((ch, period, duty))

    def disable(self, ch):
        pass


class _Backend:
    kind = "sysfs"

    def __init__(self, pio, hw):
        self.pio, self.chip, self._hw = pio, _Chip(), hw

    def hardware_channel(self, gpio):
        return self._hw.get(gpio)

    def owner(self, gpio):
        return -1


def test_fallback_order_pio_then_hardware_pwm_then_software(monkeypatch, caplog):
    from rpio_pwm import _session

    dev, _ = _pwm.fake_pio_device(taken_mask=0b1111)  # all 4 taken
    be = _Backend(_pwm.PioPwm(dev), {18: 2})
    monkeypatch.setattr(_session, "ensure_backend", lambda: be)
    writes = []
    with caplog.at_level(logging.INFO, logger="rpio_pwm"):
        e = default_engine(18, lambda g, lv: writes.append((g, lv)))
        e.start(50, 10)
    assert isinstance(e.active, SysfsPwmEngine) and be.chip.configured == [(2, 20_000_000, 2_000_000)]
    assert any("4 state machines are taken" in r.message for r in caplog.records)
    e2 = default_engine(17, lambda g, lv: None)  # no hardware PWM on 17: the C++ engine
    monkeypatch.setattr(SoftwarePwmEngine, "start", lambda self, f, dc: None)
    e2.start(50, 10)
    assert isinstance(e2.active, SoftwarePwmEngine)
    free, _ = _pwm.fake_pio_device()
    be.pio = _pwm.PioPwm(free)
    e3 = default_engine(18, lambda g, lv: None)
    e3.start(50, 10)
    assert isinstance(e3.active, PioPwmEngine) and be.pio.sm_of(18) == 0


@pytest.mark.parametrize("header", ["pin_writer_abi.h", "signal_free_thread.h"])
def test_the_shared_headers_are_identical(header):
    # rpio_core exports the pin-writer table and rpio_pwm consumes it; both start threads the same
    # way. Each package carries the headers (each builds alone).
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "packages"
    core = (root / "rpio-core" / "include" / "rpio" / header).read_bytes()
    pwm = (root / "rpio-pwm" / "include" / "rpio_pwm" / header).read_bytes()
    assert core == pwm


def test_the_kernels_pwm_pio_overlay_channels_are_found_and_used_first(tmp_path, monkeypatch):
    import os

    from rpio_pwm import _session
    from rpio_pwm.sysfs import find_pio_overlay_chips

    root = tmp_path / "pwm"
    for name, device in (("pwmchip0", "1f00098000.pwm"), ("pwmchip1", "pwm_pio@4"), ("pwmchip2", "pwm_pio@1b")):
        d = root / name
        d.mkdir(parents=True)
        os.symlink(f"../../devices/platform/{device}", d / "device")
        (d / "npwm").write_text("1\n" if "pio" in device else "4\n")
        (d / "export").write_text("")
        c = d / "pwm0"
        c.mkdir()
        for f, v in (("period", "0"), ("duty_cycle", "0"), ("enable", "0")):
            (c / f).write_text(v + "\n")
    chips = find_pio_overlay_chips(str(root))
    assert sorted(chips) == [4, 27] and chips[4].path.endswith("pwmchip1") and chips[4].channel_for(4) == 0
    dev, _ = _pwm.fake_pio_device()
    be = _Backend(_pwm.PioPwm(dev), {})
    be.pio_overlay = chips
    monkeypatch.setattr(_session, "ensure_backend", lambda: be)
    e = default_engine(4, lambda g, lv: None)
    e.start(50, 7.5)
    assert isinstance(e.active, SysfsPwmEngine) and be.pio.pins() == []  # the overlay's, not a 2nd SM
    assert (root / "pwmchip1" / "pwm0" / "period").read_text().strip() == "20000000"
    assert (root / "pwmchip1" / "pwm0" / "duty_cycle").read_text().strip() == "1500000"
