"""Benchmark: the grader process's peak memory when a notebook floods it with messages (issue 14, item 4).

    python bench/flood.py [--isolation auto] [--workers-bound-mib 600]

Grades the autograd reference notebook once as it is (the baseline) and once per flood case (the same notebook
with flooding cells appended), each in a fresh process (peak RSS, `ru_maxrss`, never goes down within one), and
prints each run's peak RSS, its excess over the baseline, the executed notebook's size and the cell notes that
name what was cut. The flood cases: display updates that multiply one large output
over many displays, 100 widget messages of 15 MiB, one message of many frames (4 x 50 x 16 MiB), and
messages just under the relay's cap plus a print flood. Nothing is asserted; the bound is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOODS = {
    "baseline": (),
    "display_updates": (
        "from IPython.display import display, update_display\n"
        "for _ in range(40):\n    display({'text/plain': 'small'}, display_id='flood', raw=True)\n"
        "for i in range(20):\n"
        "    update_display({'text/plain': str(i) * (3 * 1024**2)}, display_id='flood', raw=True)",
    ),
    "widget_state": (
        "from comm import create_comm\n"
        "flood = create_comm(target_name='flood', data={'state': {}})\n"
        "for i in range(100):\n"
        "    flood.send({'method': 'update', 'state': {f'k{i}': 'z' * (15 * 1024**2)}, 'buffer_paths': []})",
    ),
    "many_buffers": (
        "from comm import create_comm\n"
        "flood = create_comm(target_name='flood', data={'state': {}})\n"
        "chunk = b'b' * (16 * 1024**2)\n"
        "for i in range(4):\n"
        "    flood.send({'method': 'update', 'state': {}, 'buffer_paths': [['k', str(j)] for j in range(50)]},\n"
        "               buffers=[chunk] * 50)",
    ),
    "near_the_cap": (  # messages just under the relay's IOPub cap (32 MiB): passed on, cut by the output budget
        "from comm import create_comm\n"
        "flood = create_comm(target_name='flood', data={'state': {}})\n"
        "chunk = b'n' * (31 * 1024**2)\n"
        "for i in range(30):\n"
        "    flood.send({'method': 'update', 'state': {}, 'buffer_paths': [['k']]}, buffers=[chunk])",
        "import sys\nfor _ in range(3000):\n    sys.stdout.write('x' * 100_000 + '\\n')",
    ),
}


def child(case: str, isolation: str) -> None:
    """Grade the flooded notebook in this process and print one JSON line about it."""
    sys.path.insert(0, str(ROOT))
    import nbformat

    from grader.exercise import grade_notebook
    from grader.course import load_course
    from grader.options import GradingOptions
    from grader.sandbox import Limits, resolve_isolation

    course = load_course(ROOT)
    nb = nbformat.read(course.reference_notebook("autograd"), as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in FLOODS[case]]
    options = GradingOptions(course, resolve_isolation(isolation), Limits(), b"flood-bench-secret")
    started = time.monotonic()
    graded = grade_notebook(nb, "autograd", "flood", [], options)
    seconds = time.monotonic() - started
    result = graded.result
    print(json.dumps({
        "case": case,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": seconds,
        "score": f"{result.score:g}/{result.max_score:g}",
        "notebook_mib": len(nbformat.writes(graded.executed)) / 1024**2 if graded.executed is not None else 0.0,
        "notes": [f"cell {c.cell_index}: {c.kind}: {c.message}" for c in result.cells],
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--isolation", default="auto", choices=["auto", "strict", "none"])
    parser.add_argument("--bound-mib", type=float, default=600, help="the stated bound per worker")
    parser.add_argument("--child", choices=sorted(FLOODS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.isolation)
        return
    rows = []
    for case in FLOODS:
        done = subprocess.run([sys.executable, __file__, "--child", case, "--isolation", args.isolation],
                              capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            print(f"{case}: failed (exit {done.returncode})\n{done.stderr[-3000:]}")
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = next((r["peak_rss_mib"] for r in rows if r["case"] == "baseline"), None)
    print(f"grader process peak RSS (bound: {args.bound_mib:.0f} MiB per worker)")
    for r in rows:
        excess = f"{r['peak_rss_mib'] - base:+8.0f} MiB" if base is not None else ""
        verdict = "ok" if r["peak_rss_mib"] <= args.bound_mib else "OVER THE BOUND"
        print(f"  {r['case']:<16} {r['peak_rss_mib']:8.0f} MiB {excess}  {verdict:<14} {r['seconds']:6.1f} s  "
              f"score {r['score']:<6} executed notebook {r['notebook_mib']:.1f} MiB")
        for note in r["notes"]:
            print(f"      {note}")


if __name__ == "__main__":
    main()
