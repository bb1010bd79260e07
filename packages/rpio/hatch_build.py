"""Pin the three sibling packages to exactly this package's version (the one VERSION file)."""

from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface

SIBLINGS = ("rpio-core", "rpio-interrupts", "rpio-pwm")


class PinSiblings(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        version = Path(self.root, "VERSION").read_text().strip()
        metadata["dependencies"] = [f"{name}=={version}" for name in SIBLINGS]
