"""The bubblewrap command a sandbox runs in, and whether bubblewrap works on this machine.

grader/sandbox.py decides the isolation level and owns the sandbox's tree; this module only builds argv.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

SANDBOX_HOME = "/home/student"


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap can build our sandbox here, else a sentence saying why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [exe, *namespace_flags(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not run: {exc}"
    if done.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {done.stderr.strip()[:200]}"
    return None


def namespace_flags() -> list[str]:
    """The namespaces every sandbox gets (a user namespace too when not root)."""
    flags = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        flags.insert(0, "--unshare-user")
    return flags


def bwrap_argv(uid: int | None, runtime_dir: Path, workdir: Path, read_paths: tuple[Path, ...]) -> list[str]:
    """The bubblewrap command up to the program it runs: namespaces, the read-only system and Python trees
    (`read_paths`), the kernel's runtime directory and `workdir` as the student's home."""
    argv = [shutil.which("bwrap") or "bwrap", *namespace_flags(), "--die-with-parent", "--new-session"]
    argv += ["--hostname", "sandbox"]
    if uid is not None:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    made: set[str] = set()
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / top
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
        made.add(str(host))
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "fonts", "localtime", "alternatives", "mime.types"):
        argv += ["--ro-bind-try", f"/etc/{etc}", f"/etc/{etc}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made.update({"/proc", "/dev", "/tmp", "/etc"})
    # `made` also holds the empty directories created as parents: only a real mount covers what is below it.
    mounted = {Path(m) for m in made if m not in ("/tmp", "/etc")}
    for root in read_paths:
        if any(root.is_relative_to(m) for m in mounted):
            continue
        argv += parent_dirs(root, made)
        argv += ["--ro-bind", str(root), str(root)]
        made.add(str(root))
        mounted.add(root)
    argv += parent_dirs(runtime_dir, made)
    argv += ["--bind", str(runtime_dir), str(runtime_dir)]
    argv += parent_dirs(Path(SANDBOX_HOME), made)
    argv += ["--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME]
    return argv


def parent_dirs(path: Path, made: set[str]) -> list[str]:
    """bwrap creates missing parents with the host's modes; make them traversable explicitly."""
    argv: list[str] = []
    for parent in reversed(path.parents):
        name = str(parent)
        if name == "/" or name in made:
            continue
        argv += ["--perms", "0755", "--dir", name]
        made.add(name)
    return argv
