"""On a real Raspberry Pi with one jumper wire (see README.md): registers and kernel edges."""

import threading
import time

import RPIO


def test_this_is_not_the_simulated_board():
    assert not RPIO.sim.is_simulated()
    assert RPIO.RPI_INFO["TYPE"] != "Unknown" or RPIO.sysinfo()[1] != "Unknown"


def test_output_drives_input_through_the_wire(jumper):
    out_pin, in_pin = jumper
    RPIO.setup(in_pin, RPIO.IN)
    RPIO.setup(out_pin, RPIO.OUT, initial=RPIO.LOW)
    for level in (1, 0, 1, 0):
        RPIO.output(out_pin, level)
        time.sleep(0.001)
        assert RPIO.input(in_pin) == level


def test_pulls_decide_a_released_wire(jumper):
    out_pin, in_pin = jumper
    RPIO.setup(out_pin, RPIO.IN)  # nobody drives the wire now
    RPIO.setup(in_pin, RPIO.IN, pull_up_down=RPIO.PUD_UP)
    time.sleep(0.01)
    assert RPIO.input(in_pin) == 1
    RPIO.setup(in_pin, RPIO.IN, pull_up_down=RPIO.PUD_DOWN)
    time.sleep(0.01)
    assert RPIO.input(in_pin) == 0


def test_gpio_function_reads_the_registers(jumper):
    out_pin, in_pin = jumper
    RPIO.setup(out_pin, RPIO.OUT)
    RPIO.setup(in_pin, RPIO.IN)
    assert RPIO.gpio_function(out_pin) == RPIO.OUT
    assert RPIO.gpio_function(in_pin) == RPIO.IN
    assert RPIO.pin_info(out_pin).function == "OUT"


def test_kernel_edges_reach_interrupt_callbacks_with_timestamps(jumper):
    out_pin, in_pin = jumper
    RPIO.setup(out_pin, RPIO.OUT, initial=RPIO.LOW)
    seen, done = [], threading.Event()

    def callback(gpio, value, event):
        seen.append((gpio, value, event.timestamp_ns))
        if len(seen) == 4:
            done.set()

    RPIO.add_interrupt_callback(in_pin, callback, with_event=True)
    RPIO.wait_for_interrupts(threaded=True)
    try:
        for level in (1, 0, 1, 0):
            RPIO.output(out_pin, level)
            time.sleep(0.01)
        assert done.wait(2), seen
    finally:
        RPIO.stop_waiting_for_interrupts()
    assert [(g, v) for g, v, _ in seen] == [(in_pin, 1), (in_pin, 0), (in_pin, 1), (in_pin, 0)]
    stamps = [t for _, _, t in seen]
    assert stamps == sorted(stamps)


def test_rpigpio_event_api_on_the_kernel(jumper):
    out_pin, in_pin = jumper
    RPIO.setup(out_pin, RPIO.OUT, initial=RPIO.LOW)
    RPIO.setup(in_pin, RPIO.IN)
    RPIO.add_event_detect(in_pin, RPIO.RISING)
    RPIO.output(out_pin, 1)
    time.sleep(0.05)
    assert RPIO.event_detected(in_pin)
    RPIO.remove_event_detect(in_pin)
    RPIO.output(out_pin, 0)
    timer = threading.Timer(0.05, RPIO.output, (out_pin, 1))
    timer.start()
    assert RPIO.wait_for_edge(in_pin, RPIO.RISING, timeout=2000) == in_pin
    timer.join()
