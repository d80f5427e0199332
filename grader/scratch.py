"""Private temporary folders that outlive a killed grader only until the next run: each holds its owner's pid,
and a folder whose owner is gone (kill -9, a lost machine) is removed when the next one is made."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psutil

OWNER_FILE = "owner.pid"


def owned_folder(prefix: str, parent: Path | None = None) -> Path:
    """A new folder (mode 0700) under `parent` (default: the temporary folder), after removing the stale ones
    with the same prefix."""
    remove_stale(prefix, parent)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    (folder / OWNER_FILE).write_text(str(os.getpid()))
    return folder


def remove_stale(prefix: str, parent: Path | None = None) -> None:
    """Remove the folders `owned_folder(prefix, parent)` made for processes that no longer run."""
    for owner in Path(parent or tempfile.gettempdir()).glob(f"{prefix}*/{OWNER_FILE}"):
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if not psutil.pid_exists(pid):
            shutil.rmtree(owner.parent, ignore_errors=True)
