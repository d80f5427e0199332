"""Grading workers: processes that each grade one job at a time, with a sandbox slot of their own.

Workers live for the whole batch, so the check modules and the reference notebooks are loaded once per worker,
not once per student. On Linux they are forked from a fork server (`start_fork_server`) that imported the
grader and torch once, before any thread or torch computation (torch and fork mix only that way): a worker is
ready at once instead of importing torch again. Elsewhere they are spawned, and import it themselves.
The parent hands out one job at a time and always knows which job each worker holds: a worker that dies
(out of memory, a crash in native code) costs only that job, which comes back through `on_lost`, and a new
worker takes its slot.

Stopping: Ctrl-C reaches the parent only (workers ignore SIGINT). Leaving the `with` block early, by an
exception or a KeyboardInterrupt, sends SIGTERM to every worker; a worker turns it into KeyboardInterrupt,
so its `with KernelSession` blocks close their kernels and sandboxes, and exits, within
WORKER_STOP_DEADLINE seconds whatever happens. A worker whose parent dies, even by kill -9, gets the same
SIGTERM from the kernel (PR_SET_PDEATHSIG; a forked worker's parent is the fork server, which ends when the
process that started it does).

With one worker, jobs run in the calling process: nothing to spawn, and Ctrl-C unwinds the same way.

A worker learns with each job how many more are likely to come its way (`jobs_to_come`), so that it can
prepare for them (grader/worker_kernels.py); `teardown` undoes what it prepared when it stops.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable, Iterator

FORK_SERVER = "forkserver" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux")
STOP_GRACE = 20.0  # seconds a worker gets to close its kernel before the parent kills it
WORKER_STOP_DEADLINE = 15  # seconds after which a stopping worker ends itself (its parent may be gone)

Setup = Callable[[Any, int], Any]  # (setup argument, slot) -> worker state
Work = Callable[[Any, Any], Any]  # (worker state, job) -> result
Lost = Callable[[Any, str], Any]  # (job, reason) -> the result to report instead
Teardown = Callable[[Any], None]  # (worker state) -> None, when the worker stops


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_torch_threads(workers: int) -> int:
    """Intra-op threads per kernel so that `workers` kernels do not oversubscribe the cores."""
    return max(1, default_workers() // max(1, workers))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    slot: int
    job: tuple[int, Any] | None = None


class WorkerPool:
    """`with WorkerPool(n, setup, arg, work, on_lost) as pool: for result in pool.map_unordered(jobs): ...`"""

    def __init__(self, workers: int, setup: Setup, setup_arg: Any, work: Work, on_lost: Lost,
                 initializer: Callable[[], None] | None = None, teardown: Teardown | None = None) -> None:
        self.workers = max(1, workers)
        self._setup, self._setup_arg, self._work, self._on_lost = setup, setup_arg, work, on_lost
        self._initializer, self._teardown = initializer, teardown
        self._context = multiprocessing.get_context("forkserver" if FORK_SERVER else "spawn")
        self._running: list[_Worker] = []
        self._inline_state: Any = None
        self._inline_ready = False

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(graceful=exc[0] is None)

    # -- running jobs ------------------------------------------------------------------------------------
    def map_unordered(self, jobs: Iterable[Any]) -> Iterator[Any]:
        """Results of `work(state, job)` for every job, in the order they finish."""
        jobs = list(jobs)
        if not jobs:
            return
        if self.workers == 1:
            yield from self._inline(jobs)
            return
        pending = deque(enumerate(jobs))
        while pending or any(w.job is not None for w in self._running):
            while len(self._running) < min(self.workers, len(pending) + self._busy()):
                self._running.append(self._start(self._free_slot()))
            for worker in list(self._running):
                if worker.job is None and pending:
                    worker.job = pending.popleft()
                    # The jobs waiting beyond one for each other busy worker: this one's to come, at the pace so far.
                    others = sum(1 for w in self._running if w is not worker and w.job is not None)
                    try:
                        worker.conn.send((*worker.job, max(0, len(pending) - others)))
                    except (OSError, ValueError):  # it died while idle: this job is lost with it
                        yield self._collect(worker)
            busy = [w for w in self._running if w.job is not None]
            if not busy:
                continue
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    yield self._collect(worker)

    def _busy(self) -> int:
        return sum(1 for w in self._running if w.job is not None)

    def _free_slot(self) -> int:
        used = {w.slot for w in self._running}
        return next(slot for slot in range(self.workers) if slot not in used)

    def _collect(self, worker: _Worker) -> Any:
        """The result of the job `worker` holds, or `on_lost` when the worker died or could not send it."""
        assert worker.job is not None
        _, job = worker.job
        message = None
        try:
            if worker.conn.poll():
                message = worker.conn.recv()
        except (EOFError, OSError):
            message = None
        except Exception as exc:  # a result that does not unpickle: a grader bug, reported on this job
            message = ("failed", f"its result could not be read: {type(exc).__name__}: {exc}")
        worker.job = None
        if message is not None and message[0] == "done":
            return message[1]
        if message is not None:
            return self._on_lost(job, f"the grader failed on it: {message[1]}")
        worker.process.join(5)
        code = worker.process.exitcode
        self._running.remove(worker)  # a new worker takes its slot if there is work left
        worker.conn.close()
        return self._on_lost(job, f"the grader's worker process died while grading it (exit code {code})")

    def _inline(self, jobs: list[Any]) -> Iterator[Any]:
        if not self._inline_ready:
            if self._initializer is not None:
                self._initializer()
            self._inline_state = self._setup(self._setup_arg, 0)
            self._inline_ready = True
        global _jobs_to_come
        for index, job in enumerate(jobs):
            _jobs_to_come = len(jobs) - index - 1
            try:
                result = self._work(self._inline_state, job)
            except Exception as exc:  # `work` handles the expected failures; this is a grader bug
                result = self._on_lost(job, f"the grader failed on it: {type(exc).__name__}: {exc}")
            yield result

    # -- worker lifecycle --------------------------------------------------------------------------------
    def _start(self, slot: int) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, name=f"grader-worker-{slot}", daemon=True,
            args=(child, self._setup, self._setup_arg, self._work, slot, os.getpid(), self._initializer,
                  self._teardown, dict(os.environ)))
        process.start()
        child.close()
        return _Worker(process, parent, slot)

    def close(self, graceful: bool = True) -> None:
        """Stop every worker: idle ones are told to exit; busy ones (an interrupted batch) get SIGTERM."""
        if self._inline_ready:
            self._inline_ready = False
            if self._teardown is not None:
                self._teardown(self._inline_state)
        workers, self._running = self._running, []
        for worker in workers:
            try:
                if graceful and worker.job is None:
                    worker.conn.send(None)
                elif worker.process.is_alive():
                    os.kill(worker.process.pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + STOP_GRACE
        for worker in workers:
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
            worker.conn.close()


def start_fork_server(preload: list[str]) -> None:
    """Start the fork server that workers are forked from, importing `preload` (module names) once, now and
    in the background: its imports overlap with what this process does before the first worker starts. A
    server already running stays as it is. Nothing to do where workers are spawned."""
    if not FORK_SERVER:
        return
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    forkserver.ensure_running()


# -- inside a worker ---------------------------------------------------------------------------------------
def _worker_main(conn: Connection, setup: Setup, setup_arg: Any, work: Work, slot: int, parent_pid: int,
                 initializer: Callable[[], None] | None, teardown: Teardown | None,
                 environment: dict[str, str]) -> None:
    global _jobs_to_come
    # A forked worker has the fork server's environment, as it was when the server started: it gets the
    # environment its parent has now, as a spawned worker would.
    os.environ.clear()
    os.environ.update(environment)
    signal.signal(signal.SIGINT, _ignore)  # Ctrl-C is the parent's; a handler (not SIG_IGN) is not inherited
    signal.signal(signal.SIGTERM, _interrupt)
    _die_with_parent(parent_pid)
    state = None
    try:
        if initializer is not None:
            initializer()
        state = setup(setup_arg, slot)
        while True:
            try:
                item = conn.recv()
            except (EOFError, OSError):
                return
            if item is None:
                return
            job_id, job, _jobs_to_come = item
            try:
                reply = ("done", work(state, job))
            except Exception as exc:  # `work` handles the expected failures; this is a grader bug
                reply = ("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-8)}")
            if _stopping:  # the interrupt was swallowed on the way: the result may be incomplete
                raise KeyboardInterrupt
            try:
                conn.send(reply)
            except (BrokenPipeError, OSError):
                return
            except Exception as exc:  # the result does not pickle
                conn.send(("failed", f"its result could not be sent: {type(exc).__name__}: {exc}"))
    except KeyboardInterrupt:  # SIGTERM from the parent: `finally` blocks have closed the kernels
        _tear_down(teardown, state)
        # Exit now: interpreter shutdown would wait on nothing useful (a background import, asyncio's
        # complaints about tasks of the kernel it just closed).
        os._exit(1)
    finally:
        _tear_down(teardown, state)


def _tear_down(teardown: Teardown | None, state: Any) -> None:
    if teardown is not None and state is not None:
        try:
            teardown(state)
        except Exception:  # stopping goes on: what it could not undo ends with this process
            pass


_stopping = False
_jobs_to_come = 0


def jobs_to_come() -> int:
    """In a worker: how many more jobs are likely to come its way, as it got its current one (the jobs waiting
    then, less one for each other busy worker; 0 when it may well get none)."""
    return _jobs_to_come


def stop_requested() -> bool:
    """True in a worker told to stop: results computed from now on may be incomplete; do not keep them."""
    return _stopping


def _ignore(signum: int, frame: Any) -> None:
    pass


def _interrupt(signum: int, frame: Any) -> None:
    global _stopping
    _stopping = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; let the cleanup finish...
    # ... but not forever: closing a kernel interrupted mid-request can block in C (zmq_ctx_term), where no
    # Python handler runs. SIGALRM's default action ends the process; bubblewrap's --die-with-parent then
    # takes the kernel down with it.
    signal.alarm(WORKER_STOP_DEADLINE)
    raise KeyboardInterrupt


def _die_with_parent(parent_pid: int) -> None:
    """SIGTERM this worker when the grader that started it dies, however it dies (Linux only)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid and not _alive(parent_pid):  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
