"""Where everything lives in an OUT folder: the one place that names its files and folders.

    OUT/
      gradebook.csv, summary.html, junit.xml, gradebook_canvas.csv     the class (instructor)
      <student>/report.json, <notebook>.ipynb, feedback.html, ...      one folder per student (theirs to see)
      .instructor/                                                     never shown to students
        <student>.json          check tracebacks, stray files, grader errors
        cache/<student>/<exercise>.json
        intake/                 the last Canvas or Moodle zip, unpacked
        secret, lock
        scores.json             scores given by a person (grader/scorestore.py)
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from .errors import UsageError

INSTRUCTOR = ".instructor"
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
    def student_dir(self, student: str) -> Path:
        """OUT/<student>, refusing ids that would lead anywhere else (a report edited by hand)."""
        if not student or student in (".", "..") or "/" in student or "\x00" in student:
            raise UsageError(f"report for {student!r}: not a usable student id")
        return self.root / student

    def report(self, student: str) -> Path:
        return self.student_dir(student) / REPORT

    def executed(self, student: str, notebook: str) -> Path:
        """The executed copy of a student's notebook (`notebook` is its file name)."""
        return self.student_dir(student) / Path(notebook).name

    def feedback_html(self, student: str) -> Path:
        return self.student_dir(student) / FEEDBACK_HTML

    def feedback_md(self, student: str) -> Path:
        return self.student_dir(student) / FEEDBACK_MD

    def gradescope_results(self, student: str) -> Path:
        return self.student_dir(student) / GRADESCOPE_RESULTS

    def reports(self) -> list[Path]:
        """Every student's report.json on disk, sorted by path."""
        return sorted(self.root.glob(f"*/{REPORT}"))

    @staticmethod
    def feedback_href(student: str) -> str:
        """The relative link from a file at OUT's top (summary.html) to a student's feedback.html."""
        return quote(student, safe="") + "/" + FEEDBACK_HTML

    # -- the instructor's ---------------------------------------------------------------------------------------
    def instructor_dir(self) -> Path:
        return self.root / INSTRUCTOR

    def details(self, student: str) -> Path:
        """The instructor's details of one student's run (check tracebacks, stray files, grader errors)."""
        return self.instructor_dir() / f"{student}.json"

    def cache_dir(self) -> Path:
        return self.instructor_dir() / "cache"

    def intake_dir(self) -> Path:
        return self.instructor_dir() / "intake"

    def secret(self) -> Path:
        return self.instructor_dir() / "secret"

    def lock(self) -> Path:
        return self.instructor_dir() / "lock"

    def scores(self) -> Path:
        """The score store: every score a person gave (grader/scorestore.py)."""
        return self.instructor_dir() / "scores.json"

    def partial_files(self) -> Iterator[Path]:
        """Temporary files a killed run left behind (write_atomic's `.<name>.<random>.tmp`)."""
        return (path for path in self.root.rglob(".*.tmp") if path.is_file())
