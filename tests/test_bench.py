"""bench/run.py works end to end on a tiny batch (its figures are not asserted: they depend on the machine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_benchmark_runs_on_a_tiny_batch(project, isolation):
    done = subprocess.run([sys.executable, str(project / "bench" / "run.py"), "--students", "3", "--workers", "2",
                           "--exercises", "autograd", "--isolation", isolation.requested],
                          capture_output=True, text=True, cwd=project, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"s00/01_autograd\.ipynb +\d+\.\d\d +\d+\.\d\d +\d+\.\d\d", out)  # baseline row
    assert re.search(r"s01/01_autograd\.ipynb( +-?\d+\.\d\d){9} +\d+ +\d+  graded", out)  # grader row, phases measured
    assert re.search(r"baseline/first = +\d+\.\d\dx", out)
    assert re.search(r"^(kernels: warm start on|kernels: cold start|warning: warm start is off: .+; every notebook "
                     r"pays).*\(the probe before the batch took \d+\.\d s\)", out, re.M)
    assert re.search(r"fixed cost per notebook \(kernel start \+ agent, first run\): +\d+\.\d\d s", out)
    assert re.search(r"one student, probe included: warm start allowed +\d+\.\d s, --cold-start +\d+\.\d s", out)
    assert re.search(r"lesson's plotting loop inside train: +\d+\.\d s vs quiet train +\d+\.\d s = +\d+\.\d\dx", out)
    assert "the plotting loop changed a verdict" not in out
    if "kernels: warm start on" in out:  # where kernels start warm, both are measured
        assert re.search(r"baseline/cold = +\d+\.\d\dx +warm start is +\d+\.\d\dx faster", out)
        assert re.search(r"kernel start \+ agent per notebook: cold +\d+\.\d\d s, warm +\d+\.\d\d s", out)
    assert "notebooks run again: 0" in out  # the second run is all cache hits
    assert re.search(r"grader overhead: +\d+\.\d %", out)
    assert re.search(r"grade check autograd +\d+\.\d s vs plain python \+ torch +\d+\.\d s = \d+\.\d\dx", out)
