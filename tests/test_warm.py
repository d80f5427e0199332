"""Warm kernel start: kernels forked from one factory keep every guarantee of a cold kernel and share no state."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from grader import warm
from grader.errors import KernelError
from grader.kernel import KernelSession
from grader.sandbox import Limits

from conftest import PROJECT, invoke, notebook, student

pytestmark = [pytest.mark.slow, pytest.mark.bwrap,
              pytest.mark.skipif(os.geteuid() != 0, reason="warm start joins namespaces: needs root")]

LIMITS = Limits(cell_timeout=10, notebook_timeout=120, call_timeout=10, memory_bytes=3 * 1024**3)


# A student who changes everything a later kernel could inherit from a shared parent process.
MUTATING_STUDENT = r'''
import builtins, os, random, sys
import numpy as np
import torch
torch.set_default_dtype(torch.float64)
torch.manual_seed(1234)
torch.set_num_threads(1)
torch.Tensor.backward = lambda self, *a, **k: None
torch.nn.functional.sigmoid = lambda x: x
torch.zeros = lambda *a, **k: "poisoned"
sys.modules["torch"].LEAKED = "yes"
builtins.LEAKED = "yes"
sys.path.insert(0, "/leaked")
os.environ["LEAKED"] = "yes"
random.seed(1); np.random.seed(1)
torch.autograd.set_grad_enabled(False)
open("/tmp/leaked", "w").write("x")
'''

FRESH_STUDENT = r'''
import builtins, os, random, sys, tempfile
import matplotlib
import numpy as np
import torch

def state():
    x = torch.tensor(2.0, requires_grad=True)
    (x * x).backward()
    return {
        "default_dtype": str(torch.get_default_dtype()),
        "initial_seed": int(torch.initial_seed()),
        "backward_works": float(x.grad),
        "sigmoid_of_0": float(torch.nn.functional.sigmoid(torch.tensor(0.0))),
        "zeros": str(type(torch.zeros(1)).__name__),
        "torch_attr": hasattr(torch, "LEAKED"),
        "builtins_attr": hasattr(builtins, "LEAKED"),
        "sys_path": "/leaked" in sys.path,
        "environ": "LEAKED" in os.environ,
        "grad_enabled": torch.is_grad_enabled(),
        "tmp_file": os.path.exists("/tmp/leaked"),
        "random": random.random(),
        "numpy_random": float(np.random.random()),
        "pid": os.getpid(),
        "tempdir": tempfile.gettempdir(),
        "matplotlib_dirs": [matplotlib.get_configdir(), matplotlib.get_cachedir()],
        "home": os.path.expanduser("~"),
        "threads": torch.get_num_threads(),
        "uid": os.getuid(),
    }
'''


def _state(isolation, warm_start: bool = True) -> tuple[dict, bool]:
    with KernelSession(notebook(FRESH_STUDENT), [], isolation, LIMITS, warm=warm_start) as session:
        session.run_notebook()
        return student(session).call("state"), session.warm


def test_a_student_who_mutates_torch_and_the_interpreter_does_not_reach_the_next_one(isolation):
    before, was_warm = _state(isolation)
    assert was_warm, "the kernel did not start warm: this test would prove nothing"
    with KernelSession(notebook(MUTATING_STUDENT), [], isolation, LIMITS) as mutating:
        executed = mutating.run_notebook()
        assert mutating.warm
        assert not [o for o in executed.cells[0].outputs if o.output_type == "error"]
    after, was_warm = _state(isolation)
    assert was_warm
    for key in ("default_dtype", "backward_works", "sigmoid_of_0", "zeros", "torch_attr",
                "builtins_attr", "sys_path", "environ", "grad_enabled", "tmp_file", "uid"):
        assert after[key] == before[key], key
    assert after == {**after, "default_dtype": "torch.float32", "backward_works": 4.0, "sigmoid_of_0": 0.5,
                     "zeros": "Tensor", "torch_attr": False, "builtins_attr": False, "grad_enabled": True,
                     "tmp_file": False}


def test_each_warm_kernel_gets_its_own_random_state_as_a_fresh_process_would(isolation):
    first, _ = _state(isolation)
    second, _ = _state(isolation)
    assert first["random"] != second["random"]
    assert first["initial_seed"] != second["initial_seed"]
    assert first["numpy_random"] != second["numpy_random"]


def test_warm_and_cold_kernels_see_the_same_sandbox(isolation):
    warm_state, was_warm = _state(isolation, warm_start=True)
    cold_state, was_cold = _state(isolation, warm_start=False)
    assert was_warm and not was_cold
    assert warm_state["uid"] == cold_state["uid"] or (warm_state["uid"] >= 62000 and cold_state["uid"] >= 62000)
    assert warm_state["uid"] != 0
    # what the factory's imports cached (folders, thread counts) is what a cold kernel computes itself
    for key in ("default_dtype", "backward_works", "grad_enabled", "tempdir", "matplotlib_dirs", "home", "threads"):
        assert warm_state[key] == cold_state[key], key


def test_warm_kernels_are_confined_like_cold_ones(isolation):
    probe = notebook(f"COURSE = {str(PROJECT / 'reference')!r}\n" + r'''
import os, socket
def confinement():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2); network = True
    except OSError:
        network = False
    return {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "home": sorted(os.listdir("/home")), "course": os.path.exists(COURSE),
            "network": network, "hostname": os.uname().nodename, "uid": os.getuid(),
            "cwd": os.getcwd(), "limit_as": __import__("resource").getrlimit(__import__("resource").RLIMIT_AS)[0],
            "status": dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
                           if ":\t" in line)}
''')
    with KernelSession(probe, [], isolation, LIMITS) as session:
        session.run_notebook()
        assert session.warm
        seen = student(session).call("confinement")
        factory_pid = warm.kernel_factory(LIMITS.torch_threads).pid
    assert seen["network"] is False
    assert seen["course"] is False and seen["home"] == ["student"]
    assert seen["hostname"] == "sandbox" and seen["uid"] >= 62000 and seen["cwd"] == "/home/student"
    assert seen["limit_as"] == LIMITS.memory_bytes
    status = seen["status"]
    assert status["NoNewPrivs"] == "1" and int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert status["Groups"].strip() == ""
    assert len(seen["pids"]) <= 4, seen["pids"]  # bubblewrap's init, the holder, the kernel (and a helper)
    assert factory_pid not in seen["pids"]


def test_the_factory_holds_nothing_of_the_graders_environment(monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "do-not-leak")
    factory = warm.KernelFactory(torch_threads=1)
    try:
        environ = psutil.Process(factory.pid).environ()
        assert "GRADER_SECRET" not in environ and "do-not-leak" not in " ".join(environ.values())
        assert "torch" in factory.preloaded and "ipykernel.kernelapp" in factory.preloaded
    finally:
        factory.close()
    assert not psutil.pid_exists(factory.pid) or psutil.Process(factory.pid).status() == "zombie"


def test_a_kernel_death_is_seen_and_the_notebook_rerun(isolation):
    nb = notebook("import os\nos._exit(3)", "def after():\n    return 'ran'")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        session.run_notebook()
        assert session.warm
        assert [p.kind for p in session.problems] == ["kernel_died"]
        assert student(session).call("after") == "ran"


def test_a_failing_factory_means_a_cold_start_not_a_lost_notebook(isolation, monkeypatch):
    def broken_spawn(self, holder_pid, request):
        raise KernelError("the kernel factory could not start a kernel: simulated")

    monkeypatch.setattr(warm.KernelFactory, "spawn", broken_spawn)
    with KernelSession(notebook("def f():\n    return 41 + 1"), [], isolation, LIMITS) as session:
        session.run_notebook()
        assert student(session).call("f") == 42
        assert session.warm is False


def test_a_dead_factory_is_replaced(isolation):
    factory = warm.kernel_factory(LIMITS.torch_threads)
    os.kill(factory.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while factory.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not factory.alive()
    with KernelSession(notebook("def f():\n    return 7"), [], isolation, LIMITS) as session:
        session.run_notebook()
        assert session.warm and student(session).call("f") == 7
    assert warm.kernel_factory(LIMITS.torch_threads) is not factory


@pytest.mark.parametrize("flag, warm_start", [([], True), (["--cold-start"], False)])
def test_cold_start_option_reaches_the_grading(flag, warm_start, tmp_path, monkeypatch):
    import grader.batch

    seen = {}

    def grade_batch(root, out_dir, options, *args, **kwargs):
        seen["warm_start"] = options.warm_start
        return []

    monkeypatch.setattr(grader.batch, "grade_batch", grade_batch)
    (tmp_path / "submissions").mkdir()
    result = invoke("run", str(tmp_path / "submissions"), "--course", str(PROJECT), "--out", str(tmp_path / "out"),
                    *flag)
    assert result.exit_code == 0, result.output
    assert seen == {"warm_start": warm_start}


def test_a_factory_ends_when_the_grader_that_started_it_is_killed(tmp_path):
    import subprocess
    import sys

    script = ("from grader.warm import kernel_factory\n"
              "f = kernel_factory(1)\nprint(f.pid, flush=True)\nimport time\ntime.sleep(600)\n")
    grader_process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                                      cwd=PROJECT)
    try:
        factory_pid = int(grader_process.stdout.readline())
        assert psutil.pid_exists(factory_pid)
        grader_process.kill()
        grader_process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(factory_pid):
            time.sleep(0.1)
        assert not _running(factory_pid)
    finally:
        grader_process.kill()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_plots_reach_the_notebook_from_a_warm_kernel(isolation):
    nb = notebook("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()",
                  "plt.figure()\nplt.scatter([1, 2], [3, 4])")
    with KernelSession(nb, [], isolation, LIMITS) as session:
        executed = session.run_notebook()
        assert session.warm
    images = [o for c in executed.cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_the_factory_answers_before_its_later_imports_and_makes_them_while_idle():
    """Ready after torch and ipykernel: the first kernel (the probe's) does not wait for matplotlib and
    torch._dynamo, which the factory imports between requests."""
    factory = warm.KernelFactory(torch_threads=1)
    try:
        assert "torch" in factory.preloaded and "torch._dynamo" not in factory.preloaded
        deadline = time.monotonic() + 120

        def matplotlib_loaded() -> bool:
            return any("ft2font" in region.path for region in psutil.Process(factory.pid).memory_maps())

        while time.monotonic() < deadline and not matplotlib_loaded():
            time.sleep(0.2)
        assert matplotlib_loaded(), "the factory never imported matplotlib while idle"
    finally:
        factory.close()
