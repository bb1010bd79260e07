"""The simulated board as a workbench: watch it, drive it, record it, test with it.

- :mod:`.board`   the board as its watchers see it (header layout, pin states, parts), for a
                  simulated board, a real Pi's registers, or any model offline
- :mod:`.server`  the board page (``rpio sim serve``): standard-library HTTP and server-sent events
- :mod:`.pinout`  the header as a coloured terminal picture (``rpio pinout``)
- :mod:`.vcd`     VCD export, recording, reading and replay (``rpio sim record`` / ``replay``)
- :mod:`.pytest_plugin`  the ``sim_board`` fixture (pytest11 entry point ``rpio``)

Nothing here is imported by ``import RPIO``. The page is served with the standard library alone,
so the ``rpio[board]`` extra (the web parts' dependencies) adds no package today.
"""

from .vcd import Recorder, Replay, export_vcd, read_vcd, record, replay_vcd, write_vcd

__all__ = ["Recorder", "Replay", "export_vcd", "read_vcd", "record", "replay_vcd", "write_vcd"]
