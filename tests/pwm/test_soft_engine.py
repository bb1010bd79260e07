"""The C++ software engine as rpio_pwm alone uses it: never a hang, duty and frequency changes on
its own schedule (manual clock), a program that exits with PWM running."""

import os
import subprocess
import sys
import time

import pytest
from rpio_pwm.gpio_pwm import SoftwarePwmEngine, make_pwm_class
from rpio_pwm.software import SoftwareEngine


@pytest.mark.timeout(120)
def test_1mhz_returns_and_the_process_exits():
    script = """
import logging
logging.basicConfig(level=logging.WARNING)
from rpio_pwm.software import SoftwareEngine
e = SoftwareEngine("record")
e.set_pin(23, 1000, [(0, 500)])      # 1 MHz
e.set_pin(23, 500, [(0, 100)])       # 2 MHz, 20 %
e.remove_pin(23)
e.set_pin(24, 1000, [(0, 500)])      # running when the program ends
print("returned", e.recorded()[-1][1:] if e.recorded() else None)
"""
    env = dict(os.environ, RPIO_PWM_BACKEND="model")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=100)
    assert r.returncode == 0, r.stderr
    assert "returned" in r.stdout
    assert r.stderr.count("runs as closely as it can") == 2  # one line per pin (24 too), not per edge


def test_duty_and_frequency_changes_through_the_gpio_class():
    clock = [0]
    log = []
    eng = SoftwareEngine(lambda g, lv: log.append((eng.due_ns, g, lv)), clock_ns=lambda: clock[0], threaded=False)
    PWM = make_pwm_class(lambda c: c, lambda g, lv: None, lambda g, w: SoftwarePwmEngine(g, w, engine=eng))
    p = PWM(12, 1000)  # 1 kHz
    p.start(25)
    eng.run_until(1_999_999)
    clock[0] = 1_999_999
    p.ChangeDutyCycle(60)  # same period: the phase is kept, the next fall moves
    eng.run_until(3_000_000)
    clock[0] = 3_000_000
    p.ChangeFrequency(500)  # a new period starts at the change
    eng.run_until(7_000_000)
    p.stop()
    assert log[:4] == [(0, 12, 1), (250_000, 12, 0), (1_000_000, 12, 1), (1_250_000, 12, 0)]
    assert (2_000_000, 12, 1) in log and (2_600_000, 12, 0) in log
    after = [x for x in log if x[0] > 3_000_000]
    assert after[:3] == [(4_200_000, 12, 0), (5_000_000, 12, 1), (6_200_000, 12, 0)]
    assert log[-1][1:] == (12, 0) and eng.pins() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root (or CAP_SYS_NICE)")
def test_realtime_priority_only_while_every_pin_is_slow():
    def becomes(engine, wanted):
        deadline = time.monotonic() + 10  # a timeout for a stuck thread, not a speed bound
        while engine.realtime != wanted and time.monotonic() < deadline:
            time.sleep(0.001)
        return engine.realtime == wanted

    engine = SoftwareEngine("record")
    try:
        engine.set_pin(17, 20_000_000, [(0, 1_500_000)])  # a 50 Hz servo: real-time
        assert becomes(engine, True)
        engine.set_pin(18, 100_000, [(0, 50_000)])  # 10 kHz on another pin: normal priority
        assert becomes(engine, False)
        engine.remove_pin(18)
        assert becomes(engine, True)
    finally:
        engine.stop()
