"""Before a batch: can this machine run a kernel at all? A known-good notebook in the real sandbox says so.

A kernel that cannot start because of the grader's own environment (Python's files out of the sandbox uid's
reach, a broken virtualenv, too small a memory limit for torch) would otherwise be reported as every
student's `not_gradable`. The probe never judges by a student's notebook: it runs the grader's own, and if
that fails the batch does not start (`EnvironmentProblem`, exit 3) with a diagnosis: bubblewrap's and the
kernel's stderr, the uid the kernel runs as, and which of Python's paths that uid cannot read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from .errors import EnvironmentProblem, GraderError
from .python_paths import kernel_read_paths, unreadable_by
from .sandbox import IsolationReport, Limits, Sandbox
from .warm import warm_pays_off, warm_start_status

PROBE_CELLS = (
    "import torch\nprobe_value = float((torch.ones(2) * 21).sum())",
    "def probe_answer():\n    return probe_value",
)
PROBE_ANSWER = 42.0
IMPORT_CHECK = "import ipykernel.kernelapp, torch; print('imports ok')"
STDERR_TAIL = 600


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found: the kernel works; `warm_note` is None when warm start is on, else why it is off."""

    warm: bool
    warm_note: str | None


def probe_notebook() -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(source) for source in PROBE_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def probe_environment(isolation: IsolationReport, limits: Limits, warm: bool = True, workers: int = 1,
                      notebooks: int | None = None) -> ProbeResult:
    """Run the probe notebook as a student's would run; raise EnvironmentProblem with a diagnosis if it fails.

    Where kernels will start warm (`warm`, and `notebooks` many enough for a factory to pay off), the probe
    starts a kernel factory to prove it preloads torch and ipykernel, so that warm start is never silently
    off; its own kernel is the factory's first fork. The jobs then use the same factory: in this process with
    one worker, lent to the workers with more (grader/factory_share.py).
    """
    from .kernel import KernelSession  # the kernel session imports zmq and nbclient: only when probing
    from .session import StudentSession

    # The probe's kernel is one kernel more: with it, a factory pays off from the batch's first notebook.
    will_warm = warm and (notebooks is None or warm_pays_off(notebooks + 1, workers, limits.torch_threads))
    warm_note = warm_start_status(isolation, limits.torch_threads, start=will_warm) if warm else None
    failure = None
    try:
        with KernelSession(probe_notebook(), [], isolation, limits, warm=will_warm and warm_note is None) as session:
            executed = session.run_notebook()
            errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
            if session.problems or errors:
                detail = errors[0] if errors else session.problems[0]
                failure = f"the probe notebook failed in the sandbox: {_describe(detail)}"
            elif StudentSession(session, executed).call("probe_answer") != PROBE_ANSWER:
                failure = "the probe notebook's answer came back wrong"
    except GraderError as exc:
        failure = str(exc)
    if failure is not None:
        raise EnvironmentProblem(f"{failure}. {diagnose(isolation, limits)}")
    return ProbeResult(warm=will_warm and warm_note is None, warm_note=warm_note)


def probe_line(isolation: IsolationReport, limits: Limits, warm: bool = True, workers: int = 1,
               notebooks: int | None = None) -> str:
    """Probe (see `probe_environment`) and say in one line how kernels will start; stated once, before a batch.

    `notebooks`: at most this many will run (the executor starts them cold when a factory cannot pay off).
    """
    result = probe_environment(isolation, limits, warm, workers, notebooks)
    if result.warm:
        return "kernels: warm start on (torch and ipykernel preloaded in the kernel factory)"
    if result.warm_note:
        return f"warning: {result.warm_note}"
    if warm:
        return "kernels: cold start (a single notebook: a warm kernel factory would not pay off)"
    return "kernels: cold start (--cold-start)"


def diagnose(isolation: IsolationReport, limits: Limits) -> str:
    """One paragraph on why a kernel cannot start here: the sandbox's stderr, the uid, unreadable paths."""
    sandbox = Sandbox(isolation, limits)
    try:
        argv = sandbox.wrap([sys.executable, "-c", IMPORT_CHECK])
        try:
            done = subprocess.run(argv, env=sandbox.environment(), cwd=str(sandbox.root), capture_output=True,
                                  text=True, timeout=max(limits.startup_timeout, 30))
            stderr = (done.stderr or "").strip()[-STDERR_TAIL:] or "(nothing)"
            started = f"exit {done.returncode}, stdout {done.stdout.strip()[:80]!r}, stderr: {stderr}"
        except (OSError, subprocess.TimeoutExpired) as exc:
            started = f"could not run: {exc}"
        uid = sandbox.uid if sandbox.uid is not None else os.getuid()
        gid = sandbox.uid if sandbox.uid is not None else os.getgid()
    finally:
        sandbox.close()
    unreadable = unreadable_by(uid, gid)
    reach = (f"not readable by uid {uid}: {'; '.join(unreadable[:5])}" if unreadable
             else f"every path Python needs is readable by uid {uid}")
    return (f"The kernel runs as uid {uid} ({isolation.level} sandbox) from {sys.executable}; importing "
            f"ipykernel and torch there gave {started}. {reach}. Paths bound into the sandbox: "
            f"{', '.join(str(p) for p in kernel_read_paths())}.")


def _describe(detail: object) -> str:
    if isinstance(detail, dict):
        return f"{detail.get('ename')}: {str(detail.get('evalue'))[:300]}"
    return str(getattr(detail, "message", detail))[:300]
