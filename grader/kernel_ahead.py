"""A worker's next kernel, started while its current notebook runs.

Starting a kernel (bubblewrap, the fork or the imports, ipykernel, the agent) is most of what a notebook costs
besides the student's cells and the checks. A worker that knows more jobs are coming starts the next kernel
when it takes a job, so the next notebook finds one ready instead of waiting for it.

The kernel is nobody's until a job adopts it: it starts in a sandbox of its own (its own uid and working tree,
empty until `KernelSession.adopt` copies that student's files in), from the same factory or command as any
kernel, and no student code has run in it. Its notebook time limit starts at adoption.
"""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode

from .kernel import KernelSession
from .options import GradingOptions


class KernelAhead:
    """At most one kernel started ahead of the job that will use it, for one worker (its sandbox `slot`)."""

    def __init__(self, options: GradingOptions, slot: int) -> None:
        self.options = options
        self.slot = slot
        self._next: KernelSession | None = None

    def take(self, notebook: NotebookNode, files: list[Path]) -> KernelSession:
        """The kernel for this notebook: the one started ahead if any (given the notebook), else a new one."""
        kernel, self._next = self._next, None
        if kernel is None:
            return KernelSession(notebook, files, self.options.isolation, self.options.limits, slot=self.slot,
                                 warm=self.options.warm_start)
        try:
            kernel.adopt(notebook, files)
        except BaseException:
            kernel.close()
            raise
        return kernel

    def start_next(self) -> None:
        """Start the next job's kernel now, unless one is waiting already."""
        if self._next is None:
            self._next = KernelSession.ahead(self.options.isolation, self.options.limits, slot=self.slot,
                                             warm=self.options.warm_start)

    @property
    def waiting(self) -> bool:
        """True while a kernel started ahead waits for its job."""
        return self._next is not None

    def close(self) -> None:
        """Stop a kernel no job came for."""
        kernel, self._next = self._next, None
        if kernel is not None:
            kernel.close()
