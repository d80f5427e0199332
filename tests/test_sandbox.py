"""Sandbox bookkeeping that needs no kernel: uids, stale trees, isolation levels."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import grader.sandbox as sandbox
from grader.errors import SandboxError
from grader.sandbox import Limits, Sandbox, resolve_isolation
from grader.scratch import OWNER_FILE


def test_trees_of_dead_graders_are_removed_by_the_next_sandbox(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = sandbox.SANDBOX_PARENT / "grd-stale-test"
    (stale / "home").mkdir(parents=True, exist_ok=True)
    (stale / OWNER_FILE).write_text(dead.stdout.strip())
    alive = sandbox.SANDBOX_PARENT / "grd-alive-test"
    alive.mkdir(exist_ok=True)
    (alive / OWNER_FILE).write_text(str(os.getpid()))
    box = Sandbox(resolve_isolation("none"), Limits())
    try:
        assert not stale.exists()
        assert alive.exists()
    finally:
        box.close()
        os.remove(alive / OWNER_FILE)
        alive.rmdir()
    assert not box.root.exists()


def test_strict_without_bubblewrap_is_refused(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(SandboxError, match="--isolation strict needs bubblewrap"):
        resolve_isolation("strict")
    weaker = resolve_isolation("auto")
    assert weaker.level == "none" and "weaker isolation" in (weaker.warning or "")


@pytest.mark.skipif(os.geteuid() != 0 or sandbox.bwrap_problem() is not None, reason="needs root and bubblewrap")
def test_two_sandboxes_never_share_a_uid():
    first = Sandbox(resolve_isolation("strict"), Limits(), slot=0)
    second = Sandbox(resolve_isolation("strict"), Limits(), slot=0)
    try:
        assert first.uid is not None and second.uid is not None and first.uid != second.uid
    finally:
        first.close()
        second.close()
