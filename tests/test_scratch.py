"""Temporary folders of a grader that died are removed by the next run; a live one's are kept."""

from __future__ import annotations

import os
import subprocess
import sys

from grader.scratch import OWNER_FILE, owned_folder, remove_stale
from grader.zmtp_relay import Relay


def _dead_pid() -> str:
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()


def test_a_dead_owners_folder_goes_and_a_live_ones_stays(tmp_path):
    stale, alive, unowned = tmp_path / "grd-x-stale", tmp_path / "grd-x-alive", tmp_path / "grd-x-unowned"
    for folder in (stale, alive, unowned):
        (folder / "k-1").mkdir(parents=True)
    (stale / OWNER_FILE).write_text(_dead_pid())
    (alive / OWNER_FILE).write_text(str(os.getpid()))
    made = owned_folder("grd-x-", tmp_path)
    assert not stale.exists() and alive.exists() and unowned.exists(), "only what a dead process owned goes"
    assert (made / OWNER_FILE).read_text() == str(os.getpid()) and oct(made.stat().st_mode & 0o777) == "0o700"
    remove_stale("grd-x-", tmp_path)
    assert made.exists()


def test_a_relays_socket_folder_left_by_a_killed_grader_is_removed_by_the_next_relay(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # tempfile reads TMPDIR again
    left = tmp_path / "grd-relay-killed"
    left.mkdir()
    (left / OWNER_FILE).write_text(_dead_pid())
    relay = Relay({"shell": 1024})
    try:
        assert not left.exists()
        assert os.path.dirname(relay.folder) == str(tmp_path)
    finally:
        relay.close()
    assert not os.path.exists(relay.folder)
