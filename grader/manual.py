"""Scores given by a person: validating one, and importing a file of them (`grade ... --manual FILE`) into the store.

CSV: a header `student,check,points[,comment][,override]`, one row per scored item, e.g.
    alice,logistic_regression.hw1.answer,4,clear and complete
    bob,autograd.retain_graph.random_inputs,5,checked by hand,true
TOML: one table per student, check id -> points or {points, comment, override}:
    [alice]
    "logistic_regression.hw1.answer" = 4
    "logistic_regression.hw2.answer" = { points = 3, comment = "bias discussed, mean_value not" }

Every row is checked before any is stored (grader/scorestore.py); one bad row refuses the whole import with
every problem named by its row: an unknown student or check, points outside 0..max, a score for an empty or
unchanged answer, a score for an automatic check without `override = true`.

A CSV's student ids are read the way the grader writes them (textsafe.csv_value): an id that looks like a
spreadsheet formula, `'=HYPERLINK(...)` as gradebook.csv has it, is the student `=HYPERLINK(...)`.
"""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbformat import NotebookNode

from .course import Course
from .errors import UsageError
from .layout import OutLayout
from .rubric import CheckSpec, ManualSpec
from .scorestore import Score, ScoreStore, notebook_print, text_print
from .textsafe import csv_value
from .answers import written_answer

if TYPE_CHECKING:
    from .options import GradingOptions


class ScoreRefused(UsageError):
    """A score that cannot be stored; the message says why."""


@dataclass(frozen=True)
class Row:
    where: str  # "line 3", "[alice]"
    student: str
    check: str
    points: object
    comment: str
    override: bool


def specs(course: Course) -> dict[str, CheckSpec | ManualSpec]:
    """Every check and written-answer item of the course, by id."""
    return {spec.id: spec for rubric in course.rubrics.values() for q in rubric.questions
            for spec in (*q.checks, *q.manual)}


def validate_score(course: Course, templates: dict[str, str], notebooks: dict[str, dict[str, NotebookNode]],
                   student: str, check: str, points: object, override: bool) -> tuple[float, str]:
    """(points, fingerprint of what is scored) for a score a person gives, or ScoreRefused saying why.

    `notebooks`: each known student's notebooks by exercise (submitted or executed: the sources are the same).
    """
    spec = specs(course).get(check)
    if spec is None:
        raise ScoreRefused(f"{check!r} is not a check or written answer of any rubric")
    if student not in notebooks:
        raise ScoreRefused(f"{student!r} is not a student of this OUT folder")
    if isinstance(spec, CheckSpec) and not override:
        raise ScoreRefused(f"{check} is an automatic check: a score for it replaces its verdict, so it must say "
                           f"override = true")
    try:
        value = float(points)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ScoreRefused(f"points {points!r} is not a number") from None
    if not 0 <= value <= spec.points:
        raise ScoreRefused(f"points {value:g} outside 0..{spec.points:g} for {check}")
    nb = notebooks[student].get(spec.exercise)
    if nb is None:
        raise ScoreRefused(f"{student} has no graded notebook for exercise {spec.exercise}")
    if isinstance(spec, ManualSpec):
        answer = written_answer(nb, spec.answer, course.exercise_notebook(spec.exercise))
        if answer is None and not override:
            raise ScoreRefused(f"{student}'s notebook has no answer cell {spec.answer!r}; a score for an answer "
                               f"written elsewhere must say override = true")
        if answer is not None and (not answer.strip() or text_print(answer) == text_print(templates.get(spec.answer))):
            raise ScoreRefused(f"{student}'s answer to {check} is empty or unchanged from the exercise; "
                               f"nothing to score")
        if answer is not None:
            return value, text_print(answer)
    return value, notebook_print(nb)


def read_rows(path: Path) -> list[Row]:
    """The rows of a CSV or TOML score file (not validated yet)."""
    if path.suffix.lower() == ".toml":
        return _toml_rows(path)
    if path.suffix.lower() == ".csv":
        return _csv_rows(path)
    raise UsageError(f"{path}: manual scores must be a .csv or .toml file")


def import_scores(path: Path, store: ScoreStore, course: Course, templates: dict[str, str],
                  notebooks: dict[str, dict[str, NotebookNode]], who: str = "import") -> int:
    """Validate every row of `path`, then put them all into `store` (not saved); returns how many.

    Nothing is stored when any row is refused: UsageError (exit 2) lists every refused row.
    """
    rows = read_rows(path)
    accepted: list[tuple[Row, float, str]] = []
    problems = []
    for row in rows:
        try:
            points, fingerprint = validate_score(course, templates, notebooks, row.student, row.check, row.points,
                                                 row.override)
        except ScoreRefused as exc:
            problems.append(f"{path}, {row.where} ({row.student}, {row.check}): {exc}")
            continue
        accepted.append((row, points, fingerprint))
    if problems:
        raise UsageError("manual scores refused, none imported:\n  " + "\n  ".join(problems))
    for row, points, fingerprint in accepted:
        current = store.get(row.student, row.check)
        if current and (current.points, current.comment, current.override, current.answer) == (
                points, row.comment, row.override, fingerprint):
            continue  # the same score imported again: no new version
        store.put(row.student, row.check, Score(points, row.comment, row.override, who, answer=fingerprint))
    return len(accepted)


def load_manual_scores(path: Path, known_checks: set[str]) -> dict[str, dict[str, tuple[float, str]]]:
    """The rows of a score file as {student: {check: (points, comment)}}, for callers without an OUT folder.

    Only the ids and numbers are checked here; `grade run --manual` imports through `import_scores`.
    """
    scores: dict[str, dict[str, tuple[float, str]]] = {}
    for row in read_rows(path):
        if row.check not in known_checks:
            raise UsageError(f"{path}, {row.where}: {row.check!r} is not a manual item of any rubric")
        try:
            value = float(row.points)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise UsageError(f"{path}, {row.where}: points {row.points!r} is not a number") from None
        scores.setdefault(row.student, {})[row.check] = (value, row.comment)
    return scores


def out_notebooks(layout: OutLayout, students: list[str] | None = None) -> dict[str, dict[str, NotebookNode]]:
    """The executed notebooks in OUT of every graded student (or of `students`), by student then exercise."""
    found: dict[str, dict[str, NotebookNode]] = {}
    paths = layout.reports() if students is None else [layout.report(s) for s in students]
    for path in paths:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        student = report.get("student", "")
        found[student] = {}
        for exercise in report.get("exercises", []):
            if exercise.get("status") != "graded" or not exercise.get("notebook"):
                continue
            try:
                found[student][exercise["id"]] = nbformat.read(layout.executed(student, exercise["notebook"]),
                                                               as_version=4)
            except (OSError, ValueError, UsageError):
                continue
    return found


def scores_for_batch(layout: OutLayout, options: "GradingOptions", notebooks: dict[str, dict[str, NotebookNode]],
                     templates: dict[str, str], manual_import: Path | None) -> "GradingOptions":
    """`options` with the store's scores (after importing `manual_import` into it); call under the OUT lock.

    `notebooks`: the submitted notebooks of this run's students; students graded earlier into OUT are known too.
    Scores given in `options.manual_scores` (an API caller's) win over the store's.
    """
    store = ScoreStore.load(layout)
    if manual_import is not None:
        known = {**out_notebooks(layout), **notebooks}
        import_scores(manual_import, store, options.course, templates, known)
        store.save()
    students = set(store.scores) | set(options.manual_scores)
    merged = {s: {**store.for_student(s), **options.manual_scores.get(s, {})} for s in students}
    return replace(options, manual_scores=merged)


def _flag(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "y")


def _csv_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"student", "check", "points"} - set(reader.fieldnames or [])
        if missing:
            raise UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return [Row(f"line {n}", csv_value(row["student"] or ""), row["check"] or "", row["points"], row.get("comment") or "",
                    _flag(row.get("override") or ""))
                for n, row in enumerate(reader, start=2)]


def _toml_rows(path: Path) -> list[Row]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    rows = []
    for student, items in data.items():
        if not isinstance(items, dict):
            raise UsageError(f"{path}: [{student}] must be a table of check id = points")
        for check, value in items.items():
            if isinstance(value, dict):
                rows.append(Row(f"[{student}]", student, check, value.get("points"),
                                str(value.get("comment", "")), _flag(value.get("override", False))))
            else:
                rows.append(Row(f"[{student}]", student, check, value, "", False))
    return rows
