# RPIO.PWM as a module (RPIO 0.10: `import RPIO.PWM`, `RPIO.PWM.Servo()`): all of rpio_pwm, plus
# GpioPWM, the RPi.GPIO class that `RPIO.PWM(channel, frequency)` builds (see RPIO/__init__.pyi).
from rpio_pwm import *

from RPIO import PWM as GpioPWM

__all__ = [
    "DELAY_VIA_PWM", "DELAY_VIA_PCM", "LOG_LEVEL_DEBUG", "LOG_LEVEL_ERRORS", "SUBCYCLE_TIME_US_DEFAULT",
    "PULSE_WIDTH_INCREMENT_GRANULARITY_US_DEFAULT", "VERSION",
    "setup", "cleanup", "init_channel", "clear_channel", "clear_channel_gpio", "add_channel_pulse",
    "print_channel", "set_loglevel", "is_setup", "is_channel_initialized", "get_pulse_incr_us",
    "get_channel_subcycle_time_us", "Servo",
    "set_channel_pulses", "default_dma_channel", "backend_name", "set_gpio_writer",
    "PWMError", "PWMArgumentError", "ServoError", "ModelFault",
    "GpioPWM",
]
