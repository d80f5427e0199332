"""Where a course's material lives: rubrics, checks, reference solutions, exercises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .errors import CourseError, UsageError
from .rubric import Rubric, load_rubrics


@dataclass(frozen=True)
class Course:
    """A course folder laid out as `rubrics/`, `rubrics/checks/`, `reference/`, `exercises/`."""

    root: Path
    rubrics: dict[str, Rubric]

    def check_dir(self, exercise: str, visibility: str) -> Path:
        return self.root / "rubrics" / "checks" / exercise / visibility

    def reference_notebook(self, exercise: str) -> Path:
        return self.root / "reference" / self.rubrics[exercise].notebook

    def exercise_notebook(self, exercise: str) -> Path:
        return self.root / "exercises" / self.rubrics[exercise].notebook

    def wrong_solutions(self, exercise: str) -> list[Path]:
        return sorted((self.root / "reference" / "wrong" / exercise).glob("*.py"))

    def notebook_names(self) -> dict[str, str]:
        return {exercise: rubric.notebook for exercise, rubric in self.rubrics.items()}

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.rubrics.values())


def load_course(root: Path) -> Course:
    """Load a course folder; its rubrics are validated now, so a bad one stops before any grading."""
    root = root.resolve()
    if not (root / "rubrics").is_dir():
        raise UsageError(f"{root} is not a course folder (no rubrics/ in it); use --course")
    return Course(root, load_rubrics(root / "rubrics"))


def find_course(start: Path) -> Path:
    """The nearest folder at or above `start` that holds rubrics/ (a course or a student bundle)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "rubrics").is_dir():
            return folder
    raise UsageError(f"no course folder (one holding rubrics/) at or above {start}; use --course")


def read_course_notebook(path: Path) -> NotebookNode:
    """A notebook of the course itself (reference/ or exercises/): one that does not read is the course's fault."""
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise CourseError(f"{path}: not found") from None
    except Exception as exc:  # nbformat raises several unrelated types for unreadable files
        raise CourseError(f"{path}: cannot be read as a notebook ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:300]})") from None
