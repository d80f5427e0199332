"""A worker's kernels: the next jobs' started while the current notebook runs, the last one closed behind it.

Starting a kernel (bubblewrap, the fork or the imports, ipykernel, the agent) and closing it (shutdown, the
sandbox's cleanup) are most of what a notebook costs besides the student's cells and the checks. A worker
starts its first kernel as it starts and, when it takes a job, kernels for the jobs likely to come its way: up
to two forked ones (a short notebook takes less time than a kernel's start, so the one after it would wait), or
one cold one (a cold kernel holds its own torch, hundreds of MiB). A finished notebook's kernel is closed on a
thread while the worker goes on.

A kernel started ahead is nobody's until a job adopts it: it runs in a sandbox of its own (its own uid and
working tree, empty until `KernelSession.adopt` copies that student's files in), from the same factory or
command as any kernel, and no student code has run in it. Its notebook time limit starts at adoption.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from nbformat import NotebookNode

from .kernel import KernelSession
from .options import GradingOptions
from .warm import warm_start_problem

WARM_KERNELS_AHEAD = 2
COLD_KERNELS_AHEAD = 1


class WorkerKernels:
    """One worker's kernels (its sandbox `slot`): up to `depth` started ahead, any number being closed."""

    def __init__(self, options: GradingOptions, slot: int) -> None:
        self.options = options
        self.slot = slot
        warm = options.warm_start and warm_start_problem(options.isolation) is None
        self.depth = WARM_KERNELS_AHEAD if warm else COLD_KERNELS_AHEAD
        self._ahead: deque[KernelSession] = deque()
        self._closing: list[threading.Thread] = []

    def take(self, notebook: NotebookNode, files: list[Path]) -> KernelSession:
        """The kernel for this notebook, starting: the one started ahead if any (given the notebook), else a
        new one. The caller hands it back with `release`."""
        kernel = self._ahead.popleft() if self._ahead else None
        if kernel is None:
            kernel = KernelSession(notebook, files, self.options.isolation, self.options.limits, slot=self.slot,
                                   warm=self.options.warm_start)
        else:
            try:
                kernel.adopt(notebook, files)
            except BaseException:
                kernel.close()
                raise
        kernel.start_in_background()  # for a kernel started ahead, only its clock starts
        return kernel

    def start_ahead(self, jobs: int = 1) -> None:
        """Have kernels started for the next `jobs` jobs (up to `depth`), counting those waiting already."""
        while len(self._ahead) < min(jobs, self.depth):
            self._ahead.append(KernelSession.ahead(self.options.isolation, self.options.limits, slot=self.slot,
                                                   warm=self.options.warm_start))

    @property
    def waiting(self) -> int:
        """How many kernels started ahead wait for their jobs."""
        return len(self._ahead)

    def release(self, kernel: KernelSession) -> None:
        """Close a finished notebook's kernel on a thread: the worker goes on with its next job meanwhile."""
        self._closing = [thread for thread in self._closing if thread.is_alive()]
        thread = threading.Thread(target=kernel.close, name="grader-kernel-close", daemon=True)
        thread.start()
        self._closing.append(thread)

    def close(self) -> None:
        """Stop the kernels no job came for, and wait until every released kernel is closed."""
        while self._ahead:
            self._ahead.popleft().close()
        for thread in self._closing:
            thread.join()
        self._closing.clear()
