"""Reading a file someone else may have made: board files (TOML) and VCD traces.

``read_regular_file(path, limit, what)`` opens without blocking (a FIFO or a device would hang
``open()`` or never end), reads only a regular file, and at most ``limit`` bytes: a FIFO, a
directory, ``/dev/zero`` or a file larger than the limit is one ``ValueError`` naming the file.
``decode_text`` turns the bytes into text or says, in one line naming the file, why they are not
text (invalid UTF-8 with the byte offset, NUL bytes: binary data).
"""

from __future__ import annotations

import os
import stat

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``); ValueError otherwise.

    OSError (no such file, no permission) passes through: its message names the file.
    """
    path = os.fspath(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: {_kind(info.st_mode)}, not a {what}: give a regular file")
        if info.st_size > limit:
            raise ValueError(f"{path}: {info.st_size} bytes, larger than a {what} may be "
                             f"({limit} bytes)")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while we read it
                raise ValueError(f"{path}: larger than a {what} may be ({limit} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes, path: str, what: str = "file") -> str:
    """UTF-8 text of a file, or ValueError naming it (binary data, invalid UTF-8)."""
    nul = data.find(0)
    if nul >= 0:
        raise ValueError(f"{path}: binary data (a NUL byte at offset {nul}), not a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                         f"{error.start}), not a {what}") from None
