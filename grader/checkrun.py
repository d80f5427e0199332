"""Run one exercise's pytest checks against a student session, in this (trusted) process: pytest's wiring only."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

from .plugin import GraderPlugin

# pytest's own plugins the checks do not use (not `terminal`: without it a failed `assert a == b, msg` loses
# its message, pytest's assertion explanation needing the terminal plugin's verbosity). unraisableexception alone costs ~0.8 s per run: it calls
# gc.collect() five times, which is slow with torch loaded.
_UNUSED_PLUGINS = ("cacheprovider", "stepwise", "unraisableexception", "threadexception", "doctest",
                   "junitxml", "pastebin", "legacypath", "logging", "faulthandler", "setuponly", "setupplan",
                   "debugging")
# Plugins installed in the grader's environment (pytest-benchmark, ...) have no business in a check run.
_NO_AUTOLOAD = tuple(int(p) for p in pytest.__version__.split(".")[:2] if p.isdigit()) >= (8, 4)

_stamps: dict[str, tuple[str, int, int]] = {}  # check module name -> (file, mtime_ns, size) when imported


def run_checks(check_dirs: list[Path], plugin: GraderPlugin) -> GraderPlugin:
    """Run the checks in `check_dirs` with `plugin`'s fixtures; outcomes are collected on the plugin.

    Check modules stay imported between runs in one process (pytest reuses sys.modules), so what a check
    module caches (`functools.lru_cache` on reference results) serves every student a worker grades. A check
    file that changed, or another course's file under the same module name, is imported afresh.
    """
    dirs = [d for d in check_dirs if d.is_dir()]
    if not dirs:
        return plugin
    root = os.path.commonpath([str(d) for d in dirs])
    files = _forget_stale_modules(dirs, Path(root))
    args = [
        *map(str, dirs),
        *(arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
        *(["--disable-plugin-autoload"] if _NO_AUTOLOAD else []),
        "--import-mode=importlib",
        f"--confcutdir={root}",
        f"--rootdir={root}",
        "-c", os.devnull,
        "-W", "ignore",
    ]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(args, plugins=[plugin, _NativeTracebacks()])
    if code == pytest.ExitCode.INTERRUPTED:
        # pytest caught a Ctrl-C (or a worker's SIGTERM) and stopped early: these outcomes are incomplete
        # and must not become a grade.
        raise KeyboardInterrupt
    for name, path in files.items():
        if name in sys.modules:
            _stamps[name] = _stamp(path)
    return plugin


class _NativeTracebacks:
    """Failed checks' details as Python's own tracebacks: pytest's rich ones cost ~70 ms per failed check."""

    def pytest_configure(self, config: pytest.Config) -> None:
        config.option.tbstyle = "native"


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
        return str(path), st.st_mtime_ns, st.st_size
    except OSError:
        return str(path), -1, -1


def _forget_stale_modules(dirs: list[Path], root: Path) -> dict[str, Path]:
    """Drop from sys.modules each check module that pytest would otherwise reuse although its file changed."""
    try:
        from _pytest.pathlib import module_name_from_path
    except ImportError:  # pytest moved it: import every check module afresh
        for name in list(_stamps):
            sys.modules.pop(name, None)
        return {}
    files = {module_name_from_path(path, root): path.resolve()
             for d in dirs for path in sorted(d.rglob("*.py")) if "__pycache__" not in path.parts}
    for name, path in files.items():
        if name in sys.modules and _stamps.get(name) != _stamp(path):
            sys.modules.pop(name, None)
    return files
