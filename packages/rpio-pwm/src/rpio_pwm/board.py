"""What board this is, as far as DMA PWM cares, read from the device tree (``root=`` for tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from rpio_pwm import _pwm

__all__ = ["BoardFacts", "read_board", "default_dma_channel_for"]

DT_ROOT_DEFAULT = "/proc/device-tree"
LEGACY_DMA_SOCS = ("BCM2835", "BCM2836", "BCM2837", "BCM2711")


@dataclass(frozen=True)
class BoardFacts:
    soc: Optional[str]             # "BCM2835" .. "BCM2712", None off a Pi
    model: str                     # /proc/device-tree/model, "" off a Pi
    periph_base: Optional[int]     # ARM physical base of the peripherals (soc/ranges)
    dma_channel_mask: Optional[int]  # channels Linux may use (legacy controller)

    @property
    def is_pi(self) -> bool:
        return self.soc is not None

    @property
    def has_legacy_dma(self) -> bool:
        return self.soc in LEGACY_DMA_SOCS


def read_board(root: Optional[str] = None) -> BoardFacts:
    """Reads the device tree at ``root`` (default: $RPIO_PWM_DT_ROOT or /proc/device-tree)."""
    root = root or os.environ.get("RPIO_PWM_DT_ROOT") or DT_ROOT_DEFAULT
    if not os.path.isdir(root):
        return BoardFacts(None, "", None, None)
    info = _pwm.read_device_tree(root)
    return BoardFacts(info["soc"], info["model"], info["periph_base"], info["dma_channel_mask"])


def default_dma_channel_for(facts: BoardFacts, model_soc: str = "BCM2837") -> int:
    """The DMA channel used when none is given: $RPIO_PWM_DMA_CHANNEL, else the highest legacy
    channel in the device tree's dma-channel-mask other than 0 (14 on Pi 0-3, 10 on Pi 4 when the
    mask is absent; 14 on the model of a Pi 0-3)."""
    env = os.environ.get("RPIO_PWM_DMA_CHANNEL")
    if env:
        try:
            return int(env, 0)
        except ValueError:
            raise _pwm.PWMArgumentError(f"RPIO_PWM_DMA_CHANNEL={env!r} is not a channel number") from None
    soc = facts.soc if facts.has_legacy_dma else model_soc
    ch = _pwm.default_dma_channel(soc, facts.dma_channel_mask if facts.has_legacy_dma else None)
    return ch if ch >= 0 else 14
