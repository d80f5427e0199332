"""Run one exercise's pytest checks against a student session, in this (trusted) process."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from .plugin import GraderPlugin


def run_checks(check_dirs: list[Path], plugin: GraderPlugin) -> GraderPlugin:
    """Run the checks in `check_dirs` with `plugin`'s fixtures; outcomes are collected on the plugin."""
    dirs = [d for d in check_dirs if d.is_dir()]
    if not dirs:
        return plugin
    root = os.path.commonpath([str(d) for d in dirs])
    args = [
        *map(str, dirs),
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "-p", "no:stepwise",
        "--import-mode=importlib",
        f"--confcutdir={root}",
        f"--rootdir={root}",
        "-c", os.devnull,
        "-W", "ignore",
    ]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main(args, plugins=[plugin])
    return plugin
