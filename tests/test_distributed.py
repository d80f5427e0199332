"""`grade --executor dask`: the same grades as the local pool, outputs written here, failures per notebook."""

from __future__ import annotations

import json
import os
import pickle
import socket
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import distributed as dist
from grader.cli import EXIT_USAGE
from grader.course import load_course
from grader.errors import GraderError, UsageError
from grader.jobs import JobResult, NotebookJob
from grader.layout import OutLayout
from grader.models import ExerciseRun
from grader.options import GradingOptions
from conftest import invoke
from minicourse import comparable, make_batch

dask_distributed = pytest.importorskip("distributed", reason="needs dask.distributed: pip install -e '.[dask]'")

# Right only when the student's own factor.txt is in the kernel's working folder.
FACTOR_CELL = ("try:\n    FACTOR = int(open('factor.txt').read())\nexcept OSError:\n    FACTOR = 3\n"
               "def double(x):\n    return FACTOR * x\n")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on this machine; a worker that dies fails its task at once."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None) as running:
            yield running


@pytest.fixture
def options(mini_course, isolation) -> GradingOptions:
    return GradingOptions(load_course(mini_course), isolation, secret=b"dask-test-secret")


def job(course: Path, student: str = "s0", extra_cell: str | None = None) -> NotebookJob:
    nb = nbformat.read(course / "reference" / "alpha.ipynb", as_version=4)
    if extra_cell:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    return NotebookJob(student, "alpha", nb, "alpha.ipynb")


# -- the command line ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_dask_grades_as_the_local_pool_and_writes_outputs_here(mini_course, cluster, isolation, tmp_path):
    batch = make_batch(mini_course, tmp_path / "submissions", 2)
    # s0's `double` reads its factor from a file of their own: it scores only if the file reached the worker.
    (batch / "s0" / "factor.txt").write_text("2")
    s0_alpha = nbformat.read(batch / "s0" / "alpha.ipynb", as_version=4)
    s0_alpha.cells.append(nbformat.v4.new_code_cell(FACTOR_CELL))
    nbformat.write(s0_alpha, batch / "s0" / "alpha.ipynb")
    (tmp_path / "secret").write_text("dask-test-secret-0123456789")
    common = [str(batch), "--course", str(mini_course), "--isolation", isolation.requested,
              "--secret-file", str(tmp_path / "secret")]

    local = invoke(*common, "--out", str(tmp_path / "local"), "--workers", "2")
    remote = invoke(*common, "--out", str(tmp_path / "dask"), "--executor", "dask",
                   "--scheduler", cluster.scheduler_address)

    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert "grading on the dask cluster" in remote.output
    gradebook = (tmp_path / "dask" / "gradebook.csv").read_text(encoding="utf-8")
    assert gradebook == (tmp_path / "local" / "gradebook.csv").read_text(encoding="utf-8")
    header, row = (line.split(",") for line in gradebook.splitlines()[:2])
    s0 = dict(zip(header, row))
    # the factor file was there: full alpha marks
    assert (s0["student"], s0["score"], s0["max_score"], s0["alpha.double"]) == ("s0", "10", "14", "5")
    for student in ("s0", "s1"):
        reports = [json.loads(OutLayout(tmp_path / out).report(student).read_text(encoding="utf-8"))
                   for out in ("local", "dask")]
        assert comparable(reports[0]) == comparable(reports[1])
        for notebook in ("alpha.ipynb", "beta.ipynb"):  # written by this process, from the tasks' results
            executed = nbformat.read(OutLayout(tmp_path / "dask").executed(student, notebook), as_version=4)
            assert any(cell.get("outputs") is not None for cell in executed.cells)
    # The cache entries written here are complete: a local run over the dask OUT runs no kernel.
    again = invoke(*common, "--out", str(tmp_path / "dask"), "--workers", "2")
    assert again.exit_code == 0, again.output
    for student in ("s0", "s1"):
        details = json.loads(OutLayout(tmp_path / "dask").details(student).read_text(encoding="utf-8"))
        assert details["alpha"]["cached"] and details["beta"]["cached"]
    assert (tmp_path / "dask" / "gradebook.csv").read_text(encoding="utf-8") == gradebook


def test_dask_without_scheduler_is_a_usage_error(mini_course, tmp_path):
    result = invoke(str(tmp_path), "--course", str(mini_course), "--executor", "dask")
    assert result.exit_code == EXIT_USAGE
    assert "--executor dask needs --scheduler ADDRESS" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers is for --executor local"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is only used with --executor dask"),
])
def test_options_that_do_not_go_together(mini_course, tmp_path, args, message):
    result = invoke(str(tmp_path), "--course", str(mini_course), *args)
    assert result.exit_code == EXIT_USAGE
    assert message in result.output


def test_unreachable_scheduler_is_a_usage_error(mini_course, tmp_path, monkeypatch):
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 2.0)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    (tmp_path / "submissions").mkdir()
    started = time.monotonic()
    result = invoke(str(tmp_path / "submissions"), "--course", str(mini_course), "--out", str(tmp_path / "out"),
                   "--isolation", "none", "--executor", "dask", "--scheduler", address)
    assert result.exit_code == EXIT_USAGE
    assert f"error: cannot reach the dask scheduler at {address} within 2 s" in result.output
    assert time.monotonic() - started < 30


def test_dask_not_installed_is_a_usage_error(mini_course, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    (tmp_path / "submissions").mkdir()
    result = invoke(str(tmp_path / "submissions"), "--course", str(mini_course), "--out", str(tmp_path / "out"),
                   "--isolation", "none", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == EXIT_USAGE
    assert "pip install 'grader[dask]'" in result.output


def test_a_cluster_whose_workers_would_grade_differently_is_refused(mini_course, cluster, options, monkeypatch):
    monkeypatch.setattr(dist, "grader_fingerprint", lambda: "this machine's grader changed since")
    pattern = r"^dask worker tcp://127\.0\.0\.1:\d+: it runs another grader .*\(and 1 more\)$"
    with pytest.raises(UsageError, match=pattern):
        dist.connect(cluster.scheduler_address, options)


def test_a_scheduler_without_workers_is_refused(options, monkeypatch):
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1.0)
    with dask_distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(UsageError, match=r"no dask worker is connected to the scheduler at (\S+); start some "
                                             r"with: dask worker \1 --nthreads 1$"):
            dist.connect(empty.scheduler_address, options)


# -- the executor ---------------------------------------------------------------------------------------------------
def test_a_task_that_fails_or_whose_worker_dies_costs_only_its_notebook(mini_course, cluster, options):
    with dist.connect(cluster.scheduler_address, options) as executor:
        client = executor.client
        failed = client.submit(int, "not a number", pure=False)
        killed = client.submit(os._exit, 1, pure=False)  # the worker process dies under it
        deadline = time.monotonic() + 60
        while not (failed.done() and killed.done()) and time.monotonic() < deadline:
            time.sleep(0.1)
        results = [dist.task_result(failed, job(mini_course, "s0")),
                   dist.task_result(killed, job(mini_course, "s1"))]
    assert [(r.student, r.run.status) for r in results] == [("s0", "not_gradable"), ("s1", "not_gradable")]
    assert "the grader failed on it on a dask worker: ValueError: invalid literal" in results[0].run.message
    assert "the dask worker process grading it died" in results[1].run.message


def test_files_too_large_to_send_and_a_mismatched_worker_cost_only_their_notebook(mini_course, cluster, options,
                                                                                  tmp_path, monkeypatch):
    big = tmp_path / "data.bin"
    big.write_bytes(b"x" * (1024**2 + 1))
    monkeypatch.setattr(dist, "MAX_JOB_FILE_BYTES", 1024**2)
    too_large = NotebookJob("s0", "alpha", job(mini_course).notebook, "alpha.ipynb", files=(big,))
    vanished = NotebookJob("s2", "alpha", job(mini_course).notebook, "alpha.ipynb", files=(tmp_path / "gone.txt",))
    with dist.connect(cluster.scheduler_address, options) as executor:
        [refused] = executor.run([too_large], options)
        [unreadable] = executor.run([vanished], options)
        # A worker that joined after the check and runs another grader: the task refuses to grade.
        executor.identity = {**executor.identity, "grader": "another grader"}
        [mismatched] = executor.run([job(mini_course, "s1")], options)
    assert refused.run.status == "not_gradable"
    assert "the student's other files are over the 1 MiB that can be sent" in refused.run.message
    assert unreadable.run.message == ("this notebook could not be graded: gone.txt: cannot be read "
                                      "(No such file or directory)")
    assert mismatched.run.status == "not_gradable"
    assert "cannot grade it: it runs another grader" in mismatched.run.message


class _Finished:
    """A future whose task ended as given (a value, or an exception to raise)."""

    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def test_a_cancelled_task_costs_only_its_notebook_and_a_finished_one_comes_back_unwritten(mini_course):
    from distributed.client import FutureCancelledError

    cancelled = dist.task_result(_Finished(FutureCancelledError("k", "scheduler-connection-lost")), job(mini_course))
    assert cancelled.run.message == ("this notebook could not be graded: its dask task was cancelled (the scheduler "
                                     "or its worker went away)")
    graded = JobResult("s0", "alpha", ExerciseRun("alpha", "graded", "graded", "alpha.ipynb"), "{}")
    assert dist.task_result(_Finished(graded), job(mini_course)) is graded  # the batch writes it, as for local jobs


@pytest.mark.slow
def test_interrupting_cancels_the_outstanding_tasks(mini_course, cluster, options):
    jobs = [job(mini_course, f"s{i}", "import time\ntime.sleep(2)") for i in range(6)]
    with dist.connect(cluster.scheduler_address, options) as executor:
        results = executor.run(jobs, options)
        first = next(results)
        with pytest.raises(KeyboardInterrupt):
            results.throw(KeyboardInterrupt)
        deadline = time.monotonic() + 30
        while executor.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        assert executor.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    assert first.run.status == "graded"


# -- what crosses to the workers -------------------------------------------------------------------------------------
def test_course_and_jobs_cross_as_plain_picklable_data(mini_course, options, tmp_path):
    pack = dist.pack_course(options.course)
    assert {name.split("/")[0] for name, _ in pack.files} == {"rubrics", "reference", "exercises"}
    state = dist.RemoteState(options, pack, dist.worker_identity(options.isolation.requested))
    extra = tmp_path / "factor.txt"
    extra.write_text("2")
    remote = dist.remote_job(NotebookJob("s0", "alpha", job(mini_course).notebook, "alpha.ipynb", files=(extra,)))
    assert remote.files == (("factor.txt", b"2"),) and remote.job.files == ()
    assert pickle.loads(pickle.dumps(state)) == state
    assert pickle.loads(pickle.dumps(remote)).job.notebook == remote.job.notebook

    first = dist.unpack_course(pack, tmp_path / "courses")
    assert dist.unpack_course(pack, tmp_path / "courses") == first
    assert (first / "rubrics" / "alpha.toml").read_bytes() == (mini_course / "rubrics" / "alpha.toml").read_bytes()
    assert oct((tmp_path / "courses").stat().st_mode & 0o777) == "0o700"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(GraderError, match="is not a private folder of this user"):
        dist.unpack_course(pack, shared)


def test_course_over_the_limit_is_a_usage_error(options, monkeypatch):
    monkeypatch.setattr(dist, "MAX_COURSE_BYTES", 10)
    with pytest.raises(UsageError, match="too much to send to dask workers"):
        dist.pack_course(options.course)


def test_workers_that_would_grade_differently_are_named():
    expected = {"grader": "g", "isolation": {"level": "bwrap", "protections": {"no_network": True,
                                                                                "unprivileged_uid": True}}, "why": ""}
    identities = {
        "tcp://a:1": expected,
        "tcp://b:1": {**expected, "grader": "h"},
        "tcp://c:1": {**expected, "isolation": {"level": "none", "protections": {}},
                      "why": "bubblewrap (bwrap) is not installed"},
        "tcp://d:1": {**expected, "isolation": {"level": "bwrap", "protections": {"no_network": True,
                                                                                   "unprivileged_uid": False}}},
        "tcp://e:1": {**expected, "isolation": "--isolation strict needs bubblewrap, but it is not installed"},
        "tcp://f:1": expected,
        "tcp://g:1": RuntimeError("boom"),
    }
    problems = dist.worker_problems(identities, {"tcp://f:1": 4}, expected)
    assert problems == [
        "dask worker tcp://b:1: it runs another grader (its code, Python or package versions differ from this "
        "machine's; install the same grader there and restart its dask workers)",
        "dask worker tcp://c:1: its isolation would be none, here it is bwrap (bubblewrap (bwrap) is not installed)",
        "dask worker tcp://d:1: its sandbox protections differ from this machine's: unprivileged_uid",
        "dask worker tcp://e:1: --isolation strict needs bubblewrap, but it is not installed",
        "dask worker tcp://f:1 has 4 threads; start grading workers with --nthreads 1 (and --nworkers N for N at once)",
        "dask worker tcp://g:1 failed to describe itself: RuntimeError: boom",
    ]
