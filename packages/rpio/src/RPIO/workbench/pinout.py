"""The header as a picture in the terminal (``rpio pinout``), with live pin states if given.

``render(layout, states=None, parts=(), color=False)`` returns the picture as text. Pins sit as on
the board: odd numbers on the left, even on the right, pin 1 at the top. Without states it is the
model's pinout; with states every GPIO also shows its function (IN, OUT, or the ALT signal), its
level (1, 0, or z: floating, which reads 0) and its pull (↑ up, ↓ down, ? the chip cannot say),
and the processes holding pins for edge detection are listed below it, as gpioinfo's consumers.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from .board import Layout, PartState, Pin, PinState

# ANSI SGR codes
_RESET = "\x1b[0m"
_KIND_STYLE = {"power": "1;31", "ground": "2;37", "gpio": "1;32", "id": "36"}
_POWER_STYLE = {"3V3": "1;33", "5V": "1;31"}
_LEVEL_STYLE = {"1": "1;93", "0": "34", "z": "2"}
_FUNCTION_STYLE = {"IN": "36", "OUT": "35", "NONE": "2"}
_ALT_STYLE = "33"
_PULL_MARK = {"up": "↑", "down": "↓", "off": " ", None: "?"}

Segment = Tuple[str, Optional[str]]  # (text, SGR style or None)


def _paint(segments: Iterable[Segment], color: bool) -> str:
    if not color:
        return "".join(text for text, _style in segments)
    return "".join(f"\x1b[{style}m{text}{_RESET}" if style and text.strip() else text
                   for text, style in segments)


def _width(segments: Iterable[Segment]) -> int:
    return sum(len(text) for text, _style in segments)


def _pin_style(pin: Pin) -> str:
    if pin.kind == "power":
        return _POWER_STYLE.get(pin.name, _KIND_STYLE["power"])
    return _KIND_STYLE.get(pin.kind, "0")


def _function_text(state: PinState) -> Segment:
    if state.function.startswith("ALT"):
        text = f"{state.function} {state.signal}" if state.signal else state.function
        return text, _ALT_STYLE
    return state.function, _FUNCTION_STYLE.get(state.function)


def _level_text(state: PinState) -> Segment:
    level = "z" if state.floating else str(state.level)
    return level, _LEVEL_STYLE[level]


def _fields(pin: Pin, state: Optional[PinState], parts: Mapping[int, List[str]]) -> List[List[Segment]]:
    """The columns beside a pin: name, then (live) level+pull+drive, function, parts."""
    name = [(pin.name, _pin_style(pin) if pin.kind != "gpio" else None)]
    if state is None:
        return [name]
    level = [_level_text(state), (_PULL_MARK.get(state.pull, "?"), None),
             (">", "1;35") if state.drive is not None else (" ", None),
             ("*", "1;33") if getattr(state, "consumer", None) else (" ", None)]
    on_pin = parts.get(pin.gpio, [])
    return [name, level, [_function_text(state)],
            [(f"[{', '.join(on_pin)}]", "1;36")] if on_pin else []]


def _line_up(columns: List[List[List[Segment]]], left: bool) -> List[List[Segment]]:
    """Pad every column to its widest cell; the left side mirrored (name next to the pin)."""
    count = max((len(row) for row in columns), default=0)
    widths = [max((_width(row[i]) for row in columns if len(row) > i), default=0)
              for i in range(count)]
    lined = []
    for row in columns:
        cells = []
        for i, width in enumerate(widths):
            cell = row[i] if len(row) > i else []
            fill = (" " * (width - _width(cell)), None)
            cells.append([fill] + cell if left else cell + [fill])
        if left:
            cells.reverse()
        segments: List[Segment] = []
        for i, cell in enumerate(cells):
            if i:
                segments.append((" ", None))
            segments.extend(cell)
        lined.append(segments)
    return lined


def _state_of(pin: Pin, states) -> Optional[PinState]:
    return states.get(pin.gpio) if states and pin.gpio is not None else None


def _rows(rows, states, parts, color) -> List[str]:
    lefts = _line_up([_fields(a, _state_of(a, states), parts) for a, _b in rows], True)
    rights = _line_up([_fields(b, _state_of(b, states), parts) for _a, b in rows], False)
    lines = []
    for (a, b), left, right in zip(rows, lefts, rights):
        box: List[Segment] = [(" ", None), (f"({a.number:>2})", _pin_style(a)), (" ", None),
                              (f"({b.number:>2})", _pin_style(b)), (" ", None)]
        lines.append(_paint(left + box + right, color).rstrip())
    return lines


def _module_rows(layout: Layout, states, parts, color) -> List[str]:
    gpios = list(layout.module_gpios)
    half = (len(gpios) + 1) // 2
    pins = [Pin(None, f"GPIO{gpio}", "gpio", gpio) for gpio in gpios]
    cells = _line_up([_fields(pin, _state_of(pin, states), parts) for pin in pins], False)
    width = max((_width(cell) for cell in cells), default=0) + 4
    lines = []
    for i in range(half):
        line: List[Segment] = []
        for index in (i, i + half):
            if index < len(cells):
                line += [(f"{gpios[index]:>4}  ", "2")] + cells[index]
                line.append((" " * (width - _width(cells[index])), None))
        lines.append(_paint(line, color).rstrip())
    return lines


def render(layout: Layout, states: Optional[Mapping[int, PinState]] = None,
           parts: Iterable[PartState] = (), *, color: bool = False, title: bool = True) -> str:
    """The picture of a header (or of a compute module's GPIOs), as text with a final newline."""
    on_pin: Dict[int, List[str]] = {}
    part_list = list(parts)
    for part in part_list:
        for gpio in part.gpios:
            on_pin.setdefault(gpio, []).append(part.name)
    lines: List[str] = []
    if title:
        lines += [_paint([(layout.title, "1")], color), ""]
    if layout.header is None:
        lines.append("A compute module has no GPIO header: its GPIOs are on the module's "
                     "connector.")
        lines += _module_rows(layout, states, on_pin, color)
    else:
        lines += _rows(layout.rows, states, on_pin, color)
        for name, rows in layout.extra:
            lines += ["", _paint([(f"{name} pads", "1")], color)]
            lines += _rows(rows, states, on_pin, color)
    if part_list:
        lines += ["", _paint([("Parts", "1")], color)]
        for part in part_list:
            state = ", ".join(f"{key}={value}" for key, value in part.state.items())
            gpios = ", ".join(f"GPIO{gpio}" for gpio in part.gpios)
            lines.append(f"  {part.name} ({part.kind} on {gpios})" + (f": {state}" if state else ""))
    held = [(gpio, state.consumer) for gpio, state in sorted((states or {}).items())
            if getattr(state, "consumer", None)]
    if held:
        lines += ["", _paint([("Held for edge detection (consumer)", "1")], color)]
        lines += [f"  GPIO{gpio:<3} {consumer}" for gpio, consumer in held]
    if states:
        lines += ["", "level 1/0, z floating (reads 0); pull ↑ up, ↓ down, ? unknown; "
                      "> driven from outside; * held for edge detection"]
    return "\n".join(lines) + "\n"


__all__ = ["render"]
