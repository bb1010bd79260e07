"""The model refuses, loudly, what the hardware would not run (or would run wrongly)."""

import struct

import pytest
from rpio_pwm import _pwm

DMA = 0x7E007000
NWB, WAIT_RESP, DEST_DREQ = 1 << 26, 1 << 3, 1 << 6
CS_RESET, CS_ACTIVE = 1 << 31, 1


def cb(ti, src, dst, length=4, stride=0, nxt=0, r0=0, r1=0):
    return struct.pack("<8I", ti, src, dst, length, stride, nxt, r0, r1)


def run(sim, ch, addr):
    sim.write32(DMA + 0x100 * ch, CS_RESET)
    sim.write32(DMA + 0x100 * ch + 4, addr)
    sim.write32(DMA + 0x100 * ch, CS_ACTIVE)


@pytest.fixture
def buf(sim):
    return sim.alloc_dma(4096)


def test_a_handmade_chain_runs(sim, buf):
    # mask word at 0x100: GPIO 4; two CBs: set then clear; FSEL makes GPIO 4 an output first
    sim.mem_write(buf, 0x100, struct.pack("<I", 1 << 4))
    sim.mem_write(buf, 0, cb(NWB | WAIT_RESP, buf.bus + 0x100, 0x7E20001C, nxt=buf.bus + 32))
    sim.mem_write(buf, 32, cb(NWB | WAIT_RESP, buf.bus + 0x100, 0x7E200028))
    sim.write32(0x7E200000, 1 << 12)
    run(sim, 3, buf.bus)
    assert [t[1:] for t in sim.transitions()] == [(4, 1), (4, 0)]
    assert sim.read32(DMA + 0x300) & 2  # END: the chain ended (NEXTCONBK 0)
    assert not sim.channel_active(3)


@pytest.mark.parametrize("make,message", [
    (lambda b: (b.bus + 8, cb(NWB, b.bus + 0x100, 0x7E20001C)), "not 32-byte aligned"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x2000, 0x7E20001C)), "outside every allocated buffer"),
    (lambda b: (b.bus, cb(NWB, (b.bus & 0x3FFFFFFF) + 0x100, 0x7E20001C)), "not a bus address of SDRAM"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x3F20001C)), "ARM physical address"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x7E20001C, nxt=b.bus + 40)), "misaligned"),
    (lambda b: (b.bus, cb(NWB | 1, b.bus + 0x100, 0x7E20001C)), "TI bits"),             # INTEN
    (lambda b: (b.bus, cb(NWB | 2, b.bus + 0x100, 0x7E20001C)), "TI bits"),             # TDMODE
    (lambda b: (b.bus, cb(NWB | (1 << 10), b.bus + 0x100, 0x7E20001C)), "TI bits"),     # SRC_DREQ
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x7E20001C, length=6)), "TXFR_LEN"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x7E20001C, stride=4)), "STRIDE"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x7E20001C, r1=1)), "reserved"),
    (lambda b: (b.bus, cb(NWB, b.bus + 0x100, 0x7E101000)), "does not let the DMA write"),  # clock manager
    (lambda b: (b.bus, cb(NWB | DEST_DREQ | (7 << 16), b.bus + 0x100, 0x7E20C018)), "DREQ 7"),
    (lambda b: (b.bus, cb(NWB | DEST_DREQ | (2 << 16), b.bus + 0x100, 0x7E20C018)), "waits on DREQ 2"),
    (lambda b: (b.bus, cb(NWB, 0x7E200034, 0x7E20001C)), "reads a peripheral"),
])
def test_malformed_control_blocks_fault(sim, buf, make, message):
    addr, raw = make(buf)
    sim.mem_write(buf, addr - buf.bus, raw)
    with pytest.raises(_pwm.ModelFault, match=message):
        run(sim, 5, addr)
    assert sim.read32(DMA + 0x500) & (1 << 8)  # CS.ERROR set on the channel


def test_a_ring_that_never_waits_is_refused(sim, buf):
    sim.mem_write(buf, 0, cb(NWB, buf.bus + 0x100, 0x7E20001C, nxt=buf.bus))  # loops on itself
    with pytest.raises(_pwm.ModelFault, match="not paced"):
        run(sim, 5, buf.bus)


def test_freed_memory_under_a_running_channel(sim):
    ctrl = _pwm.Controller(sim)
    ctrl.setup(10, 0)
    ctrl.init_channel(4, 3000)
    sim.free_dma(ctrl.ring_buffer(4))  # what a buggy cleanup would do: free before stopping
    with pytest.raises(_pwm.ModelFault, match="freed"):
        sim.advance(3000 * _pwm.TICKS_PER_US)
    with pytest.raises(_pwm.PWMError, match="never allocated"):
        ctrl.cleanup()  # reports the double free, and still resets
    assert not ctrl.is_setup()


def test_dma4_channels_of_the_bcm2711():
    sim = _pwm.SimSoc("BCM2711")
    b = sim.alloc_dma(4096)
    sim.mem_write(b, 0, cb(NWB, b.bus + 0x100, 0x7E20001C))
    with pytest.raises(_pwm.ModelFault, match="DMA4"):
        run(sim, 12, b.bus)
    c = _pwm.Controller(sim)
    c.setup(10, 0)
    with pytest.raises(_pwm.PWMArgumentError, match="DMA4"):
        c.init_channel(11, 20000)
    c.init_channel(10, 20000)  # the highest legacy channel works


def test_registers_by_physical_address_are_refused(sim):
    with pytest.raises(_pwm.ModelFault, match="ARM physical"):
        sim.write32(0x3F20001C, 1)
    with pytest.raises(_pwm.ModelFault, match="unmodelled"):
        sim.read32(0x7E300000)


def test_clock_manager_rules(sim):
    CTL, DIV = 0x7E1010A0, 0x7E1010A4
    with pytest.raises(_pwm.ModelFault, match="password"):
        sim.write32(CTL, 0x16)
    sim.write32(DIV, 0x5A000000 | (20 << 12))
    sim.write32(CTL, 0x5A000006)
    sim.write32(CTL, 0x5A000016)
    assert sim.read32(CTL) & 0x80  # BUSY
    with pytest.raises(_pwm.ModelFault, match="BUSY"):
        sim.write32(DIV, 0x5A000000 | (40 << 12))
    with pytest.raises(_pwm.ModelFault, match="MASH"):
        sim.write32(CTL, 0x5A000216)
    sim.write32(CTL, 0x5A000006)  # disable first, then the divisor may change
    sim.write32(DIV, 0x5A000000 | (40 << 12))


def test_fifo_overflow_by_the_cpu(sim):
    for _ in range(16):
        sim.write32(0x7E20C018, 0)
    with pytest.raises(_pwm.ModelFault, match="overflow"):
        sim.write32(0x7E20C018, 0)


def test_bcm2712_is_not_modelled():
    with pytest.raises(_pwm.PWMArgumentError, match="no legacy DMA"):
        _pwm.SimSoc("BCM2712")
