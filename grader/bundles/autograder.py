"""What the Gradescope bundle's `run_autograder` runs: grade one submission, write results/results.json.

`python -m grader.bundles.autograder` reads the course and secret from ROOT/source (the unpacked bundle),
grades the notebooks found in ROOT/submission exactly as `grade run` would (same engine, same secret), and
writes ROOT/results/results.json in Gradescope's format (grader/reporters/gradescope.py). ROOT is
$GRADER_AUTOGRADER_ROOT, default /autograder. Whatever happens, a results.json is written: an empty or
broken submission gets its per-exercise messages, a grader failure a score of 0 with a one-line reason
(the traceback goes to stderr, which only the instructor sees).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from ..discovery import MAX_EXTRA_FILE_BYTES
from ..errors import GraderError
from ..files import write_atomic
from .gradescope import CONFIG, COURSE_DIR, SECRET

ROOT_ENV = "GRADER_AUTOGRADER_ROOT"
DEFAULT_ROOT = Path("/autograder")
DEFAULT_STUDENT = "student"
SKIP_DIRS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}


def autograder_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def student_id(root: Path) -> str:
    """Who submitted: the first user's email in Gradescope's submission_metadata.json, else `student`.

    Hidden random inputs are drawn from the secret and this id, so `grade run` over a folder named by the
    student's email gives the same grade.
    """
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        email = str(meta["users"][0]["email"]).strip()
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return DEFAULT_STUDENT
    if not email or email in (".", "..") or "/" in email or "\x00" in email or email.startswith("."):
        return DEFAULT_STUDENT
    return email


def stage_submission(submission: Path, folder: Path) -> list[str]:
    """Copy the student's notebooks (found at any depth) and the files beside them into `folder`.

    Returns the names of the notebooks copied. A second notebook of the same name deeper down is left out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    notebooks: list[str] = []
    if not submission.is_dir():
        return notebooks
    found = sorted((p for p in submission.rglob("*.ipynb") if _visible(p, submission)),
                   key=lambda p: (len(p.relative_to(submission).parts), str(p)))
    homes = set()
    for path in found:
        if path.name in notebooks or path.is_symlink() or not path.is_file():
            continue
        shutil.copyfile(path, folder / path.name)
        notebooks.append(path.name)
        homes.add(path.parent)
    for home in homes:
        for extra in sorted(home.iterdir()):
            if (extra.is_file() and not extra.is_symlink() and extra.suffix.lower() != ".ipynb"
                    and not extra.name.startswith(".") and extra.stat().st_size <= MAX_EXTRA_FILE_BYTES
                    and not (folder / extra.name).exists()):
                shutil.copyfile(extra, folder / extra.name)
    return notebooks


def _visible(path: Path, root: Path) -> bool:
    return not any(part in SKIP_DIRS or part.startswith(".") for part in path.relative_to(root).parts)


def grade_submission(root: Path) -> dict[str, Any]:
    """Grade ROOT/submission with the course in ROOT/source; the Gradescope results dict."""
    from ..batch import grade_batch
    from ..options import grading_options
    from ..reporters.gradescope import gradescope_results

    source = root / "source"
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    secret = os.environ.get("GRADER_SECRET", "").encode("utf-8") or (source / SECRET).read_bytes().strip()
    options = grading_options(source / COURSE_DIR, isolation=config.get("isolation", "auto"), secret=secret)
    course = options.course
    if options.isolation.warning:
        print(f"warning: {options.isolation.warning}", file=sys.stderr)
    student = student_id(root)
    with tempfile.TemporaryDirectory(prefix="grader-autograder-") as tmp:
        submissions, out = Path(tmp) / "submissions", Path(tmp) / "graded"
        notebooks = stage_submission(root / "submission", submissions / student)
        reports = grade_batch(submissions, out, options, workers=1, use_cache=False)
    results = gradescope_results(reports[0], course, config.get("lang", "en"))
    if not notebooks:
        expected = ", ".join(r.notebook for r in course.rubrics.values())
        results["output"] = f"No notebook (.ipynb) found in your submission; expected {expected}.\n" + results["output"]
    return results


def failure_results(exc: BaseException) -> dict[str, Any]:
    """What Gradescope shows when the grader itself failed: 0 points and a one-line reason."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return {"score": 0.0, "output": f"The autograder could not grade this submission ({reason}); "
                                    "your instructor has been told.",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def main() -> int:
    """Grade and write results.json; 0 once it is written, 3 when even that failed."""
    root = autograder_root()
    try:
        results = grade_submission(root)
    except BaseException as exc:  # never leave Gradescope without results
        traceback.print_exc(file=sys.stderr)
        results = failure_results(exc)
    try:
        write_atomic(root / "results" / "results.json", json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    except (OSError, GraderError) as exc:  # GraderError: files.py's DiskFull or ReadOnlyOut
        print(f"error: cannot write {root / 'results' / 'results.json'}: {exc}", file=sys.stderr)
        return 3
    print(f"score {results['score']:g}; results in {root / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
