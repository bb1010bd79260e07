"""Exceptions of rpio_pwm.

RPIO 0.10 raised ``RuntimeError`` for every PWM error and ``AttributeError`` for Servo argument
errors; these classes keep those types (``except RuntimeError`` still works) and add ``ValueError``
where the cause is a bad argument, so ``except ValueError`` works too.
"""

from rpio_pwm._pwm import DMAChannelBusyError, ModelFault, PWMArgumentError, PWMError

__all__ = ["PWMError", "PWMArgumentError", "DMAChannelBusyError", "ServoError", "ModelFault"]


class ServoError(AttributeError, ValueError):
    """A bad argument to Servo (an AttributeError, as in RPIO 0.10, and a ValueError)."""
