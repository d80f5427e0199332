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
                           "--exercises", "autograd", "--isolation", isolation.requested, "--repeat", "2"],
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
    assert re.search(r"lesson's plotting loop inside train: +\d+\.\d s vs quiet train +\d+\.\d s = +\d+\.\d\dx .*"
                     r"the median of \d+\.\d\dx, \d+\.\d\dx\)", out)
    assert "the plotting loop changed a verdict" not in out
    if "kernels: warm start on" in out:  # where kernels start warm, both are measured
        assert re.search(r"baseline/cold = +\d+\.\d\dx +warm start is +\d+\.\d\dx faster", out)
        assert re.search(r"kernel start \+ agent per notebook: cold +\d+\.\d\d s, warm +\d+\.\d\d s", out)
    assert "notebooks run again: 0" in out  # the second run is all cache hits
    assert re.search(r"grader overhead: +\d+\.\d %", out)
    assert re.search(r"grade check autograd +\d+\.\d s vs plain python \+ torch +\d+\.\d s = \d+\.\d\dx .*"
                     r"the median of \d+\.\d\dx, \d+\.\d\dx\)", out)


def test_the_median_ratio_comes_with_the_run_it_is_from(project):
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", project / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = bench  # its dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules["bench_run"]
    assert bench.median_ratio([2.0, 9.0, 3.0], [1.0, 3.0, 2.0]) == (2.0, 0, "2.00x, 3.00x, 1.50x")
    assert bench.median_ratio([4.0], [2.0]) == (2.0, 0, "2.00x")
    assert bench.median_ratio([1.0, 3.0], [1.0, 1.0])[0] == 1.0  # of two, the lower
