"""RPi.GPIO 0.7.1's constants, with its values, plus RPIO's additions."""

HIGH, LOW = 1, 0
OUT, IN = 0, 1
BOARD, BCM = 10, 11
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22
RISING, FALLING, BOTH = 31, 32, 33
SERIAL, SPI, I2C, HARD_PWM = 40, 41, 42, 43
UNKNOWN = -1

# RPIO 0.10 reported ALT0 as 4 through gpio_function(); RPIO 2 keeps RPi.GPIO's codes there and
# offers the full ALT view through pin_info()/alt_functions() instead (docs/compat.md).
ALT0 = 4
