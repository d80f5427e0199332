"""Where a student kernel runs: isolation level, resource limits, the bubblewrap command, cleanup.

One `Sandbox` per notebook run. It owns a private temporary tree (the student's working directory and the
kernel's socket directory), builds the command that starts the kernel inside it, and on `close()` makes sure
no process it started survives and the tree is gone.
"""

from __future__ import annotations

import enum
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from . import sandboxed
from .bwrap import SANDBOX_HOME, bwrap_argv, bwrap_problem
from .errors import SandboxError
from .python_paths import kernel_python, kernel_read_paths, unreadable_by
from .scratch import owned_folder
from .uid_pool import FIRST_SANDBOX_UID, SANDBOX_UIDS, claim_uid, processes_of_uid

__all__ = ["FIRST_SANDBOX_UID", "SANDBOX_HOME", "SANDBOX_MARKER", "SANDBOX_UIDS", "Isolation", "IsolationReport",
           "Limits", "Sandbox", "bwrap_problem", "kernel_environment", "resolve_isolation"]

SANDBOX_MARKER = "GRADER_SANDBOX_ID"
# Short paths: unix socket names must stay under ~100 bytes.
SANDBOX_PARENT = Path("/tmp") if os.path.isdir("/tmp") else Path(tempfile.gettempdir())


class Isolation(str, enum.Enum):
    """What the instructor asked for with --isolation."""

    AUTO = "auto"
    STRICT = "strict"
    NONE = "none"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one student notebook. Times in seconds, sizes in bytes."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 900.0  # wall time for everything: start-up, cells, checks, restarts
    call_timeout: float = 60.0
    startup_timeout: float = 60.0
    cpu_seconds: int = 900
    memory_bytes: int = 6 * 1024**3
    max_processes: int = 256  # threads count too: torch and ipykernel use a few dozen
    file_size_bytes: int = 64 * 1024**2
    open_files: int = 1024
    output_bytes: int = 4 * 1024**2
    response_bytes: int = 16 * 1024**2
    torch_threads: int = 1

    def rlimits(self) -> dict[str, int]:
        return {
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_bytes,
            "file_size_bytes": self.file_size_bytes,
            "max_processes": self.max_processes,
            "open_files": self.open_files,
            "core_bytes": 0,
        }


@dataclass(frozen=True)
class IsolationReport:
    """Which protections were in force; goes into every report and onto the terminal."""

    level: str  # "bwrap" or "none"
    requested: str
    protections: dict[str, bool] = field(default_factory=dict)
    warning: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def resolve_isolation(requested: Isolation | str) -> IsolationReport:
    """Decide the isolation level actually used; strict without bubblewrap is an error."""
    requested = Isolation(requested)
    problem = bwrap_problem() if requested != Isolation.NONE else "isolation none was requested"
    root = os.geteuid() == 0
    # As root the kernel drops to a sandbox uid, which must be able to read Python's files where they are.
    unreadable = unreadable_by(FIRST_SANDBOX_UID, FIRST_SANDBOX_UID) if root and problem is None else []
    if unreadable and requested == Isolation.STRICT:
        raise SandboxError(f"--isolation strict runs kernels as an unprivileged uid, but this Python's files are "
                           f"not readable by other users: {unreadable[0]} (install it with umask 022)")
    if problem is None:
        return IsolationReport(
            level="bwrap",
            requested=requested.value,
            protections=_protections(confined=True, unprivileged_uid=root and not unreadable),
            warning=None if not unreadable else (
                f"weaker isolation: kernels run as root (without capabilities) inside bubblewrap, because this "
                f"Python's files are not readable by an unprivileged uid: {unreadable[0]}"),
        )
    if requested == Isolation.STRICT:
        raise SandboxError(f"--isolation strict needs bubblewrap, but {problem}")
    return IsolationReport(
        level="none",
        requested=requested.value,
        protections=_protections(confined=False, unprivileged_uid=False),
        warning=(
            f"weaker isolation: {problem}. Student code runs with resource limits in a scratch directory, "
            "but can read any file this user can read, use the network and leave processes behind "
            "(the grader kills those it can find)."
        ),
    )


def _protections(confined: bool, unprivileged_uid: bool) -> dict[str, bool]:
    """What an isolation level protects: `confined` is bubblewrap's filesystem, network and pid namespaces."""
    return {"resource_limits": True, "private_filesystem": confined, "no_network": confined, "private_pids": confined,
            "unprivileged_uid": unprivileged_uid, "all_processes_killed": confined}


class Sandbox:
    """A private working tree plus the command that starts a kernel confined to it."""

    def __init__(self, isolation: IsolationReport, limits: Limits, slot: int = 0) -> None:
        self.isolation = isolation
        self.limits = limits
        self.token = secrets.token_hex(8)
        self.root = owned_folder("grd-", SANDBOX_PARENT)  # and the trees of sandboxes whose grader died go
        self.workdir = self.root / "home"
        self.runtime_dir = self.root / "run"
        self.workdir.mkdir()
        self.runtime_dir.mkdir()
        self._uid_lock: int | None = None
        self.uid: int | None = None
        if os.geteuid() == 0 and isolation.level == "bwrap" and isolation.protections.get("unprivileged_uid"):
            self.uid, self._uid_lock = claim_uid(slot)
            os.chown(self.root, self.uid, self.uid)
            os.chown(self.workdir, self.uid, self.uid)
            os.chown(self.runtime_dir, self.uid, self.uid)
        os.chmod(self.root, 0o700 if self.uid is None else 0o755)

    @property
    def kernel_cwd(self) -> str:
        """The working directory as the kernel sees it."""
        return SANDBOX_HOME if self.isolation.level == "bwrap" else str(self.workdir)

    def add_files(self, files: list[Path]) -> None:
        """Copy the student's own files (never anyone else's) into the working directory."""
        for src in files:
            dest = self.workdir / src.name
            shutil.copyfile(src, dest)
            if self.uid is not None:
                os.chown(dest, self.uid, self.uid)

    def chown_for_kernel(self, path: Path) -> None:
        """Let the sandbox uid read a file the grader wrote (the connection file)."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def environment(self) -> dict[str, str]:
        """A scrubbed environment: nothing of the grader's (secrets included) reaches the kernel."""
        tmp = "/tmp" if self.isolation.level == "bwrap" else str(self.workdir / ".tmp")
        if self.isolation.level != "bwrap":
            Path(tmp).mkdir(exist_ok=True)
        return {**kernel_environment(self.kernel_cwd, tmp, self.limits.torch_threads), SANDBOX_MARKER: self.token}

    def wrap(self, kernel_argv: list[str], hold: bool = False) -> list[str]:
        """The full command: launcher (limits, uid) inside bubblewrap when available.

        With `hold`, the sandbox starts without a kernel: its launcher waits for the kernel that a kernel
        factory forks into it (grader/warm.py, bubblewrap only) and ends with it.
        """
        import json

        settings: dict = {**self._launcher_settings(), "hold": self.limits.startup_timeout if hold else None}
        python = kernel_python()  # `../venv/bin/python` would need the directory it was started from
        kernel_argv = [python if kernel_argv[0] == sys.executable else kernel_argv[0], *kernel_argv[1:]]
        launcher = [python, "-I", "-c", sandboxed.source("launcher"), json.dumps(settings)]
        if self.isolation.level != "bwrap":
            if hold:
                raise SandboxError("a warm kernel start needs the bubblewrap sandbox")
            return [*launcher, *kernel_argv]
        return [*bwrap_argv(self.uid, self.runtime_dir, self.workdir, kernel_read_paths()), *launcher, *([] if hold else kernel_argv)]

    def warm_kernel_request(self, kernel_args: list[str]) -> dict:
        """What a kernel factory needs to fork a kernel into this sandbox (see grader/sandboxed/kernel_factory.py)."""
        return {**self._launcher_settings(), "env": self.environment(), "cwd": self.kernel_cwd,
                "argv": kernel_args}

    def _launcher_settings(self) -> dict:
        settings = {"limits": self.limits.rlimits(), "uid": self.uid, "gid": self.uid}
        if self.uid is None and os.geteuid() != 0:
            # RLIMIT_NPROC counts every process of the real user, not just this kernel's.
            settings["limits"]["max_processes"] += len(processes_of_uid(os.getuid()))
        return settings

    def processes(self) -> set[int]:
        """Pids of the processes running in this sandbox now."""
        return {proc.pid for proc in self._members()}

    def kill_leftovers(self, keep: set[int] | frozenset[int] = frozenset()) -> int:
        """Kill every process this sandbox started that is still alive, but those in `keep`."""
        victims = [proc for proc in self._members() if proc.pid not in keep]
        for proc in victims:
            try:
                proc.send_signal(signal.SIGKILL)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        psutil.wait_procs(victims, timeout=5)
        return len(victims)

    def _members(self) -> list[psutil.Process]:
        members = []
        for proc in psutil.process_iter(["pid", "uids"]):
            try:
                if self.uid is not None and proc.info["uids"] and proc.info["uids"].real == self.uid:
                    members.append(proc)
                elif proc.pid != os.getpid() and proc.environ().get(SANDBOX_MARKER) == self.token:
                    members.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
                continue
        return members

    def close(self) -> None:
        """Kill leftovers, remove the private tree, then give the uid back."""
        try:
            self.kill_leftovers()
            for _ in range(3):
                shutil.rmtree(self.root, ignore_errors=True)
                if not self.root.exists():
                    break
                time.sleep(0.2)
                self.kill_leftovers()
        finally:
            if self._uid_lock is not None:
                os.close(self._uid_lock)  # releases the flock
                self._uid_lock = None


def kernel_environment(home: str, tmp: str, torch_threads: int) -> dict[str, str]:
    """Every variable a kernel gets (besides its sandbox's marker); see `Sandbox.environment`."""
    threads = str(torch_threads)
    return {
        "PATH": f"{Path(kernel_python()).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": tmp,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "IPYTHONDIR": f"{tmp}/ipython",
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # glibc reserves address space for a malloc arena per thread (64 MiB each); under the RLIMIT_AS memory
        # limit, a kernel's idle threads (IOPub, heartbeat, control, shell channel) cost a 1 GiB limit its torch.
        "MALLOC_ARENA_MAX": "1",
    }


