"""Benchmark: what grading costs next to just running the students' notebooks.

    python bench/run.py [--students 20] [--workers 2] [--exercises autograd,logistic_regression] [--keep DIR]

Generates a batch into a temporary folder from reference/ and reference/wrong/ (even students hand in the
reference notebooks, odd ones a known-wrong solution per exercise, appended as examples/make_submissions.py
does), then times, in one run:

1. baseline: each notebook executed once with plain nbclient in a fresh kernel, sequentially, no sandbox, no
   checks (wall, kernel CPU from the waited-for kernel's rusage, and the cells' own time);
2. grader, first run: `grade_batch` with --workers and no cache (per notebook: wall, worker and kernel CPU,
   kernel start, cells, checks, peak RSS of the worker and of the kernel; bench/probe.py measures the phases);
   kernels start warm (forked from a kernel factory, grader/warm.py) where the machine allows;
2b. the same with every kernel started cold (a fresh interpreter importing ipykernel and torch), to show what
   warm start saves (skip with --skip-cold-start);
3. grader, second run: the same batch again with the cache (nothing changed, so no kernel should start);
4. `grade check` on one notebook per exercise against `python -c 'import torch' + the notebook's code` in
   plain Python (only when the grader has `grade check`).

and prints the ratios next to the targets of issue #15: a first run (probe included) >= 3x faster than the
baseline (aim 6x), a fixed cost per notebook < 0.3 s warm, grader overhead < 10 %, one student warm never slower
than cold, the lesson's plotting loop <= 1.5x a quiet train, `grade check` <= 1.5x plain Python. Nothing is asserted: the figures depend on the machine
and on what else runs on it (the load average is printed first).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # `probe` for the workers (spawned workers get this sys.path)

import nbformat  # noqa: E402

import probe  # noqa: E402
from grader.batch import grade_batch  # noqa: E402
from grader.course import Course, load_course  # noqa: E402
from grader.jobs import Instrumentation, JobResult, LocalExecutor  # noqa: E402
from grader.options import GradingOptions  # noqa: E402
from grader.pool import default_torch_threads, default_workers  # noqa: E402
from grader.sandbox import Limits, resolve_isolation  # noqa: E402
from grader.probe import probe_line  # noqa: E402
from grader.warm import close_factories  # noqa: E402

SECRET = b"bench-secret-0123456789abcdef"
PLAIN = r"""
import sys, time
start = time.monotonic()
import torch
import nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
namespace = {"__name__": "__main__"}
for cell in nb.cells:
    if cell.cell_type == "code":
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
        try:
            exec(compile(source, "cell", "exec"), namespace)
        except Exception as exc:
            print(f"cell raised {type(exc).__name__}: {exc}", file=sys.stderr)
"""


# -- the batch ---------------------------------------------------------------------------------------------------
def make_batch(course: Course, root: Path, students: int, exercises: list[str]) -> list[Path]:
    """`students` folders under `root`; returns every notebook written."""
    written = []
    for i in range(students):
        folder = root / f"s{i:02d}"
        folder.mkdir(parents=True)
        for exercise in exercises:
            nb = nbformat.read(course.reference_notebook(exercise), as_version=4)
            wrong = course.wrong_solutions(exercise)
            if i % 2 == 1 and wrong:
                snippet = wrong[(i // 2) % len(wrong)]
                nb.cells.append(nbformat.v4.new_code_cell(snippet.read_text(encoding="utf-8")))
            path = folder / course.rubrics[exercise].notebook
            nbformat.write(nb, path)
            written.append(path)
    return written


PLOT_EXERCISE = "logistic_regression"
# The lesson's own plotting loop (a scatter of both clouds and the boundary every 20 iterations, then
# plt.show() and plt.pause(0.5)), pasted into train after optimizer.step(): it draws nothing the checks see and
# changes no result.
PLOTTING_LOOP = """
        if iteration % 20 == 0:
            import matplotlib.pyplot as plt
            import numpy as np
            n = train_x.shape[0] // 2
            plt.scatter(train_x[:n, 0].numpy(), train_x[:n, 1].numpy(), c='r', label='class 0')
            plt.scatter(train_x[n:, 0].numpy(), train_x[n:, 1].numpy(), c='b', label='class 1')
            w0, w1 = (float(w) for w in model.features.weight[0].detach())
            plot_b = float(model.features.bias[0].item())
            plot_x = np.arange(-6, 6, 0.1)
            plot_y = (-w0 * plot_x - plot_b) / w1
            plt.xlim(-5, 7)
            plt.ylim(-7, 7)
            plt.plot(plot_x, plot_y)
            plt.text(-5, 5, 'Loss=%.4f' % loss.data.numpy(), fontdict={'size': 20, 'color': 'red'})
            plt.title('Iteration: {}  w0:{:.2f} w1:{:.2f} b: {:.2f}'.format(iteration, w0, w1, plot_b))
            plt.legend()
            plt.show()
            plt.pause(0.5)
"""
ANCHOR = "        optimizer.step()\n"


def plotting_notebook(course: Course) -> nbformat.NotebookNode:
    """The reference logistic-regression notebook with the lesson's plotting loop inside `train`."""
    nb = nbformat.read(course.reference_notebook(PLOT_EXERCISE), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "def train(" in c.source and ANCHOR in c.source]
    if len(cells) != 1:
        raise SystemExit(f"bench: no single train cell with {ANCHOR!r} in the {PLOT_EXERCISE} reference")
    cells[0].source = cells[0].source.replace(ANCHOR, ANCHOR + PLOTTING_LOOP.lstrip("\n"), 1)
    return nb


def one_student(course: Course, root: Path, exercises: list[str],
                notebook: nbformat.NotebookNode | None = None) -> Path:
    """A submissions folder with one student handing in the references (or `notebook` for its exercise)."""
    folder = root / "s00"
    folder.mkdir(parents=True)
    for exercise in exercises:
        nb = notebook if notebook is not None else nbformat.read(course.reference_notebook(exercise), as_version=4)
        nbformat.write(nb, folder / course.rubrics[exercise].notebook)
    return root


def as_grade_runs(batch: Path, out: Path, options: GradingOptions, workers: int,
                  notebooks: int) -> tuple[float, str, list[JobResult]]:
    """What `grade` does for a batch: the probe (its line) and a first run; (wall seconds, line, jobs)."""
    close_factories()  # a fresh `grade` process has no kernel factory yet, nor a fork server for its workers
    stop_fork_server()
    start = time.monotonic()
    LocalExecutor(workers).prepare(options, notebooks)  # as grade_batch does, before the probe
    line = probe_line(options.isolation, options.limits, options.warm_start, workers, notebooks)
    _, jobs = grade(batch, out, options, workers, use_cache=False)
    return time.monotonic() - start, line, jobs


def stop_fork_server() -> None:
    """Stop this process's fork server for workers, if one runs (multiprocessing's own test hook)."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


# -- 1. baseline ----------------------------------------------------------------------------------------------
def baseline(notebooks: list[Path], workdir: Path) -> list[dict]:
    from nbclient import NotebookClient

    rows = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=True, record_timing=True,
                                resources={"metadata": {"path": str(workdir)}})
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows.append({"notebook": f"{path.parent.name}/{path.name}", "wall": wall,
                     "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                     "cells": _cell_seconds(nb)})
    return rows


def _cell_seconds(nb: nbformat.NotebookNode) -> float:
    total = 0.0
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (end - start).total_seconds()
    return total


# -- 2./3. the grader -----------------------------------------------------------------------------------------
def grade(batch: Path, out: Path, options: GradingOptions, workers: int,
          use_cache: bool) -> tuple[float, list[JobResult]]:
    jobs: list[JobResult] = []
    start = time.monotonic()
    grade_batch(batch, out, options, workers=workers, use_cache=use_cache,
                instrumentation=Instrumentation(probe.install, probe.take_phases, jobs.append))
    return time.monotonic() - start, jobs


# -- 4. grade check -------------------------------------------------------------------------------------------
def self_check(course: Course, exercises: list[str], workdir: Path, repeat: int = 1) -> list[dict] | None:
    """Per exercise, `grade check` on its reference and the plain-Python run, alternating, `repeat` times:
    {"exercise", "check": [s], "plain": [s], "exit"}."""
    try:
        import grader.selfcheck  # noqa: F401
    except ImportError:
        return None
    rows = []
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for exercise in exercises:
        notebook = workdir / course.rubrics[exercise].notebook
        shutil.copyfile(course.reference_notebook(exercise), notebook)
        row: dict = {"exercise": exercise, "check": [], "plain": [], "exit": 0}
        for _ in range(repeat):
            start = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(notebook), "--course",
                                   str(course.root)], capture_output=True, text=True, cwd=workdir, env=env)
            row["check"].append(time.monotonic() - start)
            row["exit"] = row["exit"] or done.returncode
            start = time.monotonic()
            subprocess.run([sys.executable, "-c", PLAIN, str(notebook)], capture_output=True, text=True,
                           cwd=workdir, env=env, check=True)
            row["plain"].append(time.monotonic() - start)
        rows.append(row)
    return rows


def median_ratio(numerators: list[float], denominators: list[float]) -> tuple[float, int, str]:
    """The median of the paired ratios, the index of the pair it comes from, and every ratio as text."""
    ratios = [a / b for a, b in zip(numerators, denominators)]
    middle = sorted(range(len(ratios)), key=ratios.__getitem__)[(len(ratios) - 1) // 2]
    return ratios[middle], middle, ", ".join(f"{r:4.2f}x" for r in ratios)


# -- report ---
@dataclass
class Cases:
    """The single-student cases: `one` = {"warm"|"cold": (wall, probe line, jobs)} as `grade` runs them,
    `plot` = {"quiet"|"plotting": [(wall, jobs), ...]}, one pair per repetition."""

    one: dict[str, tuple[float, str, list[JobResult]]] = field(default_factory=dict)
    plot: dict[str, list[tuple[float, list[JobResult]]]] = field(default_factory=dict)


def fixed_cost(jobs: list[JobResult]) -> float:
    """The fixed cost per notebook, measured one way everywhere: kernel start + agent, mean over `jobs`; a
    worker's kernel factory start (once per worker, inside its first warm kernel start) is not in it."""
    starts = [j.timings.get("kernel_start", 0.0) + j.timings.get("agent", 0.0) - j.timings.get("factory", 0.0)
              for j in jobs]
    return sum(starts) / max(len(starts), 1)


def factory_starts(jobs: list[JobResult]) -> str:
    """The kernel factory starts the workers paid, e.g. `2 x 4.1 s`."""
    starts = [j.timings["factory"] for j in jobs if j.timings.get("factory")]
    return f"{len(starts)} x {sum(starts) / len(starts):.1f} s" if starts else "none"


def report_cases(cases: Cases) -> None:
    if cases.one:
        (warm_wall, warm_line, warm_jobs), (cold_wall, _, cold_jobs) = cases.one["warm"], cases.one["cold"]
        print(f"  one student, probe included: warm start allowed {warm_wall:5.1f} s, --cold-start {cold_wall:5.1f} s"
              f" = {warm_wall / cold_wall:4.2f}x (target <= 1.00x)")
        print(f"    with warm start allowed: {warm_line}; kernel start + agent per notebook "
              f"{fixed_cost(warm_jobs):5.2f} s warm-allowed, {fixed_cost(cold_jobs):5.2f} s cold")
    if cases.plot:
        ratio, middle, ratios = median_ratio([wall for wall, _ in cases.plot["plotting"]],
                                             [wall for wall, _ in cases.plot["quiet"]])
        (quiet_wall, quiet), (loop_wall, loop) = cases.plot["quiet"][middle], cases.plot["plotting"][middle]
        statuses = ", ".join(sorted({j.run.status for runs in cases.plot.values() for _, jobs in runs for j in jobs}))
        print(f"  lesson's plotting loop inside train: {loop_wall:5.1f} s vs quiet train {quiet_wall:5.1f} s = "
              f"{ratio:4.2f}x for the whole notebook (target <= 1.5x; {statuses}; the median of {ratios})")
        for name, jobs in (("quiet", quiet), ("plotting", loop)):
            t = jobs[0].timings if jobs else {}
            print(f"    {name:<8}: cells {t.get('cells', 0):5.1f} s, checks {t.get('checks', 0):5.1f} s (calls into the "
                  f"kernel {t.get('calls', 0):5.1f} s), kernel start + agent {fixed_cost(jobs):4.2f} s")
        verdicts = [sorted((o.check_id, o.status) for o in j.run.outcomes) for j in (*quiet, *loop)]
        if any(v != verdicts[0] for v in verdicts):
            print("    warning: the plotting loop changed a verdict: "
                  f"{[o for o in verdicts[-1] if o not in verdicts[0]]}")


def report(args: argparse.Namespace, base: list[dict], cold_wall: float, cold: list[JobResult], warm_wall: float,
           warm: list[JobResult], checks: list[dict] | None, cold_start: tuple[float, list[JobResult]] | None,
           warm_start: bool, probe_wall: float) -> None:
    print("\nbaseline: plain nbclient, fresh kernel per notebook, sequential, no sandbox, no checks")
    print(f"  {'notebook':<34} {'wall s':>7} {'cpu s':>7} {'cells s':>8}")
    for row in base:
        print(f"  {row['notebook']:<34} {row['wall']:7.2f} {row['cpu']:7.2f} {row['cells']:8.2f}")
    base_wall = sum(r["wall"] for r in base)

    print(f"\ngrader, first run: {args.workers} worker(s), torch threads {args.torch_threads}, no cache, kernels "
          f"start {'warm' if warm_start else 'cold (warm start is off, see above)'}")
    head = ("wall", "w.cpu", "k.cpu", "start", "agent", "cells", "checks", "calls", "other", "w.rss", "k.rss")
    print(f"  {'notebook':<34} " + " ".join(f"{h:>7}" for h in head) + "  status")
    phases = {k: 0.0 for k in ("wall", "cells", "checks", "kernel_start", "agent", "calls", "pytest", "ahead_start",
                               "ahead_kernels")}
    rss: dict[int, float] = {}
    for job in sorted(cold, key=lambda j: (j.student, j.exercise)):
        t = job.timings
        other = t["wall"] - t.get("kernel_start", 0) - t.get("agent", 0) - t.get("cells", 0) - t.get("checks", 0)
        for key in phases:
            phases[key] += t.get(key, 0.0)
        rss[int(t.get("pid", 0))] = max(rss.get(int(t.get("pid", 0)), 0.0), t["max_rss_mib"])
        values = (t["wall"], t["cpu"], t.get("kernel_cpu", 0), t.get("kernel_start", 0), t.get("agent", 0),
                  t.get("cells", 0), t.get("checks", 0), t.get("calls", 0), other, t["max_rss_mib"],
                  t.get("kernel_peak_rss_mib", 0))
        name = f"{job.student}/{job.run.notebook or job.exercise}"
        print(f"  {name:<34} " + " ".join(f"{v:7.2f}" if i < 9 else f"{v:7.0f}" for i, v in enumerate(values))
              + f"  {job.run.status}")
    print("  (seconds; w = worker process, k = kernel; start = kernel start; agent = the grader's code going into "
          "the kernel, which imports torch for the notebook; other = the rest of the wall time; rss in MiB)")
    for pid, peak in sorted(rss.items()):
        print(f"  worker pid {pid}: peak RSS {peak:.0f} MiB")

    student = phases["cells"] + phases["checks"]
    slots = args.workers * cold_wall
    print("\nsummary")
    print(f"  baseline (sequential plain nbclient)  {base_wall:8.1f} s for {len(base)} notebooks")
    print(f"  grader, first run, as `grade` runs it {probe_wall + cold_wall:8.1f} s   baseline/first = "
          f"{base_wall / (probe_wall + cold_wall):5.2f}x   (target >= 3x, aim 6x)")
    print(f"    the probe before the batch {probe_wall:.1f} s (it starts the one kernel factory the workers share), "
          f"the batch {cold_wall:.1f} s = {base_wall / cold_wall:5.2f}x")
    if cold_start is not None:
        cold_start_wall, cold_start_jobs = cold_start
        print(f"  grader, first run, cold kernel start  {cold_start_wall:8.1f} s   baseline/cold = "
              f"{base_wall / cold_start_wall:5.2f}x   warm start is {cold_start_wall / cold_wall:4.2f}x faster")
        print(f"    kernel start + agent per notebook: cold {fixed_cost(cold_start_jobs):5.2f} s, warm "
              f"{fixed_cost(cold):5.2f} s (factory starts apart: {factory_starts(cold)})")
    print(f"  fixed cost per notebook (kernel start + agent, first run): {fixed_cost(cold):5.2f} s, kernels started "
          f"{'warm' if warm_start else 'cold'} (target < 0.3 s warm); kernel factory starts: {factory_starts(cold)}")
    print(f"  grader, second run (cache)            {warm_wall:8.1f} s   baseline/second = "
          f"{base_wall / max(warm_wall, 1e-9):5.1f}x   notebooks run again: {len(warm)}")
    if phases["ahead_kernels"]:
        print(f"    kernels started on a thread, off the job's path: {phases['ahead_kernels']:.0f}, "
              f"{phases['ahead_start'] / phases['ahead_kernels']:.2f} s each (the next job's kernel starts while a "
              f"notebook runs; the fixed cost above is what a job still waited for its kernel)")
    if cold:
        wall = phases["wall"]
        # A cold kernel's agent imports torch, which the notebook would otherwise import in its cells; a warm
        # kernel has torch from its factory, so its agent's time is the grader's own.
        credited = 0.0 if warm_start else phases["agent"]
        print(f"  grader overhead: {100 * (1 - (student + credited) / wall):5.1f} % of the jobs' wall time is "
              f"neither student cells, nor check functions{'' if warm_start else ', nor the torch import the agent does for the notebook'} "
              f"(target < 10 %)")
        print(f"    counting the agent as overhead too: {100 * (1 - student / wall):5.1f} %; counting idle worker "
              f"time as well: {100 * (1 - (student + credited) / slots):5.1f} % of {args.workers} x "
              f"{cold_wall:.1f} s")
        print(f"    of the jobs' wall time: kernel start {100 * phases['kernel_start'] / wall:4.1f} %, agent "
              f"{100 * phases['agent'] / wall:4.1f} %, cells {100 * phases['cells'] / wall:4.1f} %, checks "
              f"{100 * phases['checks'] / wall:4.1f} % (calls into the kernel {100 * phases['calls'] / wall:4.1f} %), "
              f"pytest around the checks {100 * (phases['pytest'] - phases['checks']) / wall:4.1f} %")
        print(f"  student cells: baseline {sum(r['cells'] for r in base):.1f} s (torch imports included), in the "
              f"grader {phases['cells']:.1f} s + agent {phases['agent']:.1f} s")
    if checks is None:
        print("  grade check: skipped, or not in this grader")
    for row in checks or []:
        ratio, middle, ratios = median_ratio(row["check"], row["plain"])
        print(f"  grade check {row['exercise']:<20} {row['check'][middle]:6.1f} s vs plain python + torch "
              f"{row['plain'][middle]:6.1f} s = {ratio:4.2f}x (target <= 1.5x; exit {row['exit']}; the median of "
              f"{ratios})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--course", type=Path, default=HERE.parent)
    parser.add_argument("--exercises", default=None, help="comma-separated exercise ids (default: all)")
    parser.add_argument("--isolation", default="auto", choices=["auto", "strict", "none"])
    parser.add_argument("--keep", type=Path, default=None, help="generate into this folder and keep it")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-check", action="store_true")
    parser.add_argument("--skip-cold-start", action="store_true", help="do not grade the batch with cold kernels")
    parser.add_argument("--skip-one-student", action="store_true", help="no one-student batch warm vs cold")
    parser.add_argument("--skip-plotting", action="store_true", help="no case with the lesson's plotting loop")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each single-notebook case (plotting loop, grade check); the median is printed")
    args = parser.parse_args()
    args.torch_threads = args.torch_threads or default_torch_threads(args.workers)

    course = load_course(args.course)
    exercises = args.exercises.split(",") if args.exercises else list(course.rubrics)
    root = args.keep or Path(tempfile.mkdtemp(prefix="grader-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; batch in {root}", flush=True)
        notebooks = make_batch(course, root / "submissions", args.students, exercises)
        work = root / "work"
        work.mkdir()
        print(f"{args.students} students, {len(notebooks)} notebooks; baseline ...", flush=True)
        base = [] if args.skip_baseline else baseline(notebooks, work)
        options = GradingOptions(course, resolve_isolation(args.isolation), Limits(torch_threads=args.torch_threads),
                                 SECRET)
        start = time.monotonic()
        LocalExecutor(args.workers).prepare(options, len(notebooks))  # as grade_batch does, before the probe
        line = probe_line(options.isolation, options.limits, True, args.workers, len(notebooks))
        probe_wall = time.monotonic() - start
        warm_on = line.startswith("kernels: warm start on")
        print(f"{line} (the probe before the batch took {probe_wall:.1f} s)", flush=True)
        print("grader, first run ...", flush=True)
        cold_wall, cold = grade(root / "submissions", root / "graded", options, args.workers, use_cache=False)
        print("grader, second run ...", flush=True)
        warm_wall, warm = grade(root / "submissions", root / "graded", options, args.workers, use_cache=True)
        cold_start = None
        if not args.skip_cold_start and warm_on:
            print("grader, first run with cold kernel starts ...", flush=True)
            close_factories()
            cold_start = grade(root / "submissions", root / "graded-cold", replace(options, warm_start=False),
                               args.workers, use_cache=False)
        cases = Cases()
        if not args.skip_one_student:
            print("one student, as `grade` runs it (probe included), warm start allowed / --cold-start ...", flush=True)
            batch = one_student(course, root / "one", exercises)
            for key, allowed in (("warm", True), ("cold", False)):
                cases.one[key] = as_grade_runs(batch, root / f"one-{key}", replace(options, warm_start=allowed),
                                               args.workers, len(exercises))
        if not args.skip_plotting and PLOT_EXERCISE in course.rubrics:
            print("the lesson's plotting loop inside train, against the quiet reference ...", flush=True)
            for run in range(args.repeat):  # alternating, so that a slower minute of the machine hits both
                for key, nb in (("quiet", None), ("plotting", plotting_notebook(course))):
                    batch = one_student(course, root / f"plot-{key}-{run}", [PLOT_EXERCISE], nb)
                    cases.plot.setdefault(key, []).append(
                        grade(batch, root / f"plot-{key}-{run}-out", options, 1, use_cache=False))
        checks = None if args.skip_check else self_check(course, exercises, work, args.repeat)
        if not base:
            base = [{"notebook": "(skipped)", "wall": float("nan"), "cpu": float("nan"), "cells": float("nan")}]
        report(args, base, cold_wall, cold, warm_wall, warm, checks, cold_start, warm_on, probe_wall)
        report_cases(cases)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
