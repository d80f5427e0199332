"""`grade verify`: prove the course's checks right before students ever see them.

Every rubric validates; exercises/ is exactly what `grade assign` builds; each reference scores full
automatic marks; each blank exercise scores zero; each known-wrong solution loses points on its own question
and keeps full marks everywhere else.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Callable

import nbformat
from nbformat import NotebookNode

from .assign import build_exercise
from .batch import GradedNotebook, GradingOptions, grade_notebook
from .course import Course
from .models import ExerciseResult
from .rubric import Rubric
from .sandbox import Limits, resolve_isolation

Log = Callable[[str], None]


def automatic_score(result: ExerciseResult, rubric: Rubric) -> tuple[float, float]:
    """Points and maximum of the automatic checks only (written answers left out)."""
    automatic = rubric.checks()
    checks = [c for q in result.questions for c in q.checks if c.id in automatic]
    return sum(c.points for c in checks), sum(c.max_points for c in checks)


def with_wrong_solution(reference: NotebookNode, snippet: Path) -> NotebookNode:
    """The reference notebook with a known-wrong definition appended as its last code cell."""
    nb = nbformat.from_dict(reference)
    nb.cells.append(nbformat.v4.new_code_cell(snippet.read_text(encoding="utf-8")))
    return nb


def verify(course: Course, isolation: str = "auto", log: Log = print, secret: bytes | None = None) -> list[str]:
    """Run every verification; return one line per problem (empty when the material holds up)."""
    secret = secret or secrets.token_hex(16).encode()
    options = GradingOptions(course, resolve_isolation(isolation), Limits(), secret)
    log(f"verify: secret for this run {secret.decode()} (pass it to reproduce hidden inputs)")
    problems: list[str] = []
    for exercise, rubric in course.rubrics.items():
        reference = nbformat.read(course.reference_notebook(exercise), as_version=4)
        problems += _check_sync(course, exercise, reference)
        graded = _grade(reference, exercise, "reference", options, log)
        problems += _check_mapping(exercise, graded)
        got, full = automatic_score(graded.result, rubric)
        if got != full:
            problems.append(f"{exercise}: the reference scores {got:g}/{full:g}: " + _failures(graded.result))
        blank_path = course.exercise_notebook(exercise)
        if blank_path.is_file():
            blank = _grade(nbformat.read(blank_path, as_version=4), exercise, "blank", options, log)
            got, _ = automatic_score(blank.result, rubric)
            if got != 0 or blank.result.score != 0:
                passed = [c.id for q in blank.result.questions for c in q.checks if c.points > 0]
                problems.append(f"{exercise}: the blank exercise scores {blank.result.score:g}: {', '.join(passed)}")
        for snippet in course.wrong_solutions(exercise):
            problems += _check_wrong(exercise, snippet, reference, options, log)
    return problems


def _grade(nb: NotebookNode, exercise: str, label: str, options: GradingOptions, log: Log) -> GradedNotebook:
    graded = grade_notebook(nb, exercise, f"verify-{label}", [], options, notebook_name=label)
    got, full = automatic_score(graded.result, options.course.rubrics[exercise])
    log(f"  {exercise} {label}: {got:g}/{full:g} automatic points")
    return graded


def _check_sync(course: Course, exercise: str, reference: NotebookNode) -> list[str]:
    path = course.exercise_notebook(exercise)
    if not path.is_file():
        return [f"{exercise}: {path} is missing; run `grade assign`"]
    built = nbformat.writes(build_exercise(reference))
    current = nbformat.writes(nbformat.read(path, as_version=4))
    if built != current:
        return [f"{exercise}: {path} differs from what `grade assign` builds from the reference; run `grade assign`"]
    return []


def _check_mapping(exercise: str, graded: GradedNotebook) -> list[str]:
    problems = []
    details = graded.details
    for error in details.get("collection_errors", []):
        problems.append(f"{exercise}: a check file does not load: {error.splitlines()[-1] if error else error}")
    for nodeid in details.get("unmapped_tests", []):
        problems.append(f"{exercise}: test {nodeid} is not marked with @check(question, name)")
    for q in graded.result.questions:
        for c in q.checks:
            if c.status == "error":
                detail = details.get("checks", {}).get(c.id, {}).get("detail", "")
                problems.append(f"{exercise}: check {c.id} errored on the reference: {c.message} {detail[-300:]}")
    return problems


def _check_wrong(exercise: str, snippet: Path, reference: NotebookNode, options: GradingOptions,
                 log: Log) -> list[str]:
    question = snippet.stem.split("__", 1)[0]
    graded = _grade(with_wrong_solution(reference, snippet), exercise, f"wrong/{snippet.stem}", options, log)
    problems = []
    by_id = {q.id: q for q in graded.result.questions}
    if question not in by_id:
        return [f"{snippet}: names question {question!r}, which the {exercise} rubric does not have"]
    target = by_id[question]
    automatic = options.course.rubrics[exercise].checks()
    auto = [c for c in target.checks if c.id in automatic]
    if all(c.points == c.max_points for c in auto):
        problems.append(f"{snippet.name}: loses no points on {exercise}.{question}")
    for q in graded.result.questions:
        if q.id == question:
            continue
        lost = [c.id for c in q.checks if c.id in automatic and c.points < c.max_points]
        if lost:
            problems.append(f"{snippet.name}: also loses points outside {question}: {', '.join(lost)}")
    return problems


def _failures(result: ExerciseResult) -> str:
    return "; ".join(f"{c.id} {c.status}: {c.message}" for q in result.questions for c in q.checks
                     if c.status not in ("passed", "manual"))
