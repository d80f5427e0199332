"""The relay with a real kernel: an oversize message is dropped and named, the kernel stays reachable, a
restart wires a new relay, and nothing of it survives the session."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from grader.kernel import IOPUB_MESSAGE_BYTES, KernelSession
from grader.sandbox import Limits
from grader.session import StudentSession

from conftest import notebook

LIMITS = Limits(cell_timeout=60, notebook_timeout=240, call_timeout=30, memory_bytes=3 * 1024**3)
MANY_BUFFERS = ("from comm import create_comm\nflood = create_comm(target_name='flood', data={'state': {}})\n"
                "chunk = b'b' * (8 * 1024**2)\n"
                "flood.send({'method': 'update', 'state': {}, 'buffer_paths': [['k', str(j)] for j in range(10)]},\n"
                "           buffers=[chunk] * 10)")


def relay_folders() -> set[Path]:
    return set(Path("/tmp").glob("grd-relay-*"))


@pytest.mark.slow
def test_a_message_of_many_frames_is_dropped_named_and_the_kernel_still_answers(isolation):
    folders, threads = relay_folders(), threading.active_count()
    fds = len(os.listdir("/proc/self/fd"))
    nb = notebook(MANY_BUFFERS, "print('after')",
                  "def shout():\n    from IPython.display import display\n"
                  f"    display({{'text/plain': 'x' * {IOPUB_MESSAGE_BYTES + 1024}}}, raw=True)\n    return 'done'")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        cut = {p.cell_index: p.message for p in session.problems if p.kind == "output_truncated"}
        assert set(cut) == {0} and "1 oversize_message (80.0 MiB)" in str(cut[0]), session.problems
        assert "from the kernel were dropped" in executed.cells[0].outputs[-1]["text"]
        assert "after" in executed.cells[1].outputs[0]["text"]
        assert StudentSession(session, executed).call("shout") == "done"  # its display was dropped, not the call
        cut = {p.cell_index: p.message for p in session.problems if p.kind == "output_truncated"}
        assert "oversize_message" in str(cut.get(-1)), session.problems
    assert relay_folders() == folders
    assert threading.active_count() <= threads
    assert len(os.listdir("/proc/self/fd")) <= fds + 2  # a log file or two jupyter opened, not the relay's


@pytest.mark.slow
def test_a_restart_within_a_notebook_wires_a_new_relay(isolation):
    nb = notebook("import os\nos._exit(1)", "value = 41", "def get():\n    return value + 1")
    folders = relay_folders()
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert {p.kind for p in session.problems} == {"kernel_died"}
        assert len(relay_folders() - folders) == 1  # the dead kernel's relay is gone, the new one is live
        assert StudentSession(session, executed).call("get") == 42
    assert relay_folders() == folders
