"""An RPi.GPIO program, unchanged but for the import: buttons, an LED, PWM, events."""
import time

import RPIO as GPIO

BUTTON, LED, FAN = 17, 27, 18

GPIO.setwarnings(False)
GPIO.setmode(GPIO.BCM)
GPIO.setup(BUTTON, GPIO.IN, pull_up_down=GPIO.PUD_UP)
GPIO.setup([LED, 22], GPIO.OUT, initial=GPIO.LOW)
GPIO.setup(FAN, GPIO.OUT)
mode: int | None = GPIO.getmode()

GPIO.output(LED, GPIO.HIGH)
GPIO.output((LED, 22), (True, False))
level: int = GPIO.input(BUTTON)
function: int = GPIO.gpio_function(LED)

fan = GPIO.PWM(FAN, 50)
fan.start(25.0)
fan.ChangeDutyCycle(75)
fan.ChangeFrequency(100)
assert isinstance(fan, GPIO.PWM)


def pressed(channel: int) -> None:
    print(f"pressed on {channel}")


GPIO.add_event_detect(BUTTON, GPIO.FALLING, callback=pressed, bouncetime=50)
GPIO.add_event_callback(BUTTON, lambda channel: print(channel))
seen: bool = GPIO.event_detected(BUTTON)
GPIO.remove_event_detect(BUTTON)
edge: int | None = GPIO.wait_for_edge(BUTTON, GPIO.RISING, timeout=10)
time.sleep(0.01)
fan.stop()
info = GPIO.RPI_INFO
revision: int = GPIO.RPI_REVISION
print(info["P1_REVISION"], revision, GPIO.VERSION)
GPIO.cleanup([LED, 22])
GPIO.cleanup()
