"""The worker pool: every job comes back once, a dying worker costs only its own job, slots are distinct."""

from __future__ import annotations

import os
import time

from pathlib import Path

from grader.pool import WorkerPool, default_torch_threads, default_workers, jobs_to_come


def setup(tag: str, slot: int) -> tuple[str, int]:
    return tag, slot


def work(state: tuple[str, int], job: tuple[str, int]) -> tuple[str, int, int, int]:
    tag, slot = state
    kind, value = job
    if kind == "die":
        os._exit(7)  # a crash in native code, an OOM kill: no exception, no reply
    if kind == "raise":
        raise RuntimeError("a grader bug")
    time.sleep(0.05)
    return tag, slot, os.getpid(), value * 2


def lost(job: tuple[str, int], reason: str) -> tuple[str, str]:
    return "lost", f"{job[1]}: {reason}"


def work_reading_environment(state: tuple[str, int], name: str) -> str | None:
    return os.environ.get(name)


def work_noting_more(state: tuple[str, int], job: int) -> tuple[int, bool]:
    time.sleep(0.05)
    return job, jobs_to_come()


def teardown(state: tuple[str, int]) -> None:
    folder, slot = state
    (Path(folder) / f"{os.getpid()}-{slot}").write_text("torn down")


def test_every_job_comes_back_once_from_distinct_slots():
    jobs = [("ok", i) for i in range(12)]
    with WorkerPool(3, setup, "t", work, lost) as pool:
        results = list(pool.map_unordered(jobs))
    assert sorted(r[3] for r in results) == [2 * i for i in range(12)]
    assert {r[0] for r in results} == {"t"}
    by_pid = {}
    for _, slot, pid, _ in results:
        by_pid.setdefault(pid, set()).add(slot)
    assert all(len(slots) == 1 for slots in by_pid.values())  # a worker keeps its slot
    assert len({next(iter(s)) for s in by_pid.values()}) == len(by_pid)  # and no two share one
    assert os.getpid() not in by_pid


def test_a_dying_worker_costs_only_its_job_and_is_replaced():
    jobs = [("ok", 1), ("die", 2), ("ok", 3), ("raise", 4), ("ok", 5), ("ok", 6)]
    with WorkerPool(2, setup, "t", work, lost) as pool:
        results = list(pool.map_unordered(jobs))
    assert len(results) == 6
    lost_reasons = sorted(r[1] for r in results if r[0] == "lost")
    assert lost_reasons[0].startswith("2: the grader's worker process died while grading it (exit code 7)")
    assert lost_reasons[1].startswith("4: the grader failed on it: RuntimeError: a grader bug")
    assert sorted(r[3] for r in results if r[0] == "t") == [2, 6, 10, 12]


def test_one_worker_runs_jobs_in_this_process():
    with WorkerPool(1, setup, "inline", work, lost) as pool:
        results = list(pool.map_unordered([("ok", 1), ("raise", 2)]))
    assert results[0] == ("inline", 0, os.getpid(), 2)
    assert results[1][0] == "lost" and "a grader bug" in results[1][1]


def test_default_thread_budget_does_not_oversubscribe():
    cores = default_workers()
    assert default_torch_threads(1) == cores
    assert default_torch_threads(cores) == 1
    assert default_torch_threads(cores * 4) == 1


def test_a_worker_knows_how_many_jobs_are_likely_to_come_and_is_torn_down_when_it_stops(tmp_path):
    with WorkerPool(2, setup, str(tmp_path), work_noting_more, lost, teardown=teardown) as pool:
        results = list(pool.map_unordered(range(5)))
        pids = {p.process.pid for p in pool._running}
    more = dict(results)
    assert sorted(more) == list(range(5))
    # each job learns how many jobs were waiting beyond one for the other worker if busy (none at the first; the
    # second goes out while the first is busy; later, the other may have just finished too)
    assert more[0] == 4 and more[1] == 2 and more[2] in (1, 2) and more[3] in (0, 1) and more[4] == 0
    assert sorted(path.name.split("-")[0] for path in tmp_path.iterdir()) == sorted(map(str, pids))


def test_one_worker_in_this_process_is_told_about_the_jobs_to_come_and_torn_down(tmp_path):
    with WorkerPool(1, setup, str(tmp_path), work_noting_more, lost, teardown=teardown) as pool:
        results = list(pool.map_unordered(range(3)))
        assert not any(tmp_path.iterdir())  # not before the pool closes
    assert results == [(0, 2), (1, 1), (2, 0)]
    assert [path.name for path in tmp_path.iterdir()] == [f"{os.getpid()}-0"]


FORK_SERVER_HELPERS = '''
import os, sys

def setup(arg, slot):
    return "torch" in sys.modules, "grader.jobs" in sys.modules  # before the worker imported anything itself

def work(state, job):
    return (*state, os.getpid(), os.getppid())

def lost(job, reason):
    return ("lost", reason)
'''
FORK_SERVER_MAIN = '''
import json, os, sys
sys.path.insert(0, sys.argv[1])
import helpers
from grader.pool import FORK_SERVER, WorkerPool, start_fork_server

if __name__ == "__main__":
    start_fork_server(["grader.jobs", "torch"])
    with WorkerPool(2, helpers.setup, None, helpers.work, helpers.lost) as pool:
        results = list(pool.map_unordered(range(4)))
    print(FORK_SERVER, os.getpid(), json.dumps(results))
'''


def test_workers_are_forked_from_a_server_that_imported_the_grader_and_torch_once(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "helpers.py").write_text(FORK_SERVER_HELPERS)
    (tmp_path / "main.py").write_text(FORK_SERVER_MAIN)
    done = subprocess.run([sys.executable, str(tmp_path / "main.py"), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    fork_server, main_pid, results = done.stdout.split(" ", 2)
    assert fork_server == "True"  # Linux
    results = json.loads(results)
    assert len(results) == 4 and all(r[:2] == [True, True] for r in results), done.stderr[-3000:]
    parents = {r[3] for r in results}
    assert len({r[2] for r in results}) == 2 and len(parents) == 1 and int(main_pid) not in parents


def test_a_worker_sees_the_environment_its_parent_has_when_it_starts(monkeypatch):
    from grader.pool import start_fork_server

    start_fork_server(["grader.jobs"])  # a server started before the change below keeps its own environment
    monkeypatch.setenv("GRADER_POOL_TEST_VARIABLE", "set after the server started")
    monkeypatch.delenv("GRADER_POOL_TEST_GONE", raising=False)
    with WorkerPool(2, setup, "t", work_reading_environment, lost) as pool:
        seen = list(pool.map_unordered(["GRADER_POOL_TEST_VARIABLE", "GRADER_POOL_TEST_VARIABLE", "HOME"]))
    assert seen.count("set after the server started") == 2 and os.environ.get("HOME") in seen
