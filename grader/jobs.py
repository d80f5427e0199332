"""Notebook jobs and the executors that run them.

A `NotebookJob` is one notebook to run and check; running it gives a `JobResult`: the run (not scored yet),
the executed notebook's text and what the job cost. Jobs run in worker processes, which are trusted: they
start the sandboxed kernel and run the checks. A `JobExecutor` runs a list of jobs and yields their results
as they finish; there are two, this machine's worker pool (`LocalExecutor`, grader/pool.py) and a dask
cluster (`DaskExecutor`, grader/distributed.py). Executors write nothing: the batch (grader/batch.py) writes
every executed notebook and cache entry into OUT when a result arrives, whichever executor ran the job.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Protocol

import nbformat
from nbformat import NotebookNode

from . import warm_up
from .errors import GraderError
from .exercise import run_exercise
from .worker_kernels import WorkerKernels
from .messages import msg, verbatim
from .models import ExerciseRun
from .options import GradingOptions
from .pool import WorkerPool, jobs_to_come, start_fork_server, stop_requested
from .warm import lend_factory, use_shared_factory, warm_pays_off, warm_start_problem

Phases = Callable[[], dict[str, float]]


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to run with its exercise's checks; `files` are the student's other files beside it."""

    student: str
    exercise: str
    notebook: NotebookNode
    notebook_name: str
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class JobResult:
    """A job's run, its executed notebook (nbformat text; None when the notebook did not run) and its costs."""

    student: str
    exercise: str
    run: ExerciseRun
    executed: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrumentation:
    """Measuring hooks for a benchmark (bench/probe.py); a normal grade run has none.

    - `worker_setup` runs once in each local worker process before its first job (it may wrap grader
      functions there); like `job_phases` it crosses to spawned workers, so it must be a module-level function;
    - `job_phases` is called in the worker before and after each job and returns the seconds per phase
      measured since its previous call; the figures after the job are added to `JobResult.timings`;
    - `on_job` gets each JobResult in the batch process as it arrives.

    The dask executor runs neither worker hook (its jobs' timings hold wall, cpu, pid and peak RSS only).
    """

    worker_setup: Callable[[], None] | None = None
    job_phases: Phases | None = None
    on_job: Callable[[JobResult], None] | None = None


class JobExecutor(Protocol):
    """Runs notebook jobs somewhere and writes nothing."""

    def prepare(self, options: GradingOptions, notebooks: int) -> None:
        """Get ready, in the background, for up to `notebooks` jobs (called before the batch's jobs are known)."""
        ...

    def run(self, jobs: list[NotebookJob], options: GradingOptions) -> Iterator[JobResult]:
        """One result per job, in the order they finish; a job that could not run comes back not_gradable."""
        ...


# -- in a worker -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerState:
    options: GradingOptions
    slot: int
    phases: Phases | None = None
    kernels: WorkerKernels | None = None  # the next job's kernel started ahead, finished ones closed behind


def setup_worker(options: GradingOptions, slot: int, phases: Phases | None = None) -> WorkerState:
    """Runs once in each worker: torch in this process gets the same thread budget as a kernel, and the first
    job's kernel starts (a worker is started only for a job)."""
    threads = str(options.limits.torch_threads)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = threads
    if "torch" in sys.modules:  # imported by the fork server, before this environment: its threads are set here
        sys.modules["torch"].set_num_threads(options.limits.torch_threads)
    if options.warm_start and options.factory_address:
        use_shared_factory(options.factory_address, options.limits.torch_threads)
    kernels = WorkerKernels(options, slot)
    kernels.start_ahead(1)
    # the checks' own imports, meanwhile
    warm_up.start(warm_up.modules_for(options.course, options.course.rubrics, options.visibilities))
    return WorkerState(options, slot, phases, kernels)


def close_worker(state: WorkerState) -> None:
    """Runs when a worker stops: a kernel started for a job that never came is shut down, and the kernels of
    finished notebooks are closed before it exits."""
    if state.kernels is not None:
        state.kernels.close()


def run_job(state: WorkerState, job: NotebookJob) -> JobResult:
    """Grade one notebook in a worker. Whatever goes wrong becomes this exercise's not_gradable result."""
    if state.phases is not None:
        state.phases()  # count this job's phases afresh
    wall, cpu = time.monotonic(), time.process_time()
    run, executed = execute_job(state, job)
    if stop_requested():
        raise KeyboardInterrupt  # stopped midway: nothing of this run may be kept
    timings = job_timings(wall, cpu)
    if state.phases is not None:
        timings.update(state.phases())
    text = None if executed is None else nbformat.writes(executed)
    return JobResult(job.student, job.exercise, run, text, timings)


def execute_job(state: WorkerState, job: NotebookJob) -> tuple[ExerciseRun, NotebookNode | None]:
    """Run one notebook and its checks; returns the run and the executed notebook. Writes nothing.

    Its kernel is one started while earlier jobs ran, if any; kernels for the jobs likely to come this worker's
    way start now, while this notebook runs; this one's is closed on a thread (grader/worker_kernels.py)."""
    kernel = None
    try:
        if state.kernels is not None:
            kernel = state.kernels.take(job.notebook, list(job.files))
            state.kernels.start_ahead(jobs_to_come())
        return run_exercise(job.notebook, job.exercise, job.student, list(job.files), state.options,
                            slot=state.slot, notebook_name=job.notebook_name, kernel=kernel)
    except GraderError as exc:
        return ExerciseRun(job.exercise, "not_gradable", verbatim(str(exc)), job.notebook_name), None
    except Exception as exc:  # a grader bug must cost this notebook only, never the batch
        return ExerciseRun(job.exercise, "not_gradable", msg("exercise.grader_failed", type=type(exc).__name__),
                           job.notebook_name,
                           grader_error=traceback.format_exc()[-4000:]), None
    finally:
        if kernel is not None and state.kernels is not None:
            state.kernels.release(kernel)


def job_timings(wall: float, cpu: float) -> dict[str, float]:
    """What a job cost this process since `wall` (monotonic) and `cpu` (process time)."""
    return {"wall": time.monotonic() - wall, "cpu": time.process_time() - cpu, "pid": os.getpid(),
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def lost_job(job: NotebookJob, reason: str) -> JobResult:
    """What a job reports whose worker died, or that failed outside `run_job` (not sent, not written)."""
    message = msg("exercise.lost", reason=reason)
    return JobResult(job.student, job.exercise, ExerciseRun(job.exercise, "not_gradable", message, job.notebook_name))


# -- this machine's workers ----------------------------------------------------------------------------------------
def _setup_local(arg: tuple[GradingOptions, Phases | None], slot: int) -> WorkerState:
    options, phases = arg
    return setup_worker(options, slot, phases)


class LocalExecutor:
    """Jobs on `workers` processes of this machine, each with a sandbox slot of its own (grader/pool.py)."""

    def __init__(self, workers: int = 1, instrumentation: Instrumentation | None = None) -> None:
        self.workers = workers
        self.instrumentation = instrumentation or Instrumentation()

    def prepare(self, options: GradingOptions, notebooks: int) -> None:
        """With several workers to come, start the fork server they come from: its imports (the grader, torch,
        and torch._dynamo for a course that trains) run while the batch is planned and the probe runs."""
        if min(self.workers, notebooks) > 1:
            start_fork_server(["grader.jobs", *warm_up.modules_for(options.course, options.course.rubrics,
                                                                   options.visibilities)])

    def run(self, jobs: list[NotebookJob], options: GradingOptions) -> Iterator[JobResult]:
        probe = self.instrumentation
        workers = min(self.workers, max(1, len(jobs)))
        if options.warm_start and not warm_pays_off(len(jobs), workers, options.limits.torch_threads):
            options = replace(options, warm_start=False)  # a single notebook: a factory cannot pay off
        elif options.warm_start and workers > 1 and warm_start_problem(options.isolation) is None:
            # One factory for every worker (the probe's, or started now while the workers start up).
            options = replace(options, factory_address=lend_factory(options.limits.torch_threads))
        with WorkerPool(workers, _setup_local, (options, probe.job_phases), run_job,
                        lost_job, probe.worker_setup, close_worker) as pool:
            yield from pool.map_unordered(jobs)


def grade_notebooks(jobs: list[NotebookJob], options: GradingOptions, workers: int = 1,
                    executor: JobExecutor | None = None) -> Iterator[JobResult]:
    """Run `jobs` with `executor` (default: `workers` local processes); results in the order they finish."""
    yield from (executor or LocalExecutor(workers)).run(jobs, options)
