"""The compiler: the bytes of the ring, independent of any execution."""

import struct

import pytest
from rpio_pwm import _pwm

NO_WIDE_BURSTS, WAIT_RESP, DEST_DREQ = 1 << 26, 1 << 3, 1 << 6


def cbs(ctrl, ch, sample):
    return [ctrl.ring_cb(ch, sample, k) for k in range(3)]


def test_ring_layout_and_control_blocks(sim, ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(5, 3000)
    info = ctrl.ring_info(5)
    n = info["num_samples"]
    assert n == 300
    base = info["first_cb_bus"]
    assert base % 32 == 0 and base & 0xC0000000 == 0xC0000000  # BCM2837 uncached alias
    assert info["total_bytes"] == _pwm.ring_bytes(300) == 300 * 3 * 32 + 300 * 8 + 32
    for s in (0, 1, 150, n - 1):
        set_cb, clr_cb, delay_cb = cbs(ctrl, 5, s)
        assert set_cb[0] == NO_WIDE_BURSTS | WAIT_RESP and set_cb[2] == 0x7E20001C and set_cb[3] == 4
        assert clr_cb[0] == NO_WIDE_BURSTS | WAIT_RESP and clr_cb[2] == 0x7E200028 and clr_cb[3] == 4
        assert delay_cb[0] == NO_WIDE_BURSTS | WAIT_RESP | DEST_DREQ | (5 << 16)
        assert delay_cb[2] == 0x7E20C018
        assert set_cb[1] == base + info["masks_offset"] + 8 * s
        assert clr_cb[1] == set_cb[1] + 4
        assert delay_cb[1] == base + info["dummy_offset"]
        for cb in (set_cb, clr_cb, delay_cb):
            assert cb[4] == 0 and cb[6] == 0 and cb[7] == 0  # stride, reserved
    # the chain: every block links to the next one, the last back to the first
    for s in range(n):
        for k in range(3):
            nxt = ctrl.ring_cb(5, s, k)[5]
            expect = base if (s == n - 1 and k == 2) else base + (3 * s + k + 1) * 32
            assert nxt == expect


def test_bytes_in_memory_are_the_control_blocks(sim, ctrl):
    ctrl.setup(10, 1)  # PCM pacing
    ctrl.init_channel(2, 3000)
    buf = ctrl.ring_buffer(2)
    raw = sim.mem_read(buf, 32 * 2, 32)  # the DELAY block of sample 0
    ti, src, dst, ln, stride, nxt, r0, r1 = struct.unpack("<8I", raw)
    assert (ti >> 16) & 0x1F == 2 and dst == 0x7E203004 and ln == 4 and nxt == buf.bus + 96


def test_pi1_uses_the_l2_coherent_alias():
    sim = _pwm.SimSoc("BCM2835")
    c = _pwm.Controller(sim)
    c.setup(10, 0)
    c.init_channel(4, 3000)
    assert c.ring_info(4)["first_cb_bus"] & 0xC0000000 == 0x40000000
    assert c.ring_cb(4, 0, 0)[2] == 0x7E20001C  # peripherals: always the 0x7E bus address
    c.cleanup()


def levels_from_masks(ctrl, ch, gpio):
    n = ctrl.num_samples(ch)
    out = []
    for s in range(n):
        st, cl = ctrl.ring_masks(ch, s)
        bit = 1 << gpio
        assert not (st & bit and cl & bit), "a pin is never in both words"
        out.append(1 if st & bit else 0 if cl & bit else None)
    return out


def test_masks_are_levels(ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(1, 3000)
    ctrl.add_pulse(1, 17, 10, 1)
    ctrl.add_pulse(1, 17, 100, 50)
    lv = levels_from_masks(ctrl, 1, 17)
    assert [i for i, v in enumerate(lv) if v == 1] == [10] + list(range(100, 150))
    assert all(v == 0 for i, v in enumerate(lv) if i not in [10] + list(range(100, 150)))
    assert levels_from_masks(ctrl, 1, 18) == [None] * 300  # not owned: never touched


def test_zero_and_full_duty(ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(1, 3000)
    ctrl.add_pulse(1, 4, 0, 0)
    ctrl.add_pulse(1, 5, 0, 300)
    assert levels_from_masks(ctrl, 1, 4) == [0] * 300
    assert levels_from_masks(ctrl, 1, 5) == [1] * 300


def test_set_and_clear_in_the_same_sample_do_not_collide(ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(1, 3000)
    ctrl.add_pulse(1, 17, 0, 50)   # falls at sample 50
    ctrl.add_pulse(1, 18, 50, 20)  # rises at sample 50
    st, cl = ctrl.ring_masks(1, 50)
    assert st & (1 << 18) and cl & (1 << 17)
    assert not st & (1 << 17) and not cl & (1 << 18)


def test_growing_by_one_increment_changes_one_sample(ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(1, 3000)
    ctrl.set_pulses(1, 17, [(0, 150)])
    before = [ctrl.ring_masks(1, s) for s in range(300)]
    ctrl.set_pulses(1, 17, [(0, 151)])
    after = [ctrl.ring_masks(1, s) for s in range(300)]
    assert [s for s in range(300) if before[s] != after[s]] == [150]
    ctrl.set_pulses(1, 17, [(0, 149)])
    again = [ctrl.ring_masks(1, s) for s in range(300)]
    assert [s for s in range(300) if after[s] != again[s]] == [149, 150]


def test_two_channels_have_separate_rings(sim, ctrl):
    ctrl.setup(10, 0)
    ctrl.init_channel(1, 3000)
    ctrl.init_channel(2, 20000)
    a, b = ctrl.ring_info(1), ctrl.ring_info(2)
    assert a["first_cb_bus"] + a["total_bytes"] <= b["first_cb_bus"]
    assert b["num_samples"] == 2000


@pytest.mark.parametrize("soc,pll,expect", [("BCM2837", 500_000_000, 250), ("BCM2711", 750_000_000, 250)])
def test_pacer_uses_the_board_plld(soc, pll, expect):
    p = _pwm.compute_pacer(soc, 0, 10, 1)
    assert p["source_hz"] == pll and p["clock_source"] == "plld"
    assert p["range"] * p["divi"] * 1_000_000 == pll * 10  # exactly 10 us
    assert p["range"] == expect and p["source_hz"] // p["divi"] <= 25_000_000


def test_pacer_slot_is_increment_over_channels():
    for k in (1, 2, 3, 4, 5, 6):
        p = _pwm.compute_pacer("BCM2837", 0, 10, k)
        hz = p["source_hz"]
        assert p["range"] * p["divi"] * 1_000_000 * k == hz * 10, k
    with pytest.raises(_pwm.PWMError, match="cannot share"):
        _pwm.compute_pacer("BCM2837", 0, 10, 7)  # no exact clock for 10/7 us on a Pi 0-3


def test_pcm_frame_length_limit():
    p = _pwm.compute_pacer("BCM2837", 1, 100, 1)
    assert 8 <= p["range"] <= 1024
    assert p["range"] * p["divi"] * 1_000_000 == p["source_hz"] * 100


def test_pi3_buffers_use_the_uncached_alias():
    sim = _pwm.SimSoc("BCM2837")
    c = _pwm.Controller(sim)
    c.setup(10, 0)
    c.init_channel(1, 3000)
    assert c.ring_info(1)["first_cb_bus"] >> 30 == 3
    c.cleanup()
