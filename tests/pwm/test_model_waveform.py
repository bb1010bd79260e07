"""The model executes the compiled rings; every pulse start and width is checked exactly."""

import random

import pytest
from pwm_helpers import first_cb, pulses, us


def start(sim, ctrl, ch, subcycle, incr=None):
    ctrl.init_channel(ch, subcycle)
    sim.watch_cb(ch, first_cb(ctrl, ch))


def expected_transitions(schedule, n, incr_ticks, starts):
    """schedule: gpio -> list of (start, width); the pins' level per sample, turned into transitions
    at the given subcycle start times (ticks). Level before the first subcycle is 0."""
    out = []
    for g, ps in schedule.items():
        lv = [0] * n
        for s, w in ps:
            for i in range(s, s + w):
                lv[i] = 1
        prev = 0
        for t0 in starts:
            for i in range(n):
                if lv[i] != prev:
                    out.append((t0 + i * incr_ticks, g, lv[i]))
                    prev = lv[i]
    return sorted(out)


def window(sim, t_from, t_to, gpios):
    return sorted(tr for tr in sim.transitions() if t_from <= tr[0] < t_to and tr[1] in gpios)


def test_first_slot_then_exact_subcycles(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 14, 20000)
    ctrl.add_pulse(14, 17, 0, 150)
    sim.advance(us(100_000))
    starts = sim.ring_starts(14)
    # the channel starts by waiting one slot, then a subcycle every 20000 us exactly
    assert starts[:5] == [us(10 + 20000 * k) for k in range(5)]
    assert pulses(sim, 17)[:4] == [(us(10 + 20000 * k), us(1500)) for k in range(4)]


def test_several_pins_one_channel_exact(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 8, 5000)
    sched = {17: [(0, 1)], 18: [(0, 50), (60, 3)], 4: [(50, 10)], 22: [(499, 1)], 23: [(0, 500)], 24: []}
    for g, ps in sched.items():
        ctrl.set_pulses(8, g, ps)
    sim.advance(us(30_000))
    starts = sim.ring_starts(8)
    assert [b - a for a, b in zip(starts, starts[1:])] == [us(5000)] * (len(starts) - 1)
    exp = expected_transitions(sched, 500, us(10), starts[:5])
    got = window(sim, starts[0], starts[5], set(sched))
    # GPIO 23 is high all the time: one rise, never a fall
    assert got == [tr for tr in exp if tr[1] != 23 or tr[0] == starts[0]]
    assert sim.level(23) == 1 and sim.level(24) == 0


def test_pulse_of_one_increment_and_adjacent_set_clear(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 9, 3000)
    ctrl.add_pulse(9, 5, 100, 1)     # 10 us
    ctrl.add_pulse(9, 6, 0, 100)     # falls at sample 100 ...
    ctrl.add_pulse(9, 7, 100, 100)   # ... where this one rises
    sim.advance(us(12_000))
    t0 = sim.ring_starts(9)[1]
    assert pulses(sim, 5, t0)[0] == (t0 + us(1000), us(10))
    assert pulses(sim, 6, t0)[0] == (t0, us(1000))
    assert pulses(sim, 7, t0)[0] == (t0 + us(1000), us(1000))


@pytest.mark.parametrize("k", [2, 3, 4])
def test_channels_sharing_the_fifo_do_not_double_widths(sim, ctrl, k):
    ctrl.setup(10, 0)
    chans = [14, 13, 12, 11][:k]
    subs = [20000, 3000, 10000, 5000][:k]
    for i, (ch, sub) in enumerate(zip(chans, subs)):
        start(sim, ctrl, ch, sub)
        ctrl.add_pulse(ch, 17 + i, 7, 150 if sub > 3000 else 100)
    assert ctrl.pacer()["channels"] == k
    assert sim.slot_ticks(0) * k == us(10)  # the slot is increment / k
    sim.advance(us(70_000))
    for i, (ch, sub) in enumerate(zip(chans, subs)):
        st = sim.ring_starts(ch)[1:]  # the first subcycle of a late joiner may be shifted once
        assert len(st) >= 3
        assert all(b - a == us(sub) for a, b in zip(st, st[1:])), (ch, st)
        width = 150 if sub > 3000 else 100
        got = pulses(sim, 17 + i, st[0])[:2]
        assert got == [(t + us(70), us(10 * width)) for t in st[:2]]


def test_pcm_pacing(sim, ctrl):
    ctrl.setup(5, 1)
    start(sim, ctrl, 10, 3000)
    ctrl.add_pulse(10, 12, 3, 7)
    sim.advance(us(10_000))
    st = sim.ring_starts(10)
    assert [b - a for a, b in zip(st, st[1:])] == [us(3000)] * (len(st) - 1)
    assert pulses(sim, 12, st[0])[:2] == [(t + us(15), us(35)) for t in st[:2]]
    assert sim.slots(1) > 0 and sim.slots(0) == 0


@pytest.mark.parametrize("edit,expect", [
    ("grow", [(0, 151)]), ("shrink", [(0, 149)]), ("move", [(1, 150)]),
    ("zero", []), ("full", [(0, 300)]), ("split", [(0, 10), (20, 1)]),
])
def test_edit_between_subcycles(sim, ctrl, edit, expect):
    ctrl.setup(10, 0)
    start(sim, ctrl, 7, 3000)
    ctrl.set_pulses(7, 17, [(0, 150)])
    ctrl.set_pulses(7, 18, [(150, 150)])
    sim.advance(us(6005))  # two subcycles have started, the third begins at 6010 us
    st = sim.ring_starts(7)
    boundary = st[-1] + us(3000)
    sim.run_until(boundary - 1)  # the DMA waits for the slot that starts the next subcycle
    ctrl.set_pulses(7, 17, {"zero": [(0, 0)]}.get(edit, expect))
    sim.run_until(boundary + us(3000))
    old = window(sim, st[-1], boundary, {17})
    new = window(sim, boundary, boundary + us(3000), {17})
    assert old == [(st[-1], 17, 1), (st[-1] + us(1500), 17, 0)]
    exp = expected_transitions({17: expect}, 300, us(10), [boundary])
    if edit == "zero":
        exp = []
    if edit == "full":  # high from sample 0, and it was low at the end of the previous subcycle
        exp = [(boundary, 17, 1)]
    if edit == "move":  # was low in the previous sample 299: rises at sample 1
        exp = [(boundary + us(10), 17, 1), (boundary + us(1510), 17, 0)]
    assert new == exp
    # the other pin never noticed
    assert pulses(sim, 18, st[-1])[:2] == [(st[-1] + us(1500), us(1500)), (boundary + us(1500), us(1500))]


def test_edit_while_a_pulse_is_high(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 7, 3000)
    ctrl.set_pulses(7, 17, [(0, 200)])
    sim.run_until(us(3010))
    t0 = sim.ring_starts(7)[-1]
    assert t0 == us(3010)
    sim.run_until(t0 + us(505))  # pin high, sample 50 done
    ctrl.set_pulses(7, 17, [(0, 100)])  # shorter: this very pulse ends at sample 100
    sim.run_until(t0 + us(6000))
    assert pulses(sim, 17, t0)[:3] == [(t0, us(1000)), (t0 + us(3000), us(1000))]
    ctrl.set_pulses(7, 17, [(0, 10)])  # the end already passed: the pin still falls at sample 10 next time
    sim.advance(us(3000))
    assert pulses(sim, 17, t0 + us(6000))[0] == (t0 + us(6000), us(100))


def test_clear_channel_gpio_drives_low_and_releases(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 7, 3000)
    ctrl.set_pulses(7, 17, [(0, 200)])
    sim.advance(us(3100))
    assert sim.level(17) == 1
    ctrl.clear_channel_gpio(7, 17)
    assert sim.level(17) == 0
    assert ctrl.ring_masks(7, 0) == (0, 0) and ctrl.owner(17) == -1
    n = sim.transitions_total
    sim.advance(us(9000))
    assert sim.transitions(n) == []  # nothing touches the pin any more
    ctrl.init_channel(3, 3000)  # and another channel may take it
    ctrl.add_pulse(3, 17, 0, 1)
    sim.advance(us(9000))
    assert len(pulses(sim, 17)) >= 2


def test_random_schedules_are_exact(sim, ctrl):
    rng = random.Random(1234)
    ctrl.setup(10, 0)
    start(sim, ctrl, 6, 4000)
    n = 400
    sched = {}
    for g in rng.sample(range(2, 28), 8):
        ps = []
        for _ in range(rng.randint(0, 4)):
            s = rng.randrange(n)
            ps.append((s, rng.randint(0, n - s)))
        sched[g] = ps
        ctrl.set_pulses(6, g, ps)
    sim.advance(us(20_000))
    st = sim.ring_starts(6)
    exp = expected_transitions(sched, n, us(10), st[:4])
    # the expectation starts from "low before the first subcycle": drop a pin's first rise at st[0]
    # if it was already high, by comparing the window after the first subcycle's first sample
    got = window(sim, st[0] + 1, st[4], set(sched))
    assert got == [tr for tr in exp if tr[0] >= st[0] + 1]


def test_the_dma_is_idle_between_cpu_actions(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 14, 3000)
    before = sim.cbs_executed
    sim.advance(us(3000))
    assert sim.cbs_executed - before == 900  # 300 samples x 3 control blocks, nothing more
    assert sim.read32(0x7E007000 + 14 * 0x100) & 1  # CS.ACTIVE
    assert sim.fifo_underruns(0) == 0


def test_cleanup_stops_and_leaves_pins_low(sim, ctrl):
    ctrl.setup(10, 0)
    start(sim, ctrl, 14, 3000)
    ctrl.add_pulse(14, 17, 0, 300)
    sim.advance(us(100))
    assert sim.level(17) == 1
    ctrl.cleanup()
    assert sim.level(17) == 0 and sim.function(17) == 1  # an output, low
    assert not sim.channel_active(14)
    n = sim.transitions_total
    sim.advance(us(10_000))
    assert sim.transitions(n) == []
    ctrl.cleanup()  # again: nothing to do
    ctrl.setup(20, 0)  # and PWM can be set up again, differently
    ctrl.init_channel(14, 4000)
    ctrl.add_pulse(14, 17, 1, 2)
    sim.watch_cb(14, first_cb(ctrl, 14))
    sim.advance(us(9000))
    t0 = sim.ring_starts(14)[0]
    assert pulses(sim, 17, t0)[0] == (t0 + us(20), us(40))
