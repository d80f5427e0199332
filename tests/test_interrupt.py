"""Stopping a batch for real: Ctrl-C and kill -9 of `grade`, then a rerun that ends as a clean run does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from grader.cli import EXIT_INTERRUPTED
from grader.layout import OutLayout
from grader.reporters.json_report import validate_report
from minicourse import comparable, make_batch, make_course

pytestmark = pytest.mark.slow

STUDENTS = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory, isolation):
    """A course, a batch whose notebooks take a second (s0, s1) or twelve (the rest), a secret, and the reports
    of a clean run. The slow half makes sure a stop sent once s0 and s1 are graded lands mid-batch, however
    fast kernels start (warm ones take 0.2 s)."""
    root = tmp_path_factory.mktemp("interrupt")
    course = make_course(root / "course")
    batch = make_batch(course, root / "submissions", STUDENTS, sleep=1.0)
    for notebook in sorted(batch.glob("*/*.ipynb")):
        if notebook.parent.name not in ("s0", "s1"):
            nb = nbformat.read(notebook, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_code_cell("import time\ntime.sleep(12)"))
            nbformat.write(nb, notebook)
    secret = root / "secret"
    secret.write_text("interrupt-test-secret-0123456789")
    done = grade(root, "clean", isolation.requested).communicate(timeout=600)
    clean = reports(root / "clean")
    assert len(clean) == STUDENTS, done
    return root, isolation.requested, clean


# A command started in the background by a shell (CI scripts can be) inherits SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler: `grade` is started with the handler a terminal would give it.
AS_FROM_A_TERMINAL = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                      "sys.argv = ['grade', *sys.argv[1:]]; runpy.run_module('grader.cli', run_name='__main__')")


def grade(root: Path, out: str, isolation: str) -> subprocess.Popen:
    """`grade` in a session of its own, as from a terminal (SIGINT raises KeyboardInterrupt)."""
    return subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_TERMINAL, str(root / "submissions"), "--out", str(root / out), "--course",
         str(root / "course"), "--isolation", isolation, "--secret-file", str(root / "secret"), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def reports(out: Path) -> dict[str, dict]:
    found = {}
    for path in OutLayout(out).reports():
        data = json.loads(path.read_text(encoding="utf-8"))  # never half-written: it parses...
        validate_report(data)  # ... and matches its schema
        found[data["student"]] = comparable(data)
    return found


def midway(process: subprocess.Popen, out: Path) -> list[psutil.Process]:
    """Wait until some but not all students are graded; return the grader's processes at that moment."""
    deadline = time.monotonic() + 300
    while len(OutLayout(out).reports()) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    family = psutil.Process(process.pid).children(recursive=True)
    assert any("ipykernel" in " ".join(p.cmdline()) for p in family if p.is_running())
    return family


def assert_all_gone(processes: list[psutil.Process], within: float) -> None:
    """The workers, their kernels and sandboxes: none left running (kill -9 of the grader included)."""
    _, alive = psutil.wait_procs(processes, timeout=within)
    assert not alive, [" ".join(p.cmdline())[:120] for p in alive]


def finish_and_compare(root: Path, out: str, isolation: str, clean: dict) -> None:
    rerun = grade(root, out, isolation)
    stdout, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert reports(root / out) == clean
    gradebook = OutLayout(root / out).gradebook().read_text()
    assert gradebook == OutLayout(root / "clean").gradebook().read_text()
    assert not list((root / out).rglob("*.tmp"))


def test_ctrl_c_keeps_finished_reports_and_the_rerun_grades_the_rest(setup):
    root, isolation, clean = setup
    process = grade(root, "ctrl_c", isolation)
    family = midway(process, root / "ctrl_c")
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole foreground group
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, (stdout[-2000:], stderr[-2000:])
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and "run the same command again" in last, stderr
    assert_all_gone(family, within=10)
    kept = reports(root / "ctrl_c")
    assert 2 <= len(kept) < STUDENTS
    assert all(kept[s] == clean[s] for s in kept)
    assert not list((root / "ctrl_c").rglob("*.tmp"))
    gradebook = OutLayout(root / "ctrl_c").gradebook().read_text().splitlines()
    assert sorted(line.split(",")[0] for line in gradebook[1:]) == sorted(kept)  # rebuilt from the kept reports
    finish_and_compare(root, "ctrl_c", isolation, clean)


def test_kill_9_loses_nothing_finished_and_leaves_no_kernel(setup):
    root, isolation, clean = setup
    process = grade(root, "killed", isolation)
    family = midway(process, root / "killed")
    os.kill(process.pid, signal.SIGKILL)  # the grader only: its workers learn of it from the kernel
    process.communicate(timeout=60)
    assert_all_gone(family, within=30)
    kept = reports(root / "killed")
    assert all(kept[s] == clean[s] for s in kept)
    finish_and_compare(root, "killed", isolation, clean)
