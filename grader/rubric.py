"""Rubrics: points, visibility and hints per check, loaded from TOML and validated against a JSON Schema."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema

from .errors import RubricError


@dataclass(frozen=True)
class CheckSpec:
    """One automatic check: `<exercise>.<question>.<name>`."""

    exercise: str
    question: str
    name: str
    points: float
    visibility: str  # public | hidden | after_due_date (graded like hidden, shown after the due date)
    hint: str
    hint_zh: str = ""

    @property
    def id(self) -> str:
        return f"{self.exercise}.{self.question}.{self.name}"


@dataclass(frozen=True)
class ManualSpec:
    """A written answer graded by a person; `answer` is the id of the answer cell in the notebook.

    `hint` is the student's; `note` (the model answer, the marking scheme) is the instructor's only: it is shown
    in `grade review` and written nowhere a student reads (not the student bundle, reports or feedback).
    """

    exercise: str
    question: str
    name: str
    points: float
    hint: str
    answer: str
    hint_zh: str = ""
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.exercise}.{self.question}.{self.name}"


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    checks: tuple[CheckSpec, ...]
    manual: tuple[ManualSpec, ...]
    title_zh: str = ""
    uses: tuple[str, ...] = ()  # the notebook's functions (and classes) this question's checks depend on

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks) + sum(m.points for m in self.manual)


@dataclass(frozen=True)
class Rubric:
    exercise: str
    title: str
    notebook: str
    questions: tuple[Question, ...]
    path: Path

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def checks(self) -> dict[str, CheckSpec]:
        return {c.id: c for q in self.questions for c in q.checks}


@lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("grader").joinpath("schemas/rubric.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_rubric(path: Path) -> Rubric:
    """Parse and validate one rubric file; RubricError names the file and the offending field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RubricError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        raise RubricError(f"{path}: field {where}: {first.message}")
    exercise = data["exercise"]
    questions = []
    for qid, q in data["questions"].items():
        checks = tuple(
            CheckSpec(exercise, qid, name, float(c["points"]), c["visibility"], c["hint"], c.get("hint_zh", ""))
            for name, c in q.get("checks", {}).items()
        )
        manual = tuple(
            ManualSpec(exercise, qid, name, float(m["points"]), m["hint"], m.get("answer", qid), m.get("hint_zh", ""),
                       m.get("note", ""))
            for name, m in q.get("manual", {}).items()
        )
        questions.append(Question(qid, q.get("title", qid), checks, manual, q.get("title_zh", ""),
                                  tuple(q.get("uses", ()))))
    return Rubric(exercise, data.get("title", exercise), data["notebook"], tuple(questions), path)


def load_rubrics(directory: Path) -> dict[str, Rubric]:
    """All rubrics in a folder, by exercise id; duplicate exercise ids are an error."""
    if not directory.is_dir():
        raise RubricError(f"rubrics folder not found: {directory}")
    rubrics: dict[str, Rubric] = {}
    for path in sorted(directory.glob("*.toml")):
        rubric = load_rubric(path)
        if rubric.exercise in rubrics:
            raise RubricError(f"{path}: field exercise: {rubric.exercise!r} is also defined in {rubrics[rubric.exercise].path}")
        rubrics[rubric.exercise] = rubric
    if not rubrics:
        raise RubricError(f"{directory}: no rubric (*.toml) found")
    return rubrics
