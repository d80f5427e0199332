"""First program of every student kernel: apply resource limits, drop to the sandbox uid, exec the kernel.

This file is passed as source text (`python -I -c <source> <limits-json> <kernel argv...>`) so that it needs
nothing importable inside the sandbox. It uses only the standard library and must stay that way.
"""

import json
import os
import resource
import sys


def _apply_limits(limits: dict) -> None:
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


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("grader launcher: could not drop privileges")


def main(argv: list) -> None:
    settings = json.loads(argv[1])
    command = argv[2:]
    if settings.get("uid") is not None:
        _drop_privileges(settings["uid"], settings["gid"])
    _apply_limits(settings.get("limits", {}))
    # The kernel would poll this pid to notice its parent's death; inside a PID namespace that pid means
    # nothing (and would make it exit at once). bubblewrap's --die-with-parent does that job instead.
    os.environ.pop("JPY_PARENT_PID", None)
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    main(sys.argv)
