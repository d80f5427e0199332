"""Where everything lives in an OUT folder: the one place that names its files and folders.

    OUT/
      gradebook.csv, summary.html, junit.xml, gradebook_canvas.csv     the class (instructor)
      students/<id>/report.json, <notebook>.ipynb, feedback.html, ...  one folder per student (theirs to see)
      .instructor/                                                     never shown to students
        students.json           which folder holds which student id
        students/<id>.json      check tracebacks, stray files, grader errors
        cache/<id>/<exercise>.json
        intake/                 the last Canvas or Moodle zip, unpacked
        scores.json             scores given by a person (grader/scorestore.py)
        secret, lock

`<id>` is the student id as a file name (grader/names.py: kept as it is when safe, else escaped), so no
student's name can meet a file of the grader's. An OUT written before this layout (`OUT/<student>/report.json`,
`.instructor/<student>.json`) is moved into it by `migrate_legacy` before it is read or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from .errors import UsageError
from .files import write_atomic
from .names import safe_file_name, safe_name

INSTRUCTOR = ".instructor"
STUDENTS = "students"
REPORT = "report.json"
FEEDBACK_HTML = "feedback.html"
FEEDBACK_MD = "feedback.md"
GRADESCOPE_RESULTS = "results.json"


class OutLayout:
    """The paths of one OUT folder. Nothing is created here: callers write what they need."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- the class ---------------------------------------------------------------------------------------------
    def gradebook(self) -> Path:
        return self.root / "gradebook.csv"

    def summary(self) -> Path:
        return self.root / "summary.html"

    def junit(self) -> Path:
        return self.root / "junit.xml"

    def canvas_gradebook(self) -> Path:
        return self.root / "gradebook_canvas.csv"

    # -- one student -------------------------------------------------------------------------------------------
    def students_dir(self) -> Path:
        return self.root / STUDENTS

    def student_dir(self, student: str) -> Path:
        """OUT/students/<id>, the id escaped where it is not a safe file name."""
        if not isinstance(student, str) or not student:
            raise UsageError(f"report for {student!r}: not a usable student id")
        return self.students_dir() / safe_name(student)

    def report(self, student: str) -> Path:
        return self.student_dir(student) / REPORT

    def executed(self, student: str, notebook: str) -> Path:
        """The executed copy of a student's notebook (`notebook` is its file name)."""
        return executed_in(self.student_dir(student), notebook)

    def feedback_html(self, student: str) -> Path:
        return self.student_dir(student) / FEEDBACK_HTML

    def feedback_md(self, student: str) -> Path:
        return self.student_dir(student) / FEEDBACK_MD

    def gradescope_results(self, student: str) -> Path:
        return self.student_dir(student) / GRADESCOPE_RESULTS

    def reports(self) -> list[Path]:
        """Every student's report.json on disk, sorted by path."""
        return sorted(self.students_dir().glob(f"*/{REPORT}"))

    @staticmethod
    def feedback_href(student: str) -> str:
        """The relative link from a file at OUT's top (summary.html) to a student's feedback.html."""
        return f"{STUDENTS}/{quote(safe_name(student), safe='')}/{FEEDBACK_HTML}"

    # -- the instructor's ---------------------------------------------------------------------------------------
    def instructor_dir(self) -> Path:
        return self.root / INSTRUCTOR

    def details(self, student: str) -> Path:
        """The instructor's details of one student's run (check tracebacks, stray files, grader errors)."""
        return self.instructor_dir() / STUDENTS / f"{safe_name(student)}.json"

    def students_map(self) -> Path:
        """Which folder under OUT/students holds which student id."""
        return self.instructor_dir() / "students.json"

    def cache_dir(self) -> Path:
        return self.instructor_dir() / "cache"

    def cache_entry(self, student: str, exercise: str) -> Path:
        return self.cache_dir() / safe_name(student) / f"{safe_name(exercise)}.json"

    def intake_dir(self) -> Path:
        return self.instructor_dir() / "intake"

    def secret(self) -> Path:
        return self.instructor_dir() / "secret"

    def lock(self) -> Path:
        return self.instructor_dir() / "lock"

    def scores(self) -> Path:
        """The score store: every score a person gave (grader/scorestore.py)."""
        return self.instructor_dir() / "scores.json"

    def near_copies(self) -> Path:
        """The near-copy pairs of the last export (grader/similarity.py), for `grade review`'s queue."""
        return self.instructor_dir() / "near_copies.json"

    def partial_files(self) -> Iterator[Path]:
        """Temporary files a killed run left behind (write_atomic's `.<name>.<random>.tmp`)."""
        return (path for path in self.root.rglob(".*.tmp") if path.is_file())

    def record_students(self, students: list[str]) -> None:
        """Write the id -> folder map of `students` (merged with what is recorded already)."""
        try:
            known = json.loads(self.students_map().read_text(encoding="utf-8"))
            known = known if isinstance(known, dict) else {}
        except (OSError, ValueError):
            known = {}
        known.update({safe_name(s): s for s in students})
        write_atomic(self.students_map(), json.dumps(dict(sorted(known.items())), ensure_ascii=False, indent=2),
                     mode=0o600)


def executed_in(student_dir: Path, notebook: str) -> Path:
    """The executed copy of notebook `notebook` (a file name, as a report names it) in a student's folder."""
    return student_dir / safe_file_name(Path(notebook).name or "notebook")


def migrate_legacy(layout: OutLayout) -> list[str]:
    """Move an OUT of the old layout (OUT/<student>/report.json) into this one; returns the ids moved.

    The id comes from each report (its folder name when the report cannot be read); a folder whose new place
    is taken already (a newer run) is left where it is.
    """
    moved = []
    for report in sorted(layout.root.glob(f"*/{REPORT}")):
        folder = report.parent
        if folder.is_symlink() or folder.name == INSTRUCTOR:
            continue
        if folder.name == STUDENTS:  # an old student named "students": out of the way of the new folder first
            aside = layout.root / ".students.legacy"
            os.replace(folder, aside)
            folder, report = aside, aside / REPORT
        try:
            student = json.loads(report.read_text(encoding="utf-8"))["student"]
            student = student if isinstance(student, str) and student else folder.name
        except (OSError, ValueError, KeyError, TypeError):
            student = folder.name
        target = layout.student_dir(student)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, target)
        name = STUDENTS if folder.name == ".students.legacy" else folder.name
        for old, new in ((layout.instructor_dir() / f"{name}.json", layout.details(student)),
                         (layout.cache_dir() / name, layout.cache_dir() / safe_name(student))):
            if old.exists() and not new.exists() and old != new:
                new.parent.mkdir(parents=True, exist_ok=True)
                os.replace(old, new)
        moved.append(student)
    if moved:
        layout.record_students(moved)
    return moved
