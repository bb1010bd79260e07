"""RPIO's own API: interrupts with events, pin information, the simulated board, RPIO 0.10's PWM."""
import RPIO
import RPIO.PWM
from rpio_interrupts.event import LineEvent


def on_edge(gpio: int, value: int, event: LineEvent) -> None:
    print(gpio, value, event.timestamp_ns)


RPIO.add_interrupt_callback(17, on_edge, edge="falling", pull_up_down=RPIO.PUD_UP,
                            debounce_timeout_ms=20, threaded_callback=True, with_event=True)
port: int = RPIO.add_tcp_callback(0, lambda client, message: client.send(b"ok"), bind="127.0.0.1")
RPIO.wait_for_interrupts(threaded=True)
RPIO.stop_waiting_for_interrupts()
RPIO.del_interrupt_callback(17)
RPIO.remove_tcp_callback(port)
RPIO.cleanup_interrupts()

info: RPIO.PinInfo = RPIO.pin_info(2)
print(info.function, info.signal, RPIO.alt_functions(2).get("ALT0"), RPIO.gpio_count())
RPIO.set_pullupdn(4, RPIO.PUD_DOWN)
pull: int | None = RPIO.get_pullupdn(4)
RPIO.forceoutput(5, RPIO.HIGH)
print(RPIO.forceinput(5), RPIO.channel_to_gpio(7), RPIO.sysinfo()[1], RPIO.version()[0])

if RPIO.sim.is_simulated():
    RPIO.sim.drive(17, 0)
    RPIO.sim.release(17)
    for change in RPIO.sim.history(17):
        print(change)

servo = RPIO.PWM.Servo()
servo.set_servo(18, 1200)
servo.stop_servo(18)
RPIO.PWM.setup()
RPIO.PWM.init_channel(0)
RPIO.PWM.add_channel_pulse(0, 18, 0, 50)
RPIO.PWM.cleanup()

try:
    RPIO.setup(99, RPIO.OUT)
except RPIO.Exceptions.InvalidChannelException as error:
    print(error)
