"""Pin rpio to exactly this package's version (the one VERSION file)."""

from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface


class PinRpio(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        version = Path(self.root, "VERSION").read_text().strip()
        metadata["dependencies"] = [f"rpio=={version}"]
