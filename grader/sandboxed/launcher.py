"""First program of every student sandbox: apply resource limits, drop to the sandbox uid, then run the kernel.

This file is passed as source text (`python -I -c <source> <settings-json> <kernel argv...>`) so that it needs
nothing importable inside the sandbox. It uses only the standard library and must stay that way.

Cold start execs the kernel command. Warm start (settings `"hold"`) runs no kernel here: the launcher waits for
the kernel that kernel_factory.py (next to this file) forks into this sandbox, and exits when that kernel ends,
so that the kernel manager, which watches this process, sees the kernel's death.
"""

import json
import os
import resource
import select
import sys
import time


def apply_limits(limits: dict) -> None:
    names = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "memory_bytes": resource.RLIMIT_AS,
        "file_size_bytes": resource.RLIMIT_FSIZE,
        "max_processes": resource.RLIMIT_NPROC,
        "open_files": resource.RLIMIT_NOFILE,
        "core_bytes": resource.RLIMIT_CORE,
    }
    for key, which in names.items():
        value = limits.get(key)
        if value is None:
            continue
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        # RLIMIT_CPU: the soft limit sends SIGXCPU, the hard one a second later SIGKILL.
        new_hard = value + 1 if which == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY else value
        resource.setrlimit(which, (value, new_hard))


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("grader launcher: could not drop privileges")


def main(argv: list) -> None:
    settings = json.loads(argv[1])
    command = argv[2:]
    if settings.get("uid") is not None:
        drop_privileges(settings["uid"], settings["gid"])
    apply_limits(settings.get("limits", {}))
    if settings.get("hold"):
        sys.exit(hold(float(settings["hold"])))
    # The kernel would poll this pid to notice its parent's death; inside a PID namespace that pid means
    # nothing (and would make it exit at once). bubblewrap's --die-with-parent does that job instead.
    os.environ.pop("JPY_PARENT_PID", None)
    os.execvpe(command[0], command, os.environ)


def hold(startup_timeout: float) -> int:
    """Wait for the kernel to join this PID namespace (the first process besides init and us), then for its end."""
    deadline = time.monotonic() + startup_timeout
    kernel = None
    while kernel is None:
        others = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, os.getpid())]
        if others:
            kernel = min(others)
        elif time.monotonic() > deadline:
            return 1
        else:
            time.sleep(0.005)
    try:
        pidfd = os.pidfd_open(kernel)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        select.select([pidfd], [], [])
        return 0
    while os.path.exists(f"/proc/{kernel}"):
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    main(sys.argv)
