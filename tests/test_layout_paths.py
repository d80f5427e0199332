"""What the sandbox binds for this Python, wherever it lives; what the grader does when a layout cannot work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import python_paths, sandbox
from grader.bwrap import bwrap_argv
from grader.errors import EnvironmentProblem, SandboxError
from grader.sandbox import Isolation, Limits, resolve_isolation


def _binds(argv: list[str]) -> set[str]:
    return {argv[i + 2] for i, a in enumerate(argv) if a == "--ro-bind"}


def test_a_venv_beside_its_base_interpreter_is_bound_too():
    # pyenv (or conda, uv) and the virtualenv both under /root: binding the first made /root a directory of
    # the sandbox, and the venv (the kernel's own executable) was skipped as if /root were mounted.
    paths = (Path("/root/.pyenv/versions/3.11.7"), Path("/root/project/.venv"), Path("/root/project/.venv/bin"))
    binds = _binds(bwrap_argv(None, Path("/tmp/grd-x/run"), Path("/tmp/grd-x/home"), paths))
    assert {"/root/.pyenv/versions/3.11.7", "/root/project/.venv"} <= binds
    assert "/root/project/.venv/bin" not in binds  # already inside a bound path


def test_the_kernels_python_paths_are_all_read_paths():
    paths = python_paths.kernel_read_paths()
    for entry in python_paths.kernel_sys_path():
        if os.path.isabs(entry) and os.path.exists(entry):
            checkout = python_paths.grader_checkout()
            if checkout is not None and (Path(entry) == checkout or checkout.is_relative_to(entry)):
                continue
            assert any(Path(entry).is_relative_to(p) for p in paths), entry
    exe = Path(os.path.abspath(os.sys.executable))
    assert any(exe.parent.is_relative_to(p) for p in paths)


def test_the_graders_checkout_is_never_a_read_path():
    checkout = python_paths.grader_checkout()
    if checkout is None:
        pytest.skip("the grader is installed into a prefix here, not run from a checkout")
    assert not any(p == checkout or checkout.is_relative_to(p) for p in python_paths.kernel_read_paths())


def test_unreadable_paths_are_named(tmp_path):
    private = tmp_path / "site-packages"
    (private / "torch").mkdir(parents=True)
    os.chmod(private / "torch", 0o700)
    found = python_paths.unreadable_by(62000, 62000, (private,))
    assert found and str(private / "torch") in found[0] and "700" in found[0]
    os.chmod(private / "torch", 0o755)
    assert python_paths.unreadable_by(62000, 62000, (private,)) == []


@pytest.mark.bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox uid exists only when the grader runs as root")
def test_python_files_the_sandbox_uid_cannot_read_refuse_strict_and_weaken_auto(monkeypatch):
    monkeypatch.setattr(sandbox, "unreadable_by", lambda uid, gid: ["/opt/venv/lib (mode 700, owner uid 0)"])
    with pytest.raises(SandboxError, match="not readable by other users"):
        resolve_isolation(Isolation.STRICT)
    report = resolve_isolation(Isolation.AUTO)
    assert report.level == "bwrap" and report.protections["unprivileged_uid"] is False
    assert report.warning and "/opt/venv/lib" in report.warning


@pytest.mark.slow
def test_a_probe_that_cannot_start_a_kernel_is_a_grader_failure_with_a_diagnosis(isolation):
    from grader.probe import probe_environment

    tiny = Limits(memory_bytes=256 * 1024**2, startup_timeout=20, cell_timeout=10, call_timeout=10)
    with pytest.raises(EnvironmentProblem) as caught:
        probe_environment(isolation, tiny, warm=False)
    message = str(caught.value)
    assert "The kernel runs as uid" in message and "stderr" in message and "Paths bound into the sandbox" in message


@pytest.mark.slow
def test_grade_stops_with_exit_3_before_the_batch_when_no_kernel_can_run(tmp_path):
    import subprocess
    import sys

    from conftest import PROJECT

    out = tmp_path / "graded"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "examples/submissions", "--out", str(out),
                           "--memory", "256", "--cold-start"], cwd=PROJECT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PROJECT)}, timeout=600)
    assert done.returncode == 3, done.stderr
    assert "The kernel runs as uid" in done.stderr
    assert not list(out.glob("*/report.json"))  # no student was blamed
