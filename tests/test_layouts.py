"""Wherever it is installed, the grader works: a matrix of install layouts built on this machine.

Each layout gets a copy of this checkout and a fresh virtualenv, installed with the README's first command,
then grades the examples (the gradebook must equal this run's), states how kernels start (warm as root), and
runs the kernel and warm-start tests from inside that layout. Minutes per layout (mostly the torch install,
from pip's cache). A layout is skipped only where this machine cannot build it, with the reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import PROJECT

pytestmark = [pytest.mark.slow, pytest.mark.bwrap]

INSTALL = ["pip", "install", "-q", "torch==2.13.0", "-e", ".[test]"]  # the README's first command
LAYOUT_TESTS = ["tests/test_kernel.py", "tests/test_warm.py"]
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "graded*", "__pycache__", "*.egg-info", ".pytest_cache",
                                     ".hypothesis")
USER = "graderlayout"


@dataclass
class Layout:
    name: str
    home: Path  # the checkout is home/course, the virtualenv home/venv
    top: Path  # removed afterwards
    user: str | None = None  # None: root
    python: str = getattr(sys, "_base_executable", sys.executable)  # makes the virtualenv

    @property
    def checkout(self) -> Path:
        return self.home / "course"

    @property
    def bin(self) -> Path:
        return self.home / "venv" / "bin"

    def run(self, argv: list[str], timeout: float = 1800) -> subprocess.CompletedProcess:
        """Run as the layout's user, from the checkout, with nothing of this test run's environment."""
        env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
        env.update(PATH=f"{self.bin}:/usr/local/bin:/usr/bin:/bin", HOME=str(self.home), LANG="C.UTF-8")
        kwargs = {} if self.user is None else {"user": self.user, "group": self.user, "extra_groups": []}
        cwd = self.checkout if self.checkout.is_dir() else self.home
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                              **kwargs)


def _build(layout: Layout) -> Layout:
    shutil.copytree(PROJECT, layout.checkout, ignore=COPY_IGNORE)
    if layout.user is not None:
        subprocess.run(["chown", "-R", f"{layout.user}:{layout.user}", str(layout.home)], check=True)
    made = layout.run([layout.python, "-m", "venv", str(layout.home / "venv")])
    assert made.returncode == 0, made.stderr
    installed = layout.run([str(layout.bin / "python"), "-m", *INSTALL])
    assert installed.returncode == 0, installed.stderr[-3000:]
    return layout


def _root_home() -> Layout:
    if os.geteuid() != 0:
        pytest.skip("the root layouts need root (this run is not root)")
    # mkdtemp makes it 0700, like /root in most Docker images; outside /tmp on purpose.
    top = Path(tempfile.mkdtemp(prefix="grader-layout-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    return Layout("root, 700 home", top / "root", top)


def _root_tmp() -> Layout:
    if os.geteuid() != 0:
        pytest.skip("the root layouts need root (this run is not root)")
    top = Path(tempfile.mkdtemp(prefix="grader-layout-", dir="/tmp"))
    os.chmod(top, 0o755)  # as `git clone` into /tmp would leave it
    return Layout("root, /tmp", top, top)


def _user_home() -> Layout:
    if os.geteuid() != 0:
        pytest.skip("creating a user with useradd needs root")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed: no non-root user can be made here")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        made = subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], capture_output=True,
                              text=True)
        if made.returncode != 0:
            pytest.skip(f"useradd failed: {made.stderr.strip()}")
    home = Path(pwd.getpwnam(USER).pw_dir) / f"layout-{os.getpid()}"
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home.parent, 0o700)
    os.chmod(home, 0o700)
    layout = Layout("non-root user, 700 home", home, home, user=USER)
    # This run's Python may live where the user cannot reach it (pyenv under /root): any Python 3.11+ will do.
    for python in (layout.python, "/usr/local/bin/python3", "/usr/bin/python3"):
        probe = [python, "-c", "import sys, venv, ensurepip; assert sys.version_info >= (3, 11)"]
        try:
            usable = os.path.exists(python) and layout.run(probe, timeout=60).returncode == 0
        except OSError:  # not executable by this user
            usable = False
        if usable:
            layout.python = python
            return layout
    pytest.skip(f"no Python 3.11+ with venv that user {USER} can run")


@pytest.fixture(scope="module")
def ci_gradebook(tmp_path_factory) -> str:
    """The examples' gradebook as this (CI) layout grades them."""
    out = tmp_path_factory.mktemp("ci") / "graded"
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "examples/submissions", "--out", str(out)],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    return (out / "gradebook.csv").read_text(encoding="utf-8")


@pytest.fixture(params=[_root_home, _root_tmp, _user_home], ids=["root-700-home", "root-tmp", "user-700-home"])
def layout(request):
    built = _build(request.param())
    yield built
    shutil.rmtree(built.top, ignore_errors=True)


def test_the_grader_works_in_every_layout(layout, ci_gradebook):
    out = layout.home / "graded"
    graded = layout.run([str(layout.bin / "grade"), "examples/submissions", "--out", str(out)])
    assert graded.returncode == 0, f"{layout.name}: {graded.stderr[-3000:]}"
    assert (out / "gradebook.csv").read_text(encoding="utf-8") == ci_gradebook, layout.name
    assert "weaker isolation" not in graded.stderr, graded.stderr
    if layout.user is None:  # warm start applies to root only
        assert "kernels: warm start on" in graded.stderr, f"{layout.name}: {graded.stderr}"
    tests = layout.run([str(layout.bin / "python"), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        *LAYOUT_TESTS])
    assert tests.returncode == 0, f"{layout.name}: {tests.stdout[-4000:]}"
