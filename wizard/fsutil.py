"""Files on the operator's machine: atomic writes (reports, signatures, exclude lists) and
bounded reads of the files the operator names (plans, keys, config), so that /dev/zero or a
huge file is refused at once instead of read forever."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: str | bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` in one rename (temp file in the same dir, fsync, rename).

    Readers never see half a file. A path that exists and is not a regular file (/dev/null,
    /dev/stdout, a FIFO) is written in place: renaming over it would replace a device with a
    plain file. Raises OSError.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if target.exists() and not target.is_file():
        with open(target, "wb") as fh:
            fh.write(payload)
        return
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# Small inputs: plan and config YAML, key files, allowed_signers, signatures.
SMALL_FILE_LIMIT = 1 << 20


def read_capped(path: str | os.PathLike[str], limit: int = SMALL_FILE_LIMIT) -> bytes:
    """Read at most `limit` bytes of a regular file (or a pipe); raises OSError otherwise.

    Devices and directories are refused before any read (`/dev/zero` never ends); a file
    longer than `limit` is refused rather than cut. The errors carry a `strerror` that reads
    well after "cannot read FILE:".
    """
    # O_NONBLOCK: opening a FIFO nobody writes to must not hang; cleared again for reading.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            kind = "a directory" if stat.S_ISDIR(mode) else "a device or socket"
            raise OSError(errno.EINVAL, f"it is {kind}, not a file", os.fspath(path))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", os.fspath(path))
    return b"".join(chunks)
