"""Which engine serves a pin: the table, as data and as a function.

=================  ===================================  ===========================================
board              RPIO.PWM (Servo, init_channel, ...)  RPi.GPIO's ``GPIO.PWM`` class
=================  ===================================  ===========================================
Pi 0-4             ``dma`` (GPIO 0-31; a free legacy    ``dma`` (a free channel of its own), else
(BCM2835/6/7/2711) DMA channel, pacing by PWM/PCM)      ``software``
Pi 5 (BCM2712)     ``pio`` (GPIO 0-27, an RP1 PIO state machine through /dev/pio0), else
                   ``hardware-pwm`` on GPIO 12/13/18/19 (an overlay exports it), else
                   ``software`` -- the same order for both APIs
no Pi, rpio_pwm    ``dma-model`` (the simulated SoC)    ``dma-model``, else ``software``
alone
simulated Pi 0-4   ``dma-model`` driving the board's    ``software`` (the C++ engine through the
(RPIO umbrella)    pins at the model's times            board's driver)
simulated Pi 5     ``pio`` on the emulator (4 state machines), else ``software``, both APIs
=================  ===================================  ===========================================

``software`` is the C++ engine (rpio_pwm.software): a thread of its own, absolute deadlines, no GIL.
Whether a Pi 5's ``/dev/pio0`` grants a state machine is only known by asking it: :func:`pwm_engine`
says ``pio`` where the device exists and the pin is a header GPIO, and the fallbacks are logged once
per pin when they happen. :func:`engine_table` gives the rows above as dicts.
"""

from __future__ import annotations

from typing import Dict, List, Optional

__all__ = ["ENGINES", "engine_table", "pwm_engine"]

ENGINES: Dict[str, str] = {
    "dma": "DMA: control blocks write GPSET/GPCLR, paced by the PWM or PCM FIFO; no CPU per pulse",
    "dma-model": "the simulated DMA engine executing the same control blocks",
    "hardware-pwm": "the SoC's PWM block through the kernel (/sys/class/pwm)",
    "pio": "an RP1 PIO state machine running RPIO's PWM program (/dev/pio0; the emulator when simulated)",
    "software": "the C++ software engine: its own thread, absolute deadlines, no GIL",
}

PI5_HW_PWM_PINS = (12, 13, 18, 19)
_LEGACY = ("BCM2835", "BCM2836", "BCM2837", "BCM2711")


def engine_table() -> List[dict]:
    """The table of the module docstring, one dict per row."""
    return [
        {"board": "Pi 0-4", "socs": list(_LEGACY), "rpio_pwm": "dma", "gpio_pwm": "dma, else software",
         "pins": "GPIO 0-31"},
        {"board": "Pi 5", "socs": ["BCM2712"],
         "rpio_pwm": "pio, else hardware-pwm on 12/13/18/19, else software",
         "gpio_pwm": "pio, else hardware-pwm on 12/13/18/19, else software", "pins": "GPIO 0-27"},
        {"board": "no Pi (rpio_pwm alone)", "socs": [], "rpio_pwm": "dma-model",
         "gpio_pwm": "dma-model, else software", "pins": "GPIO 0-31"},
        {"board": "simulated Pi 0-4", "socs": list(_LEGACY), "rpio_pwm": "dma-model (drives the board)",
         "gpio_pwm": "software", "pins": "GPIO 0-31"},
        {"board": "simulated Pi 5", "socs": ["BCM2712"], "rpio_pwm": "pio (the emulator), else software",
         "gpio_pwm": "pio (the emulator), else software", "pins": "GPIO 0-27"},
    ]


def pwm_engine(gpio: int, soc: Optional[str] = None, *, api: str = "RPIO.PWM", simulated: Optional[bool] = None,
               hardware_pwm_pins=PI5_HW_PWM_PINS, dma_channel_free: bool = True,
               pio_device: Optional[bool] = None) -> Optional[str]:
    """The engine that serves ``gpio``: "dma", "dma-model", "pio", "hardware-pwm" or "software";
    None when that API cannot drive the pin (RPIO.PWM's DMA path covers GPIO 0-31 only).

    ``soc``: "BCM2835".."BCM2712", or None for this machine (the umbrella's simulated board when RPIO
    runs one, else the Raspberry Pi found, else no Pi). ``api``: "RPIO.PWM" or "GPIO.PWM".
    ``hardware_pwm_pins``: the Pi 5 pins whose hardware PWM channel the kernel exports.
    ``pio_device``: whether a real Pi 5 has the rp1-pio driver's device (None: look for it).
    """
    if api not in ("RPIO.PWM", "GPIO.PWM"):
        raise ValueError(f"api must be 'RPIO.PWM' or 'GPIO.PWM', not {api!r}")
    if soc is None:
        soc, simulated = _here(simulated)
    soc = (soc or "").upper() or None
    if soc in _LEGACY:
        if simulated:
            if api == "GPIO.PWM":
                return "software"
            return "dma-model" if 0 <= gpio < 32 else None
        if not 0 <= gpio < 32:
            return "software" if api == "GPIO.PWM" else None
        return "dma" if dma_channel_free or api == "RPIO.PWM" else "software"
    if soc == "BCM2712":
        if 0 <= gpio < 28 and (simulated or (_pio_device_present() if pio_device is None else pio_device)):
            return "pio"
        if simulated:
            return "software"
        return "hardware-pwm" if gpio in tuple(hardware_pwm_pins or ()) else "software"
    # no Pi: rpio_pwm's simulated SoC
    if not 0 <= gpio < 32:
        return "software" if api == "GPIO.PWM" else None
    return "dma-model" if dma_channel_free or api == "RPIO.PWM" else "software"


def _pio_device_present() -> bool:
    import os

    if os.environ.get("RPIO_PWM_PIO", "1") == "0":
        return False
    return os.path.exists(os.environ.get("RPIO_PWM_PIO_DEVICE", "/dev/pio0"))


def _here(simulated: Optional[bool]):
    from rpio_pwm import _session
    from rpio_pwm.board import read_board

    linked = _session._sim_board()
    if linked is not None:
        return linked[2], True
    facts = read_board()
    if facts.soc:
        return facts.soc, bool(simulated)
    return None, True
