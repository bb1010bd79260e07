"""The software-timed engine: exact schedules with a fake clock, and a real thread."""

import threading

import pytest
from rpio_pwm.errors import PWMError
from rpio_pwm.software import SoftwareEngine, edges_gap_ns


def test_edges_gap():
    assert edges_gap_ns(100, [(10, 20)]) == 10
    assert edges_gap_ns(100, []) is None
    assert edges_gap_ns(100, [(0, 100)]) is None
    assert edges_gap_ns(100, [(0, 10), (90, 100)]) == 20  # wraps: one pulse of 20
    assert edges_gap_ns(1000, [(0, 500)]) == 500


def make(start=0):
    clock = [start]
    log = []
    e = SoftwareEngine(lambda g, lv: log.append((e.due_ns, g, lv)), clock_ns=lambda: clock[0], threaded=False)
    return e, log, clock


def test_exact_edges_and_phase_kept_on_edit():
    e, log, clock = make(1000)
    e.set_pin(5, 1000, [(0, 250)])
    e.set_pin(6, 400, [(100, 200)])
    for t in range(1000, 4001, 37):  # stepping in odd increments changes nothing
        clock[0] = t
        e.run_until(t)
    clock[0] = 4000
    e.run_until(4000)
    assert [x for x in log if x[1] == 5] == [(1000, 5, 1), (1250, 5, 0), (2000, 5, 1), (2250, 5, 0),
                                           (3000, 5, 1), (3250, 5, 0), (4000, 5, 1)]
    assert [x[:3:2] for x in log if x[1] == 6][:5] == [(1000, 0), (1100, 1), (1200, 0), (1500, 1), (1600, 0)]
    # widening the pulse keeps the pin's phase
    e.set_pin(5, 1000, [(0, 500)])
    e.run_until(6000)
    assert [x for x in log if x[1] == 5][-4:] == [(4500, 5, 0), (5000, 5, 1), (5500, 5, 0), (6000, 5, 1)]


def test_constant_levels_and_removal():
    e, log, clock = make()
    e.set_pin(3, 1000, [(0, 1000)])
    e.set_pin(4, 1000, [])
    assert log == [(0, 3, 1), (0, 4, 0)] and e.next_event_ns() is None
    e.remove_pin(3)
    assert log[-1] == (0, 3, 0) and e.pins() == [4]
    e.remove_pin(4)  # already low: nothing written
    assert len(log) == 3


def test_bad_runs_are_refused():
    e, _, _ = make()
    with pytest.raises(ValueError):
        e.set_pin(1, 100, [(50, 150)])


def test_a_failing_writer_drops_the_pin():
    def boom(g, lv):
        raise OSError("line released")

    e = SoftwareEngine(boom, clock_ns=lambda: 0, threaded=False)
    with pytest.raises(PWMError, match="writing GPIO 2 failed"):
        e.set_pin(2, 100, [(0, 50)])
    assert e.pins() == [] and e.stats()["write_errors"] == 1


def test_threaded_engine_runs_on_its_own():
    seen = []
    enough = threading.Event()

    def write(g, lv):
        seen.append((g, lv))
        if len(seen) >= 20:
            enough.set()

    e = SoftwareEngine(write)
    e.set_pin(9, 1_000_000, [(0, 500_000)])  # 1 kHz, 50 %
    assert enough.wait(timeout=10)
    e.remove_pin(9)
    e.stop()
    levels = [lv for g, lv in seen[:20]]
    assert levels == [1, 0] * 10  # strictly alternating: no edge lost or doubled
