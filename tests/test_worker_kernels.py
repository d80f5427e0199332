"""A worker's kernels (grader/worker_kernels.py), with real kernels: the next one, started while the current
notebook runs, serves exactly one student with that student's files and a fresh time limit; finished ones are
closed behind; nothing is left behind."""

from __future__ import annotations

import os
import threading
import time
import nbformat
import psutil
import pytest

from grader import sandboxed
from grader.course import load_course
from grader.jobs import NotebookJob, grade_notebooks
from grader.kernel import KernelSession
from grader import worker_kernels
from grader.worker_kernels import WorkerKernels
from grader.options import grading_options
from grader.sandbox import SANDBOX_PARENT, Limits
from grader.scratch import OWNER_FILE

from conftest import notebook, student

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=10, notebook_timeout=60, call_timeout=10)
LIST_HOME = "import os\nprint(sorted(n for n in os.listdir('.') if not n.startswith('.')))"


def printed(executed: nbformat.NotebookNode, index: int) -> str:
    return "".join(out.get("text", "") for out in executed.cells[index].outputs if out.output_type == "stream")


def test_a_kernel_started_ahead_gets_the_adopting_students_files_only(isolation, tmp_path):
    mine, theirs = tmp_path / "mine.csv", tmp_path / "theirs.csv"
    mine.write_text("1,2\n")
    theirs.write_text("3,4\n")
    with KernelSession(notebook(LIST_HOME), [theirs], isolation, LIMITS) as first:
        first.start_in_background()
        ahead = KernelSession.ahead(isolation, LIMITS)
        try:
            first.run_notebook()
            ahead.adopt(notebook(LIST_HOME, "def double(x):\n    return 2 * x"), [mine])
            assert ahead._sandbox is not None and first._sandbox is not None
            if first._sandbox.uid is not None:  # two live sandboxes never share a uid
                assert ahead._sandbox.uid != first._sandbox.uid
            executed = ahead.run_notebook()
            assert printed(executed, 0).strip() == "['mine.csv']"
            assert student(ahead).call("double", 21) == 42
            assert ahead.problems == []
        finally:
            ahead.close()


def test_the_wait_of_a_kernel_started_ahead_is_not_taken_from_the_notebooks_time(isolation):
    limits = Limits(cell_timeout=5, notebook_timeout=4, call_timeout=5)
    ahead = KernelSession.ahead(isolation, limits)
    with ahead:
        time.sleep(4.5)  # more than the notebook's whole time limit, waiting for a job
        ahead.adopt(notebook("def double(x):\n    return 2 * x"), [])
        ahead.run_notebook()
        assert student(ahead).call("double", 2) == 4
        assert ahead.problems == []


def test_a_kernel_that_died_waiting_is_replaced_without_blaming_a_cell(isolation):
    ahead = KernelSession.ahead(isolation, LIMITS)
    with ahead:
        ahead._join_prestart()
        assert ahead._sandbox is not None
        dead_sandbox = ahead._sandbox
        for pid in ahead._sandbox.processes():
            psutil.Process(pid).kill()
        time.sleep(0.5)
        ahead.adopt(notebook("x = 1", "def double(x):\n    return 2 * x"), [])
        executed = ahead.run_notebook()
        assert ahead._sandbox is not dead_sandbox
        assert ahead.problems == [] and ahead.skipped_cells == set()
        assert all(out.output_type != "error" for cell in executed.cells for out in cell.outputs)
        assert student(ahead).call("double", 5) == 10


@pytest.mark.parametrize("wipe", ["%reset -f", "del __grader_agent__"])
def test_a_notebook_that_wipes_the_agent_is_still_answered(isolation, wipe):
    nb = notebook(wipe, "def double(x):\n    return 2 * x")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        session.run_notebook()
        assert student(session).call("double", 3) == 6
        assert student(session).call("double", 4) == 8
        assert session.problems == []


def test_the_agent_is_sent_once_when_the_notebook_leaves_it_alone(isolation, monkeypatch):
    sent: list[str] = []
    execute = KernelSession._execute_silently

    async def recording(self, code, timeout):
        sent.append(code)
        return await execute(self, code, timeout)

    monkeypatch.setattr(KernelSession, "_execute_silently", recording)
    with KernelSession(notebook("def double(x):\n    return 2 * x"), [], isolation, LIMITS) as session:
        session.run_notebook()
        assert student(session).call("double", 3) == 6
        assert student(session).call("double", 5) == 10
    agent = sandboxed.source("kernel_agent")
    assert sum(agent in code for code in sent) == 1  # in the prelude, before the first cell; never again
    assert sent[0] == sandboxed.kernel_prelude()


def test_a_worker_starts_each_next_kernel_ahead_and_none_it_does_not_need(mini_course, isolation, sandboxes,
                                                                           tmp_path):
    course = load_course(mini_course)
    options = grading_options(course, isolation=isolation, secret=b"s", warm_start=False)
    jobs = []
    for i in range(4):
        extra = tmp_path / f"s{i}" / f"data{i}.txt"
        extra.parent.mkdir()
        extra.write_text(str(i))
        nb = nbformat.read(mini_course / "reference" / "alpha.ipynb", as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(LIST_HOME))
        jobs.append(NotebookJob(f"s{i}", "alpha", nb, "alpha.ipynb", (extra,)))
    results = list(grade_notebooks(jobs, options, workers=1))  # in this process, as one worker would
    assert [r.run.status for r in results] == ["graded"] * 4
    failed = [(o.check_id, o.status, o.detail[-1500:]) for r in results for o in r.run.outcomes if o.status != "passed"]
    assert failed == []
    for i, result in enumerate(results):
        executed = nbformat.reads(result.executed, as_version=4)
        assert printed(executed, 0).strip() == f"['data{i}.txt']"
    # four kernels for four notebooks (the first as the worker started, then ahead for the jobs to come, none
    # past the last), every one started on a thread, and closed (behind the worker, on a thread) by the time
    # the worker is done
    assert len(sandboxes.made) == 4 and not any(sandboxes.on_main_thread)
    assert not any(sandbox.root.exists() for sandbox in sandboxes.made)
    assert not any(t.name in ("grader-kernel-close", "grader-kernel-start") and t.is_alive()
                   for t in threading.enumerate())


def test_a_worker_keeps_two_forked_kernels_ahead_at_most_and_one_cold_one(course, isolation, monkeypatch):
    started = []
    monkeypatch.setattr(KernelSession, "ahead", classmethod(lambda cls, *args, **kwargs: started.append(1) or object()))
    monkeypatch.setattr(worker_kernels, "warm_start_problem", lambda isolation: None)
    kernels = WorkerKernels(grading_options(course, isolation=isolation), slot=0)
    kernels.start_ahead(5)
    kernels.start_ahead(1)
    assert len(started) == 2 and kernels.waiting == 2
    cold = WorkerKernels(grading_options(course, isolation=isolation, warm_start=False), slot=0)
    cold.start_ahead(5)
    assert len(started) == 3 and cold.waiting == 1


def test_a_kernel_no_job_came_for_is_shut_down_with_its_worker(course, isolation):
    options = grading_options(course, isolation=isolation, warm_start=False)
    kernels = WorkerKernels(options, slot=0)
    kernels.start_ahead(1)
    assert kernels.waiting == 1
    waiting = kernels._ahead[0]
    assert waiting is not None
    waiting._join_prestart()
    assert waiting._sandbox is not None
    root, members = waiting._sandbox.root, waiting._sandbox.processes()
    assert members
    kernels.close()
    assert not kernels.waiting and not root.exists()
    assert not [pid for pid in members if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not any(t.name == "grader-kernel-start" and t.is_alive() for t in threading.enumerate())


def test_workers_leave_no_sandbox_behind(mini_course, isolation, tmp_path):
    course = load_course(mini_course)
    options = grading_options(course, isolation=isolation, secret=b"s")
    nb = nbformat.read(mini_course / "reference" / "alpha.ipynb", as_version=4)
    jobs = [NotebookJob(f"s{i}", "alpha", nb, "alpha.ipynb") for i in range(5)]
    before = {p for p in SANDBOX_PARENT.glob("grd-*") if (p / OWNER_FILE).is_file()}
    results = list(grade_notebooks(jobs, options, workers=2))
    assert [r.run.status for r in results] == ["graded"] * 5
    workers = {int(r.timings["pid"]) for r in results}
    assert len(workers) == 2 and os.getpid() not in workers
    left = [p for p in SANDBOX_PARENT.glob("grd-*") if p not in before and (p / OWNER_FILE).is_file()
            and int((p / OWNER_FILE).read_text()) in workers]
    assert left == []


def test_a_finished_notebooks_kernel_is_closed_behind_the_worker(isolation, course):
    options = grading_options(course, isolation=isolation, warm_start=False)
    kernels = WorkerKernels(options, slot=0)
    kernel = kernels.take(notebook("def double(x):\n    return 2 * x"), [])
    kernel.run_notebook()
    assert student(kernel).call("double", 1) == 2
    assert kernel._sandbox is not None
    root = kernel._sandbox.root
    kernels.release(kernel)
    assert [t.name for t in kernels._closing] == ["grader-kernel-close"]
    kernels.close()
    assert not root.exists() and kernels._closing == []


def test_the_checks_start_once_the_warm_up_import_is_done(mini_course, isolation, monkeypatch):
    """A notebook that finishes before the trusted side's background imports must not have its checks run
    against a half-imported torch (they erred with 'partially initialized module')."""
    from grader import exercise, warm_up

    done = threading.Event()
    seen: list[bool] = []

    def slow_imports(names, after):
        time.sleep(1.5)
        done.set()
        for name in names:
            warm_up._imported[name].set()

    run_checks = exercise.run_checks

    def recording(dirs, plugin):
        seen.append(done.is_set())
        return run_checks(dirs, plugin)

    monkeypatch.setattr(warm_up, "_imported", {})
    monkeypatch.setattr(warm_up, "modules_for", lambda course, exercises, visibilities: ["a_module_not_imported_yet"])
    monkeypatch.setattr(warm_up, "_import_in_order", slow_imports)
    monkeypatch.setattr(exercise, "run_checks", recording)
    course = load_course(mini_course)
    options = grading_options(course, isolation=isolation, secret=b"s", warm_start=False)
    kernels = WorkerKernels(options, slot=0)
    kernels.start_ahead(1)
    kernels._ahead[0]._join_prestart()  # the kernel is ready before the job: the notebook takes a moment
    nb = nbformat.read(mini_course / "reference" / "alpha.ipynb", as_version=4)
    kernel = kernels.take(nb, [])
    try:
        run, _ = exercise.run_exercise(nb, "alpha", "s0", [], options, kernel=kernel)
    finally:
        kernels.release(kernel)
        kernels.close()
    assert seen == [True]
    assert run.status == "graded" and all(o.status == "passed" for o in run.outcomes)


def test_a_worker_starts_the_checks_imports_as_it_starts(course, isolation, monkeypatch):
    from grader import jobs, warm_up

    started: list[list[str]] = []
    monkeypatch.setattr(warm_up, "start", started.append)
    monkeypatch.setattr(jobs.WorkerKernels, "start_ahead", lambda self, jobs=1: None)
    jobs.setup_worker(grading_options(course, isolation=isolation), slot=0)
    # every exercise's checks need torch; logistic regression's train with torch.optim (torch._dynamo)
    assert started == [["torch", "torch._dynamo"]]
