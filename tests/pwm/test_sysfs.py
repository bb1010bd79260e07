"""The Pi 5 path: kernel hardware PWM through a fake /sys/class/pwm, software timing elsewhere."""

import os

import pytest
import rpio_pwm as PWM
from rpio_pwm import _session
from rpio_pwm.software import SoftwareEngine
from rpio_pwm.sysfs import SysfsPwmChip, find_chip
from test_hardware_parts import make_tree


def fake_chip(root, name, device, npwm=4, exported=()):
    d = root / name
    d.mkdir(parents=True)
    os.symlink(f"../../devices/platform/axi/1000120000.pcie/{device}", d / "device")
    (d / "npwm").write_text(f"{npwm}\n")
    for f in ("export", "unexport"):
        (d / f).write_text("")
    for ch in exported:
        c = d / f"pwm{ch}"
        c.mkdir()
        for f, v in (("period", "0"), ("duty_cycle", "0"), ("enable", "0"), ("polarity", "normal")):
            (c / f).write_text(v + "\n")
    return d


def read(d, ch, f):
    return (d / f"pwm{ch}" / f).read_text().strip()


@pytest.fixture
def pi5(tmp_path, monkeypatch):
    sysfs = tmp_path / "pwm"
    fake_chip(sysfs, "pwmchip0", "1f0009c000.pwm", exported=(0, 1, 2, 3))  # the fan's chip comes first
    chip = fake_chip(sysfs, "pwmchip2", "1f00098000.pwm", exported=(0, 1, 2, 3))
    dt = make_tree(tmp_path / "dt", ["raspberrypi,5-model-b", "brcm,bcm2712"], [0x7C000000, 0x10, 0x7C000000, 0x4000000])
    monkeypatch.delenv("RPIO_PWM_BACKEND")
    monkeypatch.setenv("RPIO_PWM_DT_ROOT", str(dt))
    monkeypatch.setenv("RPIO_PWM_SYSFS_ROOT", str(sysfs))
    writes = []
    clock = [0]
    engine = SoftwareEngine(lambda g, lv: writes.append((engine.due_ns, g, lv)), clock_ns=lambda: clock[0],
                            threaded=False)
    return chip, engine, writes, clock


def test_chip_found_by_device_name_not_number(pi5, tmp_path):
    chip, *_ = pi5
    assert find_chip(str(tmp_path / "pwm"), ["1f00098000.pwm"]) == str(chip)
    assert find_chip(str(tmp_path / "pwm"), ["7e20c000.pwm"]) is None
    c = SysfsPwmChip.find(str(tmp_path / "pwm"))
    assert c.npwm == 4 and [c.channel_for(g) for g in (12, 13, 18, 19, 17)] == [0, 1, 2, 3, None]


def test_pi5_backend_uses_hardware_pwm_where_it_can(pi5, caplog):
    chip, engine, writes, clock = pi5
    import logging

    with caplog.at_level(logging.INFO, logger="rpio_pwm"):
        s = PWM.Servo()
    assert PWM.backend_name() == "sysfs"
    assert any("sysfs" in r.getMessage() and "hardware PWM via" in r.getMessage() for r in caplog.records)
    _session.backend()._engine = engine
    s.set_servo(18, 1500)
    assert (read(chip, 2, "period"), read(chip, 2, "duty_cycle"), read(chip, 2, "enable")) == ("20000000", "1500000", "1")
    s.set_servo(18, 1000)
    assert read(chip, 2, "duty_cycle") == "1000000"
    # GPIO 17 has no hardware PWM: software timing, exact schedule
    s.set_servo(17, 1200)
    assert engine.pins() == [17]
    engine.run_until(60_000_000)
    assert [w for w in writes if w[1] == 17] == [
        (0, 17, 1), (1_200_000, 17, 0), (20_000_000, 17, 1), (21_200_000, 17, 0), (40_000_000, 17, 1), (41_200_000, 17, 0),
        (60_000_000, 17, 1)]
    s.stop_servo(18)
    assert read(chip, 2, "enable") == "0" and (chip / "unexport").read_text().strip() == "2"
    s.stop_servo(17)
    assert engine.pins() == [] and writes[-1][1:] == (17, 0)


def test_two_pulses_per_subcycle_need_software(pi5):
    chip, engine, writes, clock = pi5
    PWM.setup()
    _session.backend()._engine = engine
    PWM.init_channel(0, 10000)
    PWM.add_channel_pulse(0, 19, 0, 100)
    assert read(chip, 3, "enable") == "1" and engine.pins() == []
    PWM.add_channel_pulse(0, 19, 500, 100)
    assert read(chip, 3, "enable") == "0" and engine.pins() == [19]
    PWM.print_channel(0)
    PWM.cleanup()
    assert engine.pins() == [] and writes[-1][1:] == (19, 0)


def test_hw_pins_can_be_restricted(pi5, monkeypatch):
    chip, engine, writes, clock = pi5
    monkeypatch.setenv("RPIO_PWM_HW_PINS", "18")
    PWM.setup()
    _session.backend()._engine = engine
    PWM.init_channel(0, 20000)
    PWM.add_channel_pulse(0, 19, 0, 100)
    assert engine.pins() == [19] and read(chip, 3, "enable") == "0"


def test_configure_keeps_duty_below_period(tmp_path):
    fake_chip(tmp_path, "pwmchip0", "7e20c000.pwm", npwm=2, exported=(0,))
    chip = SysfsPwmChip.find(str(tmp_path), pi5=False)
    order = []
    real = chip._write
    chip._write = lambda path, v: (order.append(os.path.basename(path)), real(path, v))
    chip.configure(0, 20_000_000, 15_000_000)
    assert order == ["period", "duty_cycle", "enable"]
    order.clear()
    chip.configure(0, 1_000_000, 500_000)  # the old duty (15 ms) exceeds the new period: duty first
    assert order == ["duty_cycle", "period", "enable"]
    assert chip.channel_for(18) == 0 and chip.channel_for(19) == 1 and chip.channel_for(17) is None
    with pytest.raises(ValueError):
        chip.configure(0, 1000, 2000)


def test_export_waits_for_the_directory(tmp_path):
    d = fake_chip(tmp_path, "pwmchip0", "1f00098000.pwm")
    chip = SysfsPwmChip.find(str(tmp_path))
    calls = []

    def kernel(_):  # the "kernel" creates pwm1 on the second poll
        calls.append(1)
        if len(calls) == 2:
            (d / "pwm1").mkdir()
            for f in ("period", "duty_cycle", "enable"):
                (d / "pwm1" / f).write_text("0\n")

    chip._sleep = kernel
    chip.configure(1, 1000, 500)
    assert (d / "export").read_text().strip() == "1" and read(d, 1, "duty_cycle") == "500"


def test_rpi_gpio_pwm_uses_the_hardware_channel_on_a_pi5(pi5):
    from rpio_pwm.gpio_pwm import make_pwm_class

    chip, engine, writes, clock = pi5
    host_writes = []
    PWMcls = make_pwm_class(lambda ch: ch, lambda g, lv: host_writes.append((g, lv)))
    p = PWMcls(18, 1000)
    p.start(25)
    assert (read(chip, 2, "period"), read(chip, 2, "duty_cycle"), read(chip, 2, "enable")) == ("1000000", "250000", "1")
    p.ChangeFrequency(500)
    assert (read(chip, 2, "period"), read(chip, 2, "duty_cycle")) == ("2000000", "500000")
    p.stop()
    assert read(chip, 2, "enable") == "0" and host_writes == []
