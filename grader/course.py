"""Where a course's material lives: rubrics, checks, reference solutions, exercises; and course.toml.

`course.toml` at the course root (optional, validated against schemas/course.schema.json) holds what is
the course's rather than an exercise's: a due date per exercise, the course's time zone (due dates without
an offset are in it), the late policy and per-student extensions (grader/late.py applies them).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import nbformat
from nbformat import NotebookNode

from .errors import CourseError, UsageError
from .rubric import Rubric, load_rubrics

COURSE_FILE = "course.toml"


@dataclass(frozen=True)
class LatePolicy:
    """none: late work counts in full; per_day: `per_day` of the score off per day late, at most `cap`;
    not_accepted: a late exercise scores 0."""

    kind: str = "none"
    per_day: float = 0.0
    cap: float = 1.0

    def fraction(self, days: int) -> float:
        """The part of the score taken for `days` days late (0 when on time)."""
        if days <= 0 or self.kind == "none":
            return 0.0
        if self.kind == "not_accepted":
            return 1.0
        return min(self.cap, self.per_day * days)


@dataclass(frozen=True)
class Extension:
    student: str
    days: float
    exercise: str | None = None  # None: every exercise


@dataclass(frozen=True)
class CourseSettings:
    """course.toml; every part optional (no file: no due dates, late work counts in full)."""

    timezone: dt.tzinfo | None = None
    due: dict[str, dt.datetime] = field(default_factory=dict)  # exercise -> due date (aware when a zone is known)
    late: LatePolicy = LatePolicy()
    extensions: tuple[Extension, ...] = ()

    def due_date(self, exercise: str, student: str | None = None) -> dt.datetime | None:
        """The exercise's due date, moved by the student's extensions when `student` is given."""
        due = self.due.get(exercise)
        if due is None or student is None:
            return due
        days = sum(e.days for e in self.extensions if e.student == student and e.exercise in (None, exercise))
        return due + dt.timedelta(days=days)

    def last_due(self) -> dt.datetime | None:
        """The latest due date: the default for --due (after_due_date checks shown once every exercise is due)."""
        return max(self.due.values(), default=None)


@lru_cache(maxsize=1)
def _course_schema() -> dict[str, Any]:
    return json.loads(resources.files("grader").joinpath("schemas/course.schema.json").read_text(encoding="utf-8"))


def _jsonable(value: Any) -> Any:
    """TOML dates and times as ISO strings, so one JSON schema checks both spellings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def load_course_settings(root: Path, exercises: set[str] | None = None) -> CourseSettings:
    """course.toml under `root`, validated; CourseError names what is wrong (an unknown exercise too)."""
    path = root / COURSE_FILE
    if not path.is_file():
        return CourseSettings()
    try:
        data = _jsonable(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"{path}: cannot be read ({exc})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_course_schema()).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise CourseError(f"{path}: {where}: {error.message}")
    zone = None
    if "timezone" in data:
        try:
            zone = ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise CourseError(f"{path}: timezone: unknown time zone {data['timezone']!r}") from None
    named = set(data.get("due", {})) | {e["exercise"] for e in data.get("extensions", []) if "exercise" in e}
    unknown = sorted(named - exercises) if exercises is not None else []
    if unknown:
        raise CourseError(f"{path}: no such exercise {', '.join(unknown)} (the course has {', '.join(sorted(exercises or ()))})")
    late = data.get("late", {})
    return CourseSettings(
        zone, {ex: _due(text, zone, path) for ex, text in data.get("due", {}).items()},
        LatePolicy(late.get("policy", "none"), float(late.get("per_day", 0.0)), float(late.get("cap", 1.0))),
        tuple(Extension(e["student"], float(e["days"]), e.get("exercise")) for e in data.get("extensions", [])))


def _due(text: str, zone: dt.tzinfo | None, path: Path) -> dt.datetime:
    """A due date: a date alone is due at its end (23:59:59); no offset means the course's zone."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CourseError(f"{path}: due: {text!r} is not a date") from None
    if len(text) == 10:
        value = value.replace(hour=23, minute=59, second=59)
    return value.replace(tzinfo=zone) if value.tzinfo is None and zone is not None else value


@dataclass(frozen=True)
class Course:
    """A course folder laid out as `rubrics/`, `rubrics/checks/`, `reference/`, `exercises/`."""

    root: Path
    rubrics: dict[str, Rubric]
    settings: CourseSettings = CourseSettings()

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
    rubrics = load_rubrics(root / "rubrics")
    return Course(root, rubrics, load_course_settings(root, set(rubrics)))


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
