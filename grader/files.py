"""Atomic file writes (a reader sees the old file or the new one, never half of one): the grader's write boundary.

Where the disk says no, the error says why: no space or quota left is `DiskFull` (exit 3, the disk named), a
read-only or unwritable folder is `ReadOnlyOut` (exit 2, a usage error). Either way the temporary file is gone
and the file that was there before is untouched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import DiskFull, GraderError, ReadOnlyOut

FULL = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{temp_stem(path.name)}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        translated = disk_error(exc, path)
        if translated is not None:
            raise translated from exc
        raise


def check_writable(folder: Path) -> None:
    """Raise `ReadOnlyOut` or `DiskFull` now when `folder` (created if missing) cannot take a new file."""
    probe = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise (disk_error(exc, folder / "x") or exc) from exc
    finally:
        if probe is not None:
            Path(probe).unlink(missing_ok=True)


def disk_error(exc: BaseException, path: Path) -> GraderError | None:
    """`exc` as the grader's error when the disk refused a write to `path` (full, or read-only), else None."""
    if not isinstance(exc, OSError):
        return None
    if exc.errno in FULL:
        return DiskFull(f"the disk holding {path.parent} is full ({os.strerror(exc.errno)}): nothing more can be "
                        "written; what was written is kept, free some space and run the same command again")
    if exc.errno in READ_ONLY:
        return ReadOnlyOut(f"{path.parent} cannot be written ({os.strerror(exc.errno)}): choose a writable "
                           "folder (--out) or make this one writable")
    return None


def temp_stem(name: str) -> str:
    """`name` as the stem of a temporary name: kept when short, else cut and ended with a hash of it."""
    raw = os.fsencode(name)
    if len(raw) <= 64:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return raw[:40].decode("utf-8", "ignore") + "~" + digest
