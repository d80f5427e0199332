"""Instrumentation for bench/run.py, installed in each grading worker (never in a normal grader run).

bench/run.py hands `install` and `take_phases` to the grader as `grader.jobs.Instrumentation`. `install` wraps
a few grader functions to time the phases of every notebook job into PHASES; the worker calls `take_phases`
around each job, and the job's timings carry the figures back to the parent:

- kernel_start: the job waiting for its sandboxed kernel (sandbox, bubblewrap, ipykernel boot, and the agent
  when the kernel starts on a thread); a kernel started ahead, while the previous job ran
  (grader/worker_kernels.py), costs the job only what is left of its start when the job takes it
- ahead_start / ahead_kernels: the seconds spent starting kernels on threads (off the job's path, kernels
  started ahead and a job's own kernel alike), and how many
- factory: starting this worker's kernel factory (warm start), inside the first warm kernel_start; the
  bench reports it apart from the per-notebook fixed cost
- agent: the grader's agent going into the kernel before the first cell, on the job's path; it imports torch,
  so the notebook's own `import torch` then costs nothing
- cells: the student's cells executing in the kernel (nbclient's execute_cell)
- checks: the check functions themselves (pytest's call phase), student calls included
- calls: the checks' calls into the student's kernel (StudentSession.call and friends)
- pytest: the whole run_checks (checks plus pytest's collection and bookkeeping)
- kernel_cpu / kernel_peak_rss_mib: CPU seconds and peak RSS of the job's kernel processes, sampled every
  50 ms from this worker's descendants and from the kernels a lent factory forked for it (the kernel runs
  under bubblewrap, or is forked by the `grade` process's factory, so it is not a waited-for child whose
  rusage could be read).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import psutil

_SAMPLE_SECONDS = 0.05


class _TreeMeter:
    """Last-seen CPU time and peak RSS of every descendant process of this one."""

    def __init__(self) -> None:
        self.cpu: dict[int, float] = {}
        self.rss: dict[int, int] = {}
        self.kernels: set[int] = set()  # forked by a factory this process does not own: not its descendants
        self._me = psutil.Process()
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, name="bench-meter", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.sample()
            time.sleep(_SAMPLE_SECONDS)

    def sample(self) -> None:
        try:
            children = self._me.children(recursive=True)
        except psutil.Error:
            return
        for pid in list(self.kernels):
            try:
                kernel = psutil.Process(pid)
                children += [kernel, *kernel.children(recursive=True)]
            except psutil.Error:
                self.kernels.discard(pid)
        for child in children:
            try:
                with child.oneshot():
                    times = child.cpu_times()
                    rss = child.memory_info().rss
            except psutil.Error:
                continue
            with self._lock:
                self.cpu[child.pid] = times.user + times.system
                self.rss[child.pid] = max(self.rss.get(child.pid, 0), rss)

    def forget(self, pids: list[int]) -> None:
        with self._lock:
            self.kernels.difference_update(pids)
            for pid in pids:
                self.cpu.pop(pid, None)
                self.rss.pop(pid, None)

    def snapshot(self) -> tuple[dict[int, float], dict[int, int]]:
        self.sample()
        with self._lock:
            return dict(self.cpu), dict(self.rss)


_meter: _TreeMeter | None = None
PHASES: dict[str, float] = {}  # seconds per phase since the last take_phases(), in this worker


def _add(name: str, seconds: float) -> None:
    PHASES[name] = PHASES.get(name, 0.0) + seconds


def take_phases() -> dict[str, float]:
    """The phases measured since the previous call (a worker calls it before and after each job)."""
    taken = dict(PHASES)
    PHASES.clear()
    return taken


def _timed(name: str, function: Any) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            _add(name, time.monotonic() - start)
    return wrapper


def _timed_async(name: str, function: Any, off_path: str | None = None) -> Any:
    """`function` timed as `name`, or as `off_path` when it runs on another thread than the job's."""
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        on_path = threading.current_thread() is threading.main_thread()
        try:
            return await function(*args, **kwargs)
        finally:
            if on_path or off_path is None:
                _add(name, time.monotonic() - start)
            else:
                _add(off_path, time.monotonic() - start)
                _add(off_path.replace("_start", "_kernels"), 1)
    return wrapper


class _CheckTimer:
    """A pytest plugin timing each check function's call phase."""

    import pytest as _pytest

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: Any) -> Any:
        start = time.monotonic()
        yield
        _add("checks", time.monotonic() - start)

    def pytest_configure(self, config: Any) -> None:
        config.option.tbstyle = "native"


def install() -> None:
    """Wrap the grader's functions in this process (a worker's initializer)."""
    global _meter
    import grader.checkrun as checkrun
    import grader.factory_share as factory_share
    import grader.exercise as exercise
    import grader.jobs as jobs
    import grader.jupyter_glue as jupyter_glue
    import grader.kernel as kernel
    import grader.sandboxed as sandboxed
    import grader.session as session
    import grader.warm as warm

    if _meter is not None:
        return
    _meter = _TreeMeter()
    warm.KernelFactory.__init__ = _timed("factory", warm.KernelFactory.__init__)
    spawn = factory_share.RemoteFactory.spawn

    @functools.wraps(spawn)
    def spawn_and_watch(self: Any, holder_pid: int, request: dict) -> int:
        pid = spawn(self, holder_pid, request)
        assert _meter is not None
        _meter.kernels.add(pid)
        return pid

    factory_share.RemoteFactory.spawn = spawn_and_watch
    kernel.KernelSession._start_kernel = _timed_async("kernel_start", kernel.KernelSession._start_kernel,
                                                      off_path="ahead_start")
    join_prestart = kernel.KernelSession._join_prestart

    @functools.wraps(join_prestart)
    def waited(self: Any) -> None:
        if self._prestart_done.is_set() or threading.current_thread() is not threading.main_thread():
            return join_prestart(self)
        start = time.monotonic()
        try:
            return join_prestart(self)
        finally:
            _add("kernel_start", time.monotonic() - start)

    kernel.KernelSession._join_prestart = waited
    jupyter_glue.BoundedClient.async_execute_cell = _timed_async("cells", jupyter_glue.BoundedClient.async_execute_cell)
    execute_silently = kernel.KernelSession._execute_silently

    @functools.wraps(execute_silently)
    async def silently(self: Any, code: str, timeout: float) -> Any:
        if code not in (sandboxed.source("kernel_agent"), sandboxed.kernel_prelude()) or \
                threading.current_thread() is not threading.main_thread():
            return await execute_silently(self, code, timeout)
        start = time.monotonic()
        try:
            return await execute_silently(self, code, timeout)
        finally:
            _add("agent", time.monotonic() - start)

    kernel.KernelSession._execute_silently = silently
    for name in ("call", "call_method", "defines", "variable"):
        setattr(session.StudentSession, name, _timed("calls", getattr(session.StudentSession, name)))
    checkrun._NativeTracebacks = _CheckTimer
    exercise.run_checks = _timed("pytest", exercise.run_checks)

    run_exercise = jobs.run_exercise

    @functools.wraps(run_exercise)
    def measured(*args: Any, **kwargs: Any) -> Any:
        assert _meter is not None
        cpu_before, _ = _meter.snapshot()
        try:
            return run_exercise(*args, **kwargs)
        finally:
            cpu_after, rss = _meter.snapshot()
            new = [pid for pid in cpu_after if cpu_after[pid] != cpu_before.get(pid)]
            _add("kernel_cpu", sum(cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in new))
            _add("kernel_peak_rss_mib", max((rss[pid] for pid in new), default=0) / 1024**2)
            _meter.forget(new)  # pids are reused: forget the job's processes

    jobs.run_exercise = measured
