"""Grade submissions: one notebook in one sandboxed kernel, checks in this process, reports written atomically."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat
from nbformat import NotebookNode

from . import __version__
from .course import Course
from .discovery import Submission, find_submissions
from .errors import GraderError, KernelError, NotebookError
from .files import write_atomic
from .kernel import KernelSession
from .models import CellNote, CheckResult, ExerciseResult, QuestionResult, StudentReport
from .notebook import exercise_id_from_filename, exercise_id_of, load_notebook
from .plugin import GraderPlugin, Outcome, Seeds, StudentSession, answer_text
from .reporters.gradebook import write_gradebook
from .reporters.json_report import write_report
from .runner import run_checks
from .sandbox import IsolationReport, Limits
from .scoring import ManualScores, score_questions

INSTRUCTOR_DIR = ".instructor"


@dataclass(frozen=True)
class GradingOptions:
    """Everything that decides a grade besides the submission itself."""

    course: Course
    isolation: IsolationReport
    limits: Limits = field(default_factory=Limits)
    secret: bytes = b""
    visibilities: tuple[str, ...] = ("public", "hidden")
    manual_scores: dict[str, ManualScores] = field(default_factory=dict)


@dataclass(frozen=True)
class GradedNotebook:
    result: ExerciseResult
    executed: NotebookNode | None
    details: dict[str, Any]


def answer_templates(course: Course) -> dict[str, str]:
    """The unchanged prompt of every written-answer cell, from the exercise notebooks students receive."""
    templates: dict[str, str] = {}
    for rubric in course.rubrics.values():
        path = course.exercise_notebook(rubric.exercise)
        if not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        for question in rubric.questions:
            for item in question.manual:
                text = answer_text(nb, item.answer)
                if text is not None:
                    templates[item.answer] = text
    return templates


def grade_notebook(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                   slot: int = 0, notebook_name: str | None = None) -> GradedNotebook:
    """Run one notebook in a sandboxed kernel and its exercise's checks against it."""
    course = options.course
    rubric = course.rubrics[exercise]
    started = time.monotonic()
    templates = answer_templates(course)
    with KernelSession(nb, files, options.isolation, options.limits, slot=slot) as kernel:
        try:
            executed = kernel.run_notebook()
        except KernelError as exc:
            result = _unscored(options, exercise, "not_gradable", f"the notebook could not be run: {exc}",
                               notebook_name)
            return GradedNotebook(result, None, {})
        session = StudentSession(kernel, executed)
        plugin = GraderPlugin(rubric=rubric, student=session, reference_path=course.reference_notebook(exercise),
                              seeds=Seeds(options.secret, student))
        run_checks([course.check_dir(exercise, v) for v in options.visibilities], plugin)
        cells = tuple(CellNote(p.cell_index, p.kind, p.message) for p in kernel.problems)
    answers = {item.answer: answer_text(executed, item.answer) for q in rubric.questions for item in q.manual}
    questions = score_questions(rubric, plugin.outcomes, answers, templates, options.manual_scores.get(student))
    if "hidden" not in options.visibilities:
        questions = _without_hidden(questions)
    message = "graded" + (f"; {len(cells)} cell problem(s), see cells" if cells else "")
    result = ExerciseResult(exercise, "graded", message, questions, notebook_name, cells, time.monotonic() - started)
    details = {
        "checks": {k: {"status": v.status, "detail": v.detail} for k, v in plugin.outcomes.items() if v.detail},
        "collection_errors": plugin.collection_errors,
        "unmapped_tests": plugin.unmapped,
    }
    return GradedNotebook(result, executed, details)


def _without_hidden(questions: tuple[QuestionResult, ...]) -> tuple[QuestionResult, ...]:
    return tuple(QuestionResult(q.id, q.title, tuple(c for c in q.checks if c.visibility != "hidden"))
                 for q in questions)


def _unscored(options: GradingOptions, exercise: str, status: str, message: str,
              notebook_name: str | None = None) -> ExerciseResult:
    """An exercise that could not be run: every check and written answer at zero, with the reason."""
    rubric = options.course.rubrics[exercise]
    questions = tuple(
        QuestionResult(q.id, q.title, tuple(
            CheckResult(spec.id, "failed", 0.0, spec.points, getattr(spec, "visibility", "public"), message, spec.hint)
            for spec in (*q.checks, *q.manual)))
        for q in rubric.questions)
    if "hidden" not in options.visibilities:
        questions = _without_hidden(questions)
    return ExerciseResult(exercise, status, message, questions, notebook_name)


def match_notebooks(submission: Submission, course: Course) -> tuple[dict[str, tuple[Path, NotebookNode]],
                                                                      dict[str, str], list[str]]:
    """Map a student's notebooks to exercises; returns (readable, unreadable by exercise, stray messages)."""
    known = course.notebook_names()
    readable: dict[str, tuple[Path, NotebookNode]] = {}
    unreadable: dict[str, str] = {}
    stray: list[str] = []
    for path in submission.notebooks:
        try:
            nb = load_notebook(path)
        except NotebookError as exc:
            exercise = exercise_id_from_filename(path.name, known)
            if exercise is None:
                stray.append(str(exc))
            else:
                unreadable.setdefault(exercise, str(exc))
            continue
        exercise = exercise_id_of(nb, path.name, known)
        if exercise is None:
            stray.append(f"{path.name}: not one of this course's exercises (no grader metadata, unknown file name)")
        elif exercise in readable:
            stray.append(f"{path.name}: a second notebook for exercise {exercise}; graded {readable[exercise][0].name}")
        else:
            readable[exercise] = (path, nb)
    return readable, unreadable, stray


def grade_submission(submission: Submission, options: GradingOptions, out_dir: Path, slot: int = 0) -> dict[str, Any]:
    """Grade every exercise of one student and write their report, executed notebooks and instructor details."""
    course = options.course
    readable, unreadable, stray = match_notebooks(submission, course)
    student_dir = out_dir / submission.student
    results: list[ExerciseResult] = []
    details: dict[str, Any] = {"stray": stray}
    for exercise in course.rubrics:
        if exercise in readable:
            path, nb = readable[exercise]
            try:
                graded = grade_notebook(nb, exercise, submission.student, list(submission.extra_files), options,
                                        slot=slot, notebook_name=path.name)
            except GraderError as exc:
                graded = GradedNotebook(_unscored(options, exercise, "not_gradable", str(exc), path.name), None, {})
            results.append(graded.result)
            details[exercise] = graded.details
            if graded.executed is not None:
                write_atomic(student_dir / path.name, nbformat.writes(graded.executed))
        elif exercise in unreadable:
            results.append(_unscored(options, exercise, "not_gradable", unreadable[exercise]))
        elif stray:
            results.append(_unscored(options, exercise, "not_gradable",
                                     "no notebook for this exercise; " + "; ".join(stray)))
        else:
            results.append(_unscored(options, exercise, "missing",
                                     f"no notebook for this exercise (expected {course.rubrics[exercise].notebook})"))
    report = StudentReport(submission.student, tuple(results), options.isolation.as_dict(), __version__,
                           datetime.now(timezone.utc).isoformat(timespec="seconds"))
    data = write_report(report, student_dir / "report.json")
    write_atomic(out_dir / INSTRUCTOR_DIR / f"{submission.student}.json",
                 json.dumps(details, ensure_ascii=False, indent=2, default=str), mode=0o600)
    return data


def gradebook_order(course: Course) -> list[tuple[str, list[str]]]:
    return [(ex, [q.id for q in rubric.questions]) for ex, rubric in course.rubrics.items()]


def grade_batch(root: Path, out_dir: Path, options: GradingOptions,
                on_start: Callable[[int], None] | None = None,
                on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Grade every submission under `root` into `out_dir`; one student's failure never stops the batch."""
    submissions = find_submissions(root)
    if on_start:
        on_start(len(submissions))
    reports = []
    for submission in submissions:
        report = grade_submission(submission, options, out_dir)
        reports.append(report)
        if on_done:
            on_done(report)
    write_gradebook(reports, gradebook_order(options.course), out_dir / "gradebook.csv")
    return reports
