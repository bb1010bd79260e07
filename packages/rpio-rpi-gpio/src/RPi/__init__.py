"""The RPi package of RPIO 2's opt-in RPi.GPIO distribution: only RPi.GPIO lives here."""
