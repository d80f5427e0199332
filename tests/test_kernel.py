"""The kernel session with real sandboxed kernels: limits, timeouts, deaths, isolation, cleanup."""

from __future__ import annotations

import json
import os
import socket
import time

import psutil
import pytest

from grader.errors import CallTimeout
from grader.kernel import KernelSession
from grader.codec import MissingDefinition, StudentException, TensorValue
from grader.sandbox import Limits

from conftest import PROJECT, notebook, student

pytestmark = pytest.mark.slow

FAST = Limits(cell_timeout=3, notebook_timeout=120, call_timeout=5, memory_bytes=2 * 1024**3)


def outputs_text(cell) -> str:
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", "") if out.output_type == "stream" else "")
        if out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        if "text/plain" in out.get("data", {}):
            parts.append(out["data"]["text/plain"])
    return "".join(parts)


def run(nb, isolation, limits=FAST, files=()):
    session = KernelSession(nb, list(files), isolation, limits)
    return session, session.run_notebook()


def test_cell_errors_do_not_stop_the_run_and_calls_return_plain_data(isolation):
    nb = notebook(
        "raise ValueError('first cell fails')",
        "def add(a, b):\n    return a + b",
        "def boom():\n    raise RuntimeError('student bug')",
    )
    session, executed = run(nb, isolation)
    with session:
        assert "ValueError: first cell fails" in outputs_text(executed.cells[0])
        assert student(session).call("add", 2, 3) == 5
        with pytest.raises(StudentException) as info:
            student(session).call("boom")
        assert info.value.is_a("RuntimeError") and "student bug" in info.value.message
        with pytest.raises(MissingDefinition):
            student(session).call("not_defined_anywhere")
        assert session.problems == []


def test_timed_out_cell_is_interrupted_and_the_run_goes_on(isolation):
    nb = notebook("import time\nwhile True:\n    time.sleep(0.05)", "def after():\n    return 'ran'")
    session, executed = run(nb, isolation)
    with session:
        assert [p.kind for p in session.problems] == ["timeout"]
        assert session.problems[0].cell_index == 0
        assert "KeyboardInterrupt" in outputs_text(executed.cells[0])
        assert student(session).call("after") == "ran"


def test_cell_that_ignores_the_interrupt_is_dropped_and_the_notebook_rerun(isolation):
    nb = notebook(
        "value = 41",
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass",
        "def answer():\n    return value + 1",
    )
    session, executed = run(nb, isolation)
    with session:
        kinds = [p.kind for p in session.problems]
        assert "timeout" in kinds and session.problems[0].cell_index == 1
        assert 1 in session.skipped_cells
        assert student(session).call("answer") == 42


def test_cell_that_kills_the_kernel_costs_only_itself(isolation):
    nb = notebook("import os\nbase = 10", "os._exit(1)", "def after():\n    return base * 2")
    session, executed = run(nb, isolation)
    with session:
        assert [(p.cell_index, p.kind) for p in session.problems] == [(1, "kernel_died")]
        assert "skipped" in outputs_text(executed.cells[1])
        assert student(session).call("after") == 20


def test_call_timeout_then_the_session_still_answers(isolation):
    nb = notebook("import time\ndef slow():\n    while True:\n        time.sleep(0.05)\ndef quick():\n    return 'fast'")
    session, _ = run(nb, isolation)
    with session:
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            student(session).call("slow", _timeout=2)
        assert time.monotonic() - started < 15
        assert student(session).call("quick") == "fast"


def test_student_exit_inside_a_call_is_an_exception_not_a_dead_kernel(isolation):
    nb = notebook("import sys\ndef leave():\n    sys.exit(3)\ndef still():\n    return True")
    session, _ = run(nb, isolation)
    with session:
        with pytest.raises(StudentException) as info:
            student(session).call("leave")
        assert info.value.is_a("SystemExit")
        assert student(session).call("still") is True


def test_memory_file_size_and_process_limits_are_hit(isolation):
    limits = Limits(cell_timeout=20, notebook_timeout=120, memory_bytes=1024**3, file_size_bytes=1024**2,
                    max_processes=64)
    nb = notebook(
        "try:\n    block = bytearray(2 * 1024**3)\n    print('allocated')\nexcept MemoryError:\n    print('MEMORY LIMIT')",
        "try:\n    with open('big.bin', 'wb') as f:\n        f.write(b'x' * (4 * 1024**2))\n    print('wrote')\n"
        "except OSError as e:\n    print('FILE LIMIT', e.errno)",
        "import os, time\nkids = []\ntry:\n    for _ in range(500):\n        pid = os.fork()\n"
        "        if pid == 0:\n            time.sleep(5)\n            os._exit(0)\n        kids.append(pid)\n"
        "    print('forked', len(kids))\nexcept OSError:\n    print('PROCESS LIMIT', len(kids))",
    )
    session, executed = run(nb, isolation, limits)
    with session:
        assert "MEMORY LIMIT" in outputs_text(executed.cells[0])
        assert "FILE LIMIT 27" in outputs_text(executed.cells[1])
        assert "PROCESS LIMIT" in outputs_text(executed.cells[2])


def test_output_is_capped(isolation):
    limits = Limits(cell_timeout=20, notebook_timeout=60, output_bytes=64 * 1024)
    nb = notebook("for i in range(20000):\n    print('spam' * 20)", "print('later output is dropped too')")
    session, executed = run(nb, isolation, limits)
    with session:
        text = outputs_text(executed.cells[0])
        assert len(text) < 2 * 64 * 1024
        assert "output truncated" in text
        assert [p.kind for p in session.problems] == ["output_truncated"]


def test_environment_is_scrubbed(isolation, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "top-secret-value")
    nb = notebook("import os\nprint(json_env := sorted(os.environ))", "import os\nsecret = os.environ.get('GRADER_SECRET')")
    session, executed = run(nb, isolation)
    with session:
        assert "GRADER_SECRET" not in outputs_text(executed.cells[0])
        assert student(session).call("os.environ.get", "GRADER_SECRET") is None


@pytest.mark.bwrap
def test_bwrap_hides_course_files_network_and_host_processes(isolation, tmp_path):
    assert isolation.level == "bwrap"
    hidden = PROJECT / "rubrics" / "checks" / "autograd" / "hidden" / "test_autograd_hidden.py"
    reference = PROJECT / "reference" / "01_autograd.ipynb"
    other_student = tmp_path / "other_student.ipynb"
    other_student.write_text("{}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    nb = notebook(
        "import os, json, socket\nresult = {}",
        f"result['course_visible'] = [os.path.exists(p) for p in {[str(hidden), str(reference), str(other_student)]!r}]",
        "result['home'] = sorted(os.listdir('.'))",
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    result['net'] = 'connected'\n"
        "except OSError as e:\n    result['net'] = type(e).__name__",
        "result['uid'] = os.getuid()\nresult['pids'] = len([p for p in os.listdir('/proc') if p.isdigit()])",
        "def report():\n    return result",
    )
    own_file = tmp_path / "data.csv"
    own_file.write_text("1,2\n")
    session, _ = run(nb, isolation, files=[own_file])
    with session:
        result = student(session).call("report")
    listener.close()
    assert result["course_visible"] == [False, False, False]
    assert result["home"] == ["data.csv"]  # the student's own files only
    assert result["net"] != "connected"
    assert result["pids"] < 10  # its own PID namespace
    if os.geteuid() == 0:
        assert result["uid"] != 0


def test_no_process_survives_the_session(isolation, sandboxes):
    nb = notebook(
        "import subprocess, os\n"
        "p = subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        import time\n        time.sleep(1000)\n    os._exit(0)\n"
        "print(p.pid)"
    )
    session = KernelSession(nb, [], isolation, FAST)
    session.run_notebook()
    assert sandboxes.made
    sandbox = sandboxes.made[-1]  # the one the kernel runs in
    token, uid = sandbox.token, sandbox.uid
    session.close()

    def leftover(proc: psutil.Process) -> bool:
        try:
            if uid is not None and proc.uids().real == uid:
                return True
            return proc.environ().get("GRADER_SANDBOX_ID") == token
        except (psutil.Error, OSError):
            return False

    assert [p.pid for p in psutil.process_iter() if leftover(p)] == []
    assert not sandbox.root.exists()


def test_foreign_kernelspec_and_stdin_and_magics(isolation):
    nb = notebook(
        "try:\n    input('name? ')\nexcept Exception as e:\n    print('NO STDIN', type(e).__name__)",
        "%time x = 1\ny = x + 1",
        "def y_value():\n    return y",
    )
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    session, executed = run(nb, isolation)
    with session:
        assert "NO STDIN StdinNotImplementedError" in outputs_text(executed.cells[0])
        assert student(session).call("y_value") == 2


def test_notebook_time_limit_stops_the_rest(isolation):
    limits = Limits(cell_timeout=10, notebook_timeout=12, call_timeout=5)
    nb = notebook("import time\ntime.sleep(3)", "time.sleep(30)", "never = True")
    session, executed = run(nb, isolation, limits)
    with session:
        kinds = [(p.cell_index, p.kind) for p in session.problems]
        assert kinds == [(1, "timeout"), (2, "notebook_timeout")], kinds
        assert executed.cells[2].get("execution_count") is None
        # the time limit covers the checks too: once it is spent, a call times out without running
        with pytest.raises(CallTimeout, match="notebook time limit"):
            student(session).variable("never")


def test_cpu_time_limit_ends_a_busy_kernel_and_the_rest_still_runs(isolation):
    limits = Limits(cell_timeout=30, notebook_timeout=120, call_timeout=5, cpu_seconds=3)
    nb = notebook("while True:\n    pass", "def alive():\n    return 'yes'")
    session, executed = run(nb, isolation, limits)
    with session:
        assert [(p.cell_index, p.kind) for p in session.problems] == [(0, "kernel_died")]
        assert student(session).call("alive") == "yes"


def test_processes_left_by_the_notebook_are_killed_before_the_checks(isolation):
    nb = notebook(
        "import subprocess\nbusy = subprocess.Popen(['sleep', '1000'])\nbusy_pid = busy.pid",
        "def child_alive():\n    return busy.poll() is None",
    )
    session, _ = run(nb, isolation)
    with session:
        assert student(session).call("child_alive") is False


def test_a_kernel_started_in_background_runs_the_notebook_without_a_second_start(isolation, sandboxes):
    session = KernelSession(notebook("def f():\n    return 6 * 7"), [], isolation, FAST)
    with session:
        session.start_in_background()
        executed = session.run_notebook()
        assert student(session).call("f") == 42
    assert sandboxes.on_main_thread == [False]  # one start, in the background
    assert executed.cells[0].outputs == []


def test_a_failed_background_start_is_retried_by_the_run(isolation, sandboxes):
    sandboxes.fail_next = 1
    with KernelSession(notebook("def f():\n    return 'ran'"), [], isolation, FAST) as session:
        session.start_in_background()
        session.run_notebook()
        assert student(session).call("f") == "ran"
    assert sandboxes.on_main_thread == [False, True]  # the failed start in the background, the retry by the run


def test_a_background_start_says_launched_once_the_kernel_answers_before_the_agents_import(isolation):
    # `grade check` holds its own torch import until then: the GIL would starve the launch (issue 15).
    with KernelSession(notebook("x = 1"), [], isolation, FAST) as session:
        assert session.launched.is_set()  # no background start: nothing to wait for
        session.start_in_background()
        assert not session.launched.is_set()
        assert session.launched.wait(60)
        assert session._client is not None and session._client.kc is not None
        assert not session._prestart_done.is_set()  # the agent (its torch import) still goes in
        session.run_notebook()
        assert session.launched.is_set()


def test_a_failed_background_start_still_says_launched(isolation, sandboxes):
    sandboxes.fail_next = 1
    with KernelSession(notebook("x = 1"), [], isolation, FAST) as session:
        session.start_in_background()
        assert session.launched.wait(60)
        session.run_notebook()


def test_a_cold_kernel_starts_without_the_jupyter_debugger_and_looks_launched_as_usual(isolation):
    # ipykernel imports debugpy at every start, for a debugging frontend a grading kernel never has (issue 15).
    nb = notebook("import sys\n"
                  "print(sys.modules.get('debugpy', 'absent') in (None, 'absent'), "
                  "sys.argv[0].endswith('ipykernel_launcher.py'), sys.argv[1] == '-f', '' in sys.path, "
                  "sys.path[0] != '')")
    with KernelSession(nb, [], isolation, FAST, warm=False) as session:  # `grade check`'s kernel
        executed = session.run_notebook()
        assert outputs_text(executed.cells[0]).split() == ["True"] * 5
