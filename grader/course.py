"""Where a course's material lives: rubrics, checks, reference solutions, exercises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
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
