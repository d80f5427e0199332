"""Sandbox uids: each concurrent sandbox on this machine gets its own, held by a file lock.

Every process of a sandbox's uid is killed when the sandbox closes, so the pool must never hand one uid
to two sandboxes, even of two grader runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from .errors import SandboxError

FIRST_SANDBOX_UID = 62000
SANDBOX_UIDS = 1000
UID_LOCK_DIR = Path("/run/lock/grader-uids") if Path("/run/lock").is_dir() else Path("/tmp/grader-uids")


def claim_uid(start: int) -> tuple[int, int]:
    """A sandbox uid no other sandbox on this machine holds, locked until the returned fd is closed.

    Every process of a sandbox's uid is killed when the sandbox closes, so two sandboxes (even of two
    grader runs) must never share one. A free lock with processes still running under its uid means a
    grader died without cleaning up: those orphans are killed before the uid is reused.
    """
    import fcntl

    UID_LOCK_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    for offset in range(SANDBOX_UIDS):
        uid = FIRST_SANDBOX_UID + (start + offset) % SANDBOX_UIDS
        fd = os.open(UID_LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        orphans = []
        for pid in processes_of_uid(uid):
            try:
                proc = psutil.Process(pid)
                proc.kill()
                orphans.append(proc)
            except psutil.Error:
                pass
        psutil.wait_procs(orphans, timeout=5)
        return uid, fd
    raise SandboxError(f"all {SANDBOX_UIDS} sandbox uids from {FIRST_SANDBOX_UID} are in use")


def processes_of_uid(uid: int) -> list[int]:
    """Pids of the processes whose real uid is `uid`."""
    found = []
    for proc in psutil.process_iter(["pid", "uids"]):
        uids = proc.info.get("uids")
        if uids is not None and uids.real == uid:
            found.append(proc.pid)
    return found
