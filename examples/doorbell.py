"""A doorbell: a button on GPIO 17 (to ground, internal pull-up) rings; an LED on GPIO 27 shows it.

On a Raspberry Pi, wire it and press the button. Anywhere else RPIO runs a simulated Pi, and this
script presses the simulated button itself, three times, so you can watch it work.
"""

import threading
import time

import RPIO

BUTTON, LED = 17, 27
rings = []
done = threading.Event()


def ring(gpio, value, event):
    rings.append(event.timestamp_ns)
    RPIO.output(LED, RPIO.HIGH)
    gap = (rings[-1] - rings[-2]) / 1e6 if len(rings) > 1 else 0.0
    print(f"ding dong #{len(rings)} (GPIO {gpio} fell to {value}; {gap:.1f} ms after the last)")
    RPIO.output(LED, RPIO.LOW)
    if len(rings) == 3:
        done.set()


def press_the_simulated_button():
    for _ in range(3):
        time.sleep(0.2)
        RPIO.sim.drive(BUTTON, 0)  # pressed: the button connects GPIO 17 to ground
        time.sleep(0.05)
        RPIO.sim.release(BUTTON)  # released: the pull-up brings it back high


RPIO.setup(LED, RPIO.OUT, initial=RPIO.LOW)
RPIO.add_interrupt_callback(BUTTON, ring, edge="falling", pull_up_down=RPIO.PUD_UP,
                            debounce_timeout_ms=20, with_event=True)
RPIO.wait_for_interrupts(threaded=True)
board = "a simulated " if RPIO.sim.is_simulated() else "this "
print(f"RPIO {RPIO.VERSION} on {board}{RPIO.RPI_INFO['TYPE']}: press the button on GPIO {BUTTON}")
if RPIO.sim.is_simulated():
    threading.Thread(target=press_the_simulated_button, daemon=True).start()
done.wait(timeout=None if not RPIO.sim.is_simulated() else 10)
RPIO.stop_waiting_for_interrupts()
led = [(e.timestamp_ns, e.level) for e in RPIO.sim.history(LED)] if RPIO.sim.is_simulated() else []
if led:
    print(f"the LED lit {sum(level for _, level in led)} times")
RPIO.cleanup()
