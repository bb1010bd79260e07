"""Argument handling that behaves like RPi.GPIO's C entry points.

RPi.GPIO parses its arguments with ``PyArg_ParseTuple[AndKeywords]`` and converts channels with
``(int)PyLong_AsLong``. Scripts (and their tests) see the resulting TypeErrors, OverflowErrors and
truncations, so a drop-in has to produce the same ones. This module is that one place.
"""

from __future__ import annotations

import operator

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

_MISSING = object()


def c_int(value):
    """The ``"i"`` format: any object with ``__index__``, range-checked to a C int."""
    number = operator.index(value)  # TypeError: "'str' object cannot be interpreted as an integer"
    if number > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if number < _INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return number


def truncated_int(value: int) -> int:
    """``(int)PyLong_AsLong(value)`` for an int: 64-bit range check, then 32-bit truncation."""
    number = int(value)
    if not _LONG_MIN <= number <= _LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    number &= 0xFFFFFFFF
    return number - 2**32 if number > _INT_MAX else number


def positional(name: str, args: tuple, kwargs: dict, count: int) -> tuple:
    """A METH_VARARGS function parsed with PyArg_ParseTuple and exactly ``count`` arguments."""
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments")
    if len(args) != count:
        plural = "argument" if count == 1 else "arguments"
        raise TypeError(f"function takes exactly {count} {plural} ({len(args)} given)")
    return args


def keywords(args: tuple, kwargs: dict, names: tuple[str, ...], required: int) -> list:
    """PyArg_ParseTupleAndKeywords without a function name: returns one slot per name.

    Slots not given hold ``MISSING``; the messages are CPython's for that call.
    """
    if len(args) + len(kwargs) > len(names):
        raise TypeError(
            f"function takes at most {len(names)} arguments ({len(args) + len(kwargs)} given)"
        )
    # CPython's order: parameter by parameter, then keywords nobody claimed.
    slots = []
    for index, name in enumerate(names):
        if index < len(args):
            if name in kwargs:
                raise TypeError(
                    f"argument for function given by name ('{name}') and position ({index + 1})"
                )
            slots.append(args[index])
        elif name in kwargs:
            slots.append(kwargs[name])
        elif index < required:
            raise TypeError(f"function missing required argument '{name}' (pos {index + 1})")
        else:
            slots.append(_MISSING)
    for key in kwargs:
        if key not in names:
            raise TypeError(f"'{key}' is an invalid keyword argument for this function")
    return slots


MISSING = _MISSING
