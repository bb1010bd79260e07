"""Hardware parts that can be checked without a Pi: device tree, mailbox messages, backend choice."""

import struct

import pytest
from rpio_pwm import _pwm, _session
from rpio_pwm.board import BoardFacts, default_dma_channel_for, read_board


def make_tree(root, compatible, ranges, dma_mask=None, model="Raspberry Pi", mask_name="brcm,dma-channel-mask"):
    (root / "soc").mkdir(parents=True)
    (root / "model").write_bytes(model.encode() + b"\0")
    (root / "compatible").write_bytes(b"\0".join(c.encode() for c in compatible) + b"\0")
    (root / "soc" / "ranges").write_bytes(b"".join(struct.pack(">I", w) for w in ranges))
    if dma_mask is not None:
        node = root / "soc" / "dma@7e007000"
        node.mkdir()
        (node / "compatible").write_bytes(b"brcm,bcm2835-dma\0")
        (node / mask_name).write_bytes(struct.pack(">I", dma_mask))
        other = root / "soc" / "dma@7e007b00"  # the BCM2711's 40-bit controller: not ours
        other.mkdir()
        (other / "compatible").write_bytes(b"brcm,bcm2711-dma\0")
        (other / mask_name).write_bytes(struct.pack(">I", 0x7000))
    return root


@pytest.mark.parametrize("compatible,ranges,soc,base", [
    (["raspberrypi,model-b", "brcm,bcm2835"], [0x7E000000, 0x20000000, 0x01000000], "BCM2835", 0x20000000),
    (["raspberrypi,3-model-b", "brcm,bcm2837"], [0x7E000000, 0x3F000000, 0x01000000, 0x40000000, 0x40000000, 0x1000],
     "BCM2837", 0x3F000000),
    (["raspberrypi,4-model-b", "brcm,bcm2711"], [0x7E000000, 0x0, 0xFE000000, 0x01800000], "BCM2711", 0xFE000000),
    ([], [0x7E000000, 0x3F000000, 0x01000000], "BCM2837", 0x3F000000),  # no compatible: from the base
])
def test_device_tree_base_and_soc(tmp_path, compatible, ranges, soc, base):
    make_tree(tmp_path / "dt", compatible, ranges)
    f = read_board(str(tmp_path / "dt"))
    assert (f.soc, f.periph_base, f.is_pi, f.has_legacy_dma) == (soc, base, True, True)


def test_pi5_tree_is_not_read_as_a_peripheral_base(tmp_path):
    make_tree(tmp_path / "dt", ["raspberrypi,5-model-b", "brcm,bcm2712"], [0x7C000000, 0x10, 0x7C000000, 0x04000000])
    f = read_board(str(tmp_path / "dt"))
    assert f.soc == "BCM2712" and f.periph_base is None and not f.has_legacy_dma
    assert _session.choose_kind(f)[0] == "sysfs"


def test_no_tree_means_no_pi(tmp_path):
    f = read_board(str(tmp_path / "missing"))
    assert f == BoardFacts(None, "", None, None)
    assert _session.choose_kind(f)[0] == "model"


@pytest.mark.parametrize("soc,mask,name,expect", [
    ("BCM2837", 0x7F35, "brcm,dma-channel-mask", 14),
    ("BCM2711", 0x07F5, "dma-channel-mask", 10),
    ("BCM2711", 0x00F5, "brcm,dma-channel-mask", 7),
    ("BCM2837", 0x0001, "brcm,dma-channel-mask", 14),  # nothing but 0 usable: the fallback
])
def test_default_channel_from_the_mask(tmp_path, soc, mask, name, expect):
    compat = {"BCM2837": "brcm,bcm2837", "BCM2711": "brcm,bcm2711"}[soc]
    ranges = [0x7E000000, 0x3F000000, 0x01000000] if soc == "BCM2837" else [0x7E000000, 0, 0xFE000000, 0x01800000]
    make_tree(tmp_path / "dt", [compat], ranges, dma_mask=mask, mask_name=name)
    f = read_board(str(tmp_path / "dt"))
    assert f.dma_channel_mask == mask  # the legacy controller's, not the 40-bit one's
    assert default_dma_channel_for(f) == expect


def test_backend_choice():
    pi4 = BoardFacts("BCM2711", "Raspberry Pi 4 Model B", 0xFE000000, 0x07F5)
    assert _session.choose_kind(pi4)[0] == "hardware"
    assert _session.choose_kind(pi4, "Model")[0] == "model"
    with pytest.raises(ValueError, match="RPIO_PWM_BACKEND"):
        _session.choose_kind(pi4, "gpu")


def test_hardware_backend_refused_off_a_pi(monkeypatch):
    monkeypatch.setenv("RPIO_PWM_BACKEND", "hardware")
    import rpio_pwm

    with pytest.raises(RuntimeError, match="needs a Raspberry Pi 0-4"):
        rpio_pwm.setup()


def test_mailbox_message_format():
    m = _pwm.mailbox_message(0x3000C, [8192, 4096, 0x4], 3)
    assert m == [36, 0, 0x3000C, 12, 12, 8192, 4096, 4, 0]
    assert _pwm.mailbox_message(0x3000D, [7], 1) == [28, 0, 0x3000D, 4, 4, 7, 0]
    # _IOWR(100, 0, char *): the size field is sizeof(char *)
    req = _pwm.vcio_ioctl_request()
    assert req & 0xFFFF == 0x6400 and (req >> 30) == 3 and ((req >> 16) & 0x3FFF) == struct.calcsize("P")


def test_soc_facts():
    assert _pwm.soc_info("BCM2711")["plld_hz"] == 750_000_000
    assert _pwm.soc_info("BCM2837")["plld_hz"] == 500_000_000
    assert _pwm.soc_info("BCM2835")["sdram_bus_alias"] == 0x40000000
    assert _pwm.soc_info("BCM2711")["legacy_dma_mask"] == 0x07FF
    assert _pwm.periph_bus_to_phys("BCM2711", 0x7E20C018) == 0xFE20C018
    assert _pwm.periph_bus_to_phys("BCM2835", 0x7E007000) == 0x20007000
    with pytest.raises(RuntimeError, match="not a peripheral bus address"):
        _pwm.periph_bus_to_phys("BCM2837", 0x3F200000)


def test_hardware_platform_without_a_mailbox_says_what_to_do(tmp_path):
    devmem = tmp_path / "mem"
    with open(devmem, "wb") as f:
        f.truncate(0x210000)
    with pytest.raises(RuntimeError, match="mailbox"):
        _pwm.HardwarePlatform("BCM2837", devmem=str(devmem), vcio=str(tmp_path / "vcio"), periph_base=0,
                              signal_guard=False)
    with pytest.raises(RuntimeError, match="Pi 5"):
        _pwm.HardwarePlatform("BCM2712", devmem=str(devmem), signal_guard=False)
