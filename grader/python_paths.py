"""Where this Python lives: the paths a sandboxed kernel must be able to read, wherever they are.

The kernel runs `sys.executable -m ipykernel_launcher` as an unprivileged uid inside a sandbox that shows only
what is bound into it. What it needs does not depend on the layout (system Python, a virtualenv under a 700
home or under /tmp, a conda prefix, a project-local .venv), only where things are: the executable as it is
named (a venv finds its pyvenv.cfg beside it) and every hop of its symlinks, the prefixes, and whatever the
kernel's own `sys.path` holds. A checkout holding the grader itself (an editable install) is never shown:
the kernel imports nothing from it, and a course with hidden checks may live in it.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

# What a kernel's interpreter puts on sys.path; run with the kernel's own flags (no user site, no PYTHON*).
_SYS_PATH_PROBE = "import json, sys; print(json.dumps([p for p in sys.path if p]))"


@functools.lru_cache(maxsize=1)
def kernel_read_paths() -> tuple[Path, ...]:
    """Every directory the kernel must read, parents before children, bound read-only into the sandbox."""
    wanted: set[Path] = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        wanted.update(_both(Path(prefix)))
    wanted.update(_symlink_hops(Path(kernel_python())))
    checkout = grader_checkout()
    for entry in kernel_sys_path():
        path = Path(entry)
        if not path.exists() or any(path.is_relative_to(w) for w in wanted):
            continue
        if checkout is not None and (path == checkout or checkout.is_relative_to(path)):
            continue
        wanted.update(_both(path))
    wanted.discard(Path("/"))
    return tuple(sorted(wanted))


def kernel_python() -> str:
    """The interpreter a kernel runs, named as the grader's own was, but absolute and without `..`."""
    return os.path.abspath(sys.executable)


@functools.lru_cache(maxsize=1)
def kernel_sys_path() -> tuple[str, ...]:
    """The kernel interpreter's sys.path (its site-packages and .pth entries); the grader's own as a fallback."""
    try:
        done = subprocess.run([sys.executable, "-E", "-s", "-c", _SYS_PATH_PROBE], capture_output=True,
                              text=True, timeout=30, cwd="/", env={"PATH": os.defpath})
        return tuple(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError):
        return tuple(p for p in sys.path if p and os.path.isabs(p))


@functools.lru_cache(maxsize=1)
def grader_checkout() -> Path | None:
    """The source checkout the grader runs from (editable install), or None when it is installed in a prefix."""
    package = Path(__file__).resolve().parent
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    if any(package.is_relative_to(p) for p in prefixes):
        return None
    return package.parent


def paths_under(top: str) -> list[Path]:
    """The kernel's read paths under `top` (the warm factory re-binds those under its private /tmp)."""
    return [p for p in kernel_read_paths() if p.is_relative_to(top) and p != Path(top)]


def unreadable_by(uid: int, gid: int, paths: tuple[Path, ...] | None = None) -> list[str]:
    """The read paths (or their files) that `uid` could not read in the sandbox, as short explanations.

    Inside the sandbox each bound path's parents are fresh 0755 directories, so only the path itself and what
    is below it keep the host's modes: a 700 directory there stops the kernel however the mounts are made.
    """
    problems = []
    if paths is None:
        entries = [Path(p) for p in kernel_sys_path() if os.path.isabs(p)]
        paths = (*kernel_read_paths(), Path(sys.prefix) / "pyvenv.cfg", *entries)
    for path in paths:
        for check in (path, *_first_level(path)):
            try:
                st = check.stat()
            except OSError:
                continue
            if not _can(st, uid, gid, 0o5 if check.is_dir() else 0o4):
                problems.append(f"{check} (mode {st.st_mode & 0o777:o}, owner uid {st.st_uid})")
                break
    return problems


def _can(st: os.stat_result, uid: int, gid: int, bits: int) -> bool:
    if uid == 0:
        return True
    if st.st_uid == uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid == gid:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits


def _first_level(path: Path) -> list[Path]:
    try:
        return [child for child in path.iterdir() if not child.is_symlink()][:200] if path.is_dir() else []
    except OSError:
        return []


def _both(path: Path) -> set[Path]:
    """A path as named and as resolved: the kernel uses the first, symlinks inside it may lead to the second."""
    named = Path(os.path.abspath(path))
    return {named, named.resolve()}


def _symlink_hops(exe: Path) -> set[Path]:
    """The directories of an executable and of every symlink it goes through (a venv's python -> the base's)."""
    dirs: set[Path] = set()
    current = exe
    for _ in range(40):
        dirs.add(current.parent)
        if not current.is_symlink():
            break
        target = Path(os.readlink(current))
        current = Path(os.path.abspath(current.parent / target))
    dirs.add(exe.resolve().parent)
    return dirs
