"""When a kernel factory pays off (grader/warm.py `warm_pays_off`) and what the executor does with it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader import jobs, warm


def test_one_factory_for_the_batch_pays_off_from_two_notebooks(monkeypatch):
    monkeypatch.setattr(warm, "has_factory", lambda threads: False)
    assert not warm.warm_pays_off(1, 1, 1)
    assert warm.warm_pays_off(2, 2, 1)  # one factory lent to both workers: the second kernel is a fork
    assert warm.warm_pays_off(3, 2, 1)
    assert warm.warm_pays_off(2, 1, 1)


def test_the_probes_factory_forks_even_a_single_notebook(monkeypatch):
    monkeypatch.setattr(warm, "has_factory", lambda threads: True)
    assert warm.warm_pays_off(1, 1, 1)
    assert warm.warm_pays_off(2, 2, 1)  # lent to the workers (grader/factory_share.py)


def test_the_local_executor_lends_one_factory_to_its_workers(monkeypatch, course):
    from grader.options import GradingOptions
    from grader.sandbox import Limits, resolve_isolation

    seen = []

    class Pool:
        def __init__(self, workers, setup, arg, work, lost, initializer, teardown):
            seen.append((workers, arg[0].warm_start, arg[0].factory_address))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def map_unordered(self, items):
            return iter(())

    monkeypatch.setattr(jobs, "WorkerPool", Pool)
    monkeypatch.setattr(warm, "has_factory", lambda threads: False)
    monkeypatch.setattr(jobs, "warm_start_problem", lambda isolation: None)
    lent = []
    monkeypatch.setattr(jobs, "lend_factory", lambda threads: lent.append(threads) or "/private/spawn.sock")
    options = GradingOptions(course, resolve_isolation("none"), Limits(torch_threads=1), b"secret")
    job = jobs.NotebookJob("s", "autograd", None, "01_autograd.ipynb")
    list(jobs.LocalExecutor(2).run([job], options))
    list(jobs.LocalExecutor(2).run([job, replace(job, student="t"), replace(job, student="u")], options))
    list(jobs.LocalExecutor(2).run([job, replace(job, student="t")], replace(options, warm_start=False)))
    assert seen == [(1, False, None), (2, True, "/private/spawn.sock"), (2, False, None)]
    assert lent == [1]


@pytest.mark.slow
@pytest.mark.bwrap
def test_with_several_workers_the_probe_still_proves_the_factory_preloads(monkeypatch, isolation):
    """Warm start is never silently off (issue 12): a factory that cannot preload is named before the batch."""
    from grader import probe
    from grader.errors import KernelError
    from grader.sandbox import Limits

    if warm.warm_start_problem(isolation) is not None:
        pytest.skip(f"warm start cannot work here: {warm.warm_start_problem(isolation)}")
    started = []

    def failing_factory(threads):
        started.append(threads)
        raise KernelError("the kernel factory preloaded nothing (torch: No module named 'torch')")

    monkeypatch.setattr(warm, "kernel_factory", failing_factory)
    monkeypatch.setattr(warm, "has_factory", lambda threads: False)  # none left running by an earlier test
    line = probe.probe_line(isolation, Limits(torch_threads=1), warm=True, workers=2, notebooks=10)
    assert started and line.startswith("warning: warm start is off: the kernel factory preloaded nothing")
    started.clear()
    line = probe.probe_line(isolation, Limits(torch_threads=1), warm=True, workers=2, notebooks=0)
    assert not started and line.startswith("kernels: cold start (a single notebook")


def test_the_local_executor_starts_its_workers_fork_server_only_for_several_workers(monkeypatch, course):
    from grader.options import GradingOptions
    from grader.sandbox import Limits, resolve_isolation

    started = []
    monkeypatch.setattr(jobs, "start_fork_server", started.append)
    options = GradingOptions(course, resolve_isolation("none"), Limits(torch_threads=1), b"s")
    jobs.LocalExecutor(2).prepare(options, notebooks=1)  # one notebook: it runs in this process
    jobs.LocalExecutor(1).prepare(options, notebooks=9)
    assert started == []
    jobs.LocalExecutor(2).prepare(options, notebooks=3)
    # the grader, torch, and torch._dynamo (this course's logistic regression trains with torch.optim)
    assert started == [["grader.jobs", "torch", "torch._dynamo"]]
