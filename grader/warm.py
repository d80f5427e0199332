"""Warm kernel start, trusted side: one kernel factory per batch, asked to fork each kernel (lent to the
batch's worker processes by grader/factory_share.py).

The factory (grader/sandboxed/kernel_factory.py) imports torch and ipykernel once; each student kernel is a fork of it
that joins a freshly built sandbox (see `Sandbox.wrap(hold=True)`). A notebook then starts in a fraction of a
second instead of paying the interpreter, ipykernel and torch imports again. Warm start needs what joining a
sandbox's namespaces needs: bubblewrap and root. Anywhere else kernels start cold, as before.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from .errors import KernelError
from . import sandboxed
from .factory_share import FactoryBroker, RemoteFactory
from .python_paths import paths_under
from .sandbox import SANDBOX_HOME, IsolationReport, kernel_environment

FACTORY_START_TIMEOUT = 120.0
SPAWN_TIMEOUT = 30.0
# Without these in the factory a forked kernel would import them all again: warm start in name only.
ESSENTIAL_PRELOAD = ("torch", "ipykernel.kernelapp")
COLD_START_COST = "every notebook pays the interpreter, ipykernel and torch imports again (2-3 s more each)"


def warm_start_problem(isolation: IsolationReport) -> str | None:
    """None when kernels can start warm here, else why not (they then start cold, which is only slower)."""
    if isolation.level != "bwrap":
        return "warm start needs the bubblewrap sandbox"
    if os.geteuid() != 0:
        return "warm start needs root (to join a sandbox's namespaces)"
    if not Path("/proc/self/ns/mnt").exists():
        return "this kernel has no /proc/<pid>/ns"
    return None


class KernelFactory:
    """A running kernel factory process; `spawn` forks one kernel into a sandbox's holder."""

    def __init__(self, torch_threads: int) -> None:
        self.torch_threads = torch_threads
        self._lock = threading.Lock()
        # The factory covers /tmp with a private tmpfs: what Python needs under the machine's /tmp (a
        # virtualenv there) is bound back into it, else every import fails and nothing is preloaded.
        keep = json.dumps([str(p) for p in paths_under("/tmp")])
        self._process = subprocess.Popen(
            [sys.executable, "-E", "-s", "-c", sandboxed.source("kernel_factory"), sandboxed.source("launcher"), keep],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self._environment(),
            cwd="/", close_fds=True, start_new_session=True)
        ready = self._reply(FACTORY_START_TIMEOUT)
        self.preloaded: list[str] = ready.get("ready", [])
        self.failed: dict[str, str] = ready.get("failed", {})
        missing = [name for name in ESSENTIAL_PRELOAD if name not in self.preloaded]
        if missing:
            self.close()
            why = "; ".join(f"{name}: {self.failed.get(name, 'not imported')}" for name in missing)
            raise KernelError(f"the kernel factory could not import {', '.join(missing)} ({why})")

    def _environment(self) -> dict[str, str]:
        """A bubblewrap kernel's environment, so that what the imports cache (tempfile's and matplotlib's
        folders, torch's thread count) is right in the kernels; the factory's /tmp is a private tmpfs."""
        return {**kernel_environment(SANDBOX_HOME, "/tmp", self.torch_threads),
                "OPENBLAS_NUM_THREADS": str(self.torch_threads)}

    @property
    def pid(self) -> int:
        """The factory process's id."""
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def spawn(self, holder_pid: int, request: dict[str, Any]) -> int:
        """Fork a kernel into the sandbox whose holder process is `holder_pid`; its pid on this machine."""
        with self._lock:
            if not self.alive():
                raise KernelError("the kernel factory has stopped")
            assert self._process.stdin is not None
            self._process.stdin.write((json.dumps({**request, "holder": holder_pid}) + "\n").encode())
            self._process.stdin.flush()
            reply = self._reply(SPAWN_TIMEOUT)
        if "pid" not in reply:
            raise KernelError(f"the kernel factory could not start a kernel: {reply.get('error', reply)}")
        return int(reply["pid"])

    def _reply(self, timeout: float) -> dict[str, Any]:
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else b""
        if not line:
            self.close()
            raise KernelError("the kernel factory did not answer")
        return json.loads(line)

    def close(self) -> None:
        if self.alive():
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()


_factories: dict[int, KernelFactory | RemoteFactory] = {}
_factory_failures: dict[int, str] = {}  # a factory that cannot preload is not started again for every kernel
_brokers: dict[int, FactoryBroker] = {}
_factories_lock = threading.Lock()
_brokers_lock = threading.Lock()


def kernel_factory(torch_threads: int) -> KernelFactory | RemoteFactory:
    """This process's factory for kernels with `torch_threads` threads, started on first use."""
    with _factories_lock:
        if torch_threads in _factory_failures:
            raise KernelError(_factory_failures[torch_threads])
        factory = _factories.get(torch_threads)
        if factory is None or not factory.alive():
            try:
                factory = _factories[torch_threads] = KernelFactory(torch_threads)
            except KernelError as exc:
                _factory_failures[torch_threads] = str(exc)
                raise
        return factory


def lend_factory(torch_threads: int) -> str:
    """The address at which this process lends its factory to its worker processes (grader/factory_share.py).

    The factory starts now in the background unless it runs already (the probe starts it); a worker's first
    spawn request waits for it. One factory for the whole batch instead of one per worker.
    """
    with _brokers_lock:
        broker = _brokers.get(torch_threads)
        if broker is None:
            broker = _brokers[torch_threads] = FactoryBroker(lambda: kernel_factory(torch_threads))
            threading.Thread(target=_start_quietly, args=(torch_threads,), name="grader-factory-start",
                             daemon=True).start()
        return broker.address


def _start_quietly(torch_threads: int) -> None:
    try:
        kernel_factory(torch_threads)
    except KernelError:
        pass  # remembered in _factory_failures: every spawn request is answered with it, and kernels start cold


def use_shared_factory(address: str, torch_threads: int) -> None:
    """In a worker: fork this process's kernels from the factory its `grade` process lends at `address`."""
    with _factories_lock:
        _factories[torch_threads] = RemoteFactory(address, torch_threads)


def has_factory(torch_threads: int) -> bool:
    """True when this process already runs a live factory for `torch_threads` (forking from it is nearly free)."""
    with _factories_lock:
        factory = _factories.get(torch_threads)
        return factory is not None and factory.alive()


def warm_pays_off(jobs: int, workers: int, torch_threads: int) -> bool:
    """Whether forking kernels from a factory can beat starting them cold for `jobs` notebooks on `workers`.

    A factory costs what one cold kernel costs (the interpreter, ipykernel and torch imports), and this
    process lends its one factory to all its workers (`lend_factory`): from the second kernel on, every kernel
    is a fork. So warm start pays off for two notebooks or more, or whenever the factory runs already (the
    probe started it, and its own kernel was the first fork).
    """
    if has_factory(torch_threads):
        return True
    return jobs >= 2


def warm_start_status(isolation: IsolationReport, torch_threads: int, start: bool = True) -> str | None:
    """None when kernels will start warm, torch preloaded; else one line: why not, and what it costs.

    `start`: start this process's factory to prove it preloads (its torch import is paid once, here, instead of
    at the first kernel); it then serves this process's kernels and, lent, its workers'. Without it, the
    machine's fitness for warm start is checked and a factory that cannot preload is found at its first use.
    """
    problem = warm_start_problem(isolation)
    if problem is None and start:
        try:
            kernel_factory(torch_threads)
        except KernelError as exc:
            problem = str(exc)
    return None if problem is None else f"warm start is off: {problem}; {COLD_START_COST}"


@atexit.register
def close_factories() -> None:
    """Stop this process's factories (they would end with it anyway: their stdin closes)."""
    with _brokers_lock:
        for broker in _brokers.values():
            broker.close()
        _brokers.clear()
    with _factories_lock:
        for factory in _factories.values():
            factory.close()
        _factories.clear()


def find_holder(bwrap_pid: int, timeout: float) -> int:
    """The holder process of a sandbox: bubblewrap's grandchild (bubblewrap -> its init -> the launcher)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            bwrap = psutil.Process(bwrap_pid)
            for child in bwrap.children():
                grandchildren = child.children()
                if grandchildren:
                    return grandchildren[0].pid
            if bwrap.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.Error:
            break
        time.sleep(0.002)
    raise KernelError("the sandbox did not start")
