"""Argument parsing that behaves like CPython 3.11's PyArg_ParseTupleAndKeywords / PyArg_ParseTuple.

RPi.GPIO's functions are C functions; their TypeErrors (missing argument, bad keyword,
an int that is a str or None) are part of the behaviour scripts see. These helpers reproduce the
messages of an unnamed format (``"ii|Oi"`` with no ``:name``), which is what RPi.GPIO 0.7.1 uses.
The one implementation for rpio-interrupts' event API and the umbrella RPIO's I/O functions.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

__all__ = ["MISSING", "c_int", "parse_keywords", "parse_positional", "truncated_int"]

MISSING: Any = object()

_INT_MAX = 2**31 - 1
_INT_MIN = -(2**31)
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)


def c_int(value: Any) -> int:
    """Convert like the ``i`` format unit: __index__ only, C int range."""
    number = operator.index(value)  # TypeError: '<type>' object cannot be interpreted as an integer
    if number > _LONG_MAX or number < _LONG_MIN:
        raise OverflowError("Python int too large to convert to C long")
    if number > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if number < _INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return number


def truncated_int(value: int) -> int:
    """``(int)PyLong_AsLong(value)`` for an int, as RPi.GPIO converts channels and values in
    setup/output/cleanup: a C long range check, then truncation to 32 bits (2**40 + 17 -> 17)."""
    number = int(value)
    if number > _LONG_MAX or number < _LONG_MIN:
        raise OverflowError("Python int too large to convert to C long")
    number &= 0xFFFFFFFF
    return number - 2**32 if number > _INT_MAX else number


def parse_keywords(args: tuple, kwargs: dict, names: Sequence[str], required: int,
                   units: str) -> list:
    """Bind ``args``/``kwargs`` to ``names`` the way vgetargskeywords does.

    ``units`` holds one letter per name: ``i`` (C int) or ``O`` (any object). Omitted optional
    arguments come back as :data:`MISSING`.
    """
    total = len(names)
    nargs = len(args)
    given = nargs + len(kwargs)
    if given > total:
        raise TypeError("function takes at most %d %sargument%s (%d given)" % (
            total, "keyword " if nargs == 0 else "", "" if total == 1 else "s", given))
    remaining = dict(kwargs)
    values: list = []
    for index, name in enumerate(names):
        if index < nargs:
            current = args[index]
        elif remaining and name in remaining:
            current = remaining.pop(name)
        else:
            current = MISSING
        if current is not MISSING:
            values.append(c_int(current) if units[index] == "i" else current)
            continue
        if index < required:
            raise TypeError("function missing required argument '%s' (pos %d)" % (name, index + 1))
        if not remaining:
            values.extend([MISSING] * (total - index))
            return values
        values.append(MISSING)
    if remaining:
        for index in range(nargs):
            if names[index] in remaining:
                raise TypeError("argument for function given by name ('%s') and position (%d)"
                                % (names[index], index + 1))
        key = next(iter(remaining))
        raise TypeError("'%s' is an invalid keyword argument for this function" % key)
    return values


def parse_positional(fname: str, args: tuple, kwargs: dict, count: int, units: str) -> list:
    """A METH_VARARGS function parsed with PyArg_ParseTuple (no keywords accepted)."""
    if kwargs:
        raise TypeError("%s() takes no keyword arguments" % fname)
    if len(args) != count:
        raise TypeError("function takes exactly %d argument%s (%d given)" % (
            count, "" if count == 1 else "s", len(args)))
    return [c_int(value) if unit == "i" else value for value, unit in zip(args, units)]
