"""Grading one exercise: run a notebook in a sandboxed kernel, run its checks here, then score the run.

Running (`run_exercise`, the expensive part, what the cache keeps) is kept apart from scoring (`score_run`,
cheap and pure given the run), so a cached run is scored again with the instructor's latest written-answer
scores without starting a kernel.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from . import warm_up
from .answers import locate_answers
from .checkrun import run_checks
from .course import Course, read_course_notebook
from .errors import KernelError
from .kernel import KernelSession
from .messages import msg
from .models import CheckResult, ExerciseResult, ExerciseRun, QuestionResult
from .options import GradingOptions
from .plugin import GraderPlugin
from .scoring import score_questions
from .seeds import Seeds
from .session import StudentSession, answer_text


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
        nb = read_course_notebook(path)
        for question in rubric.questions:
            for item in question.manual:
                text = answer_text(nb, item.answer)
                if text is not None:
                    templates[item.answer] = text
    return templates


def grade_notebook(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                   slot: int = 0, notebook_name: str | None = None,
                   kernel: KernelSession | None = None) -> GradedNotebook:
    """Run one notebook in a sandboxed kernel and its exercise's checks against it, and score it."""
    run, executed = run_exercise(nb, exercise, student, files, options, slot, notebook_name, kernel)
    result = score_run(run, options, student, answer_templates(options.course))
    return GradedNotebook(result, executed, run.details() if run.status == "graded" else {})


# -- running -------------------------------------------------------------------------------------------------
def run_exercise(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                 slot: int = 0, notebook_name: str | None = None,
                 kernel: KernelSession | None = None) -> tuple[ExerciseRun, NotebookNode | None]:
    """Run one notebook in a sandboxed kernel and its exercise's checks against it; nothing is scored yet.

    `kernel`: a session for this notebook, maybe started already (`grade check` starts it before loading the
    rest; a worker, while its previous notebook ran); the caller closes it. Without one, a kernel is started
    here and closed before this returns.
    """
    imports = warm_up.modules_for(options.course, [exercise], options.visibilities)
    warm_up.start(imports, after=kernel.launched if kernel else None)  # while the kernel runs the notebook
    return _run_exercise(nb, exercise, student, files, options, slot, notebook_name, kernel, imports)


def _run_exercise(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                  slot: int, notebook_name: str | None,
                  kernel: KernelSession | None, imports: list[str]) -> tuple[ExerciseRun, NotebookNode | None]:
    course = options.course
    rubric = course.rubrics[exercise]
    started = time.monotonic()
    owned = kernel is None
    kernel = kernel or KernelSession(nb, files, options.isolation, options.limits, slot=slot,
                                     warm=options.warm_start)
    with kernel if owned else contextlib.nullcontext(kernel):
        try:
            executed = kernel.run_notebook()
        except KernelError as exc:
            return ExerciseRun(exercise, "not_gradable", msg("exercise.not_run", detail=str(exc)), notebook_name), None
        session = StudentSession(kernel, executed)
        plugin = GraderPlugin(rubric=rubric, student=session, reference_path=course.reference_notebook(exercise),
                              seeds=Seeds(options.secret, student))
        warm_up.wait(imports)
        run_checks([course.check_dir(exercise, v) for v in options.visibilities], plugin)
        cells = tuple(kernel.problems)
    answers = locate_answers(executed, [m.answer for q in rubric.questions for m in q.manual],
                             course.exercise_notebook(exercise))
    message = msg("exercise.graded_with_cells", count=len(cells)) if cells else msg("exercise.graded")
    run = ExerciseRun(exercise, "graded", message, notebook_name, tuple(plugin.outcomes.values()), answers, cells,
                      time.monotonic() - started, tuple(plugin.collection_errors), tuple(plugin.unmapped))
    return run, executed


# -- scoring -------------------------------------------------------------------------------------------------
def score_run(run: ExerciseRun, options: GradingOptions, student: str, templates: dict[str, str],
              notebook_print: str = "") -> ExerciseResult:
    """The scored result of a run: points from the rubric, written answers with the instructor's scores.

    `notebook_print` (scorestore.notebook_print of the graded notebook) tells stale overrides from current ones.
    """
    if run.status != "graded":
        return _unscored(options, run.exercise, run.status, run.message, run.notebook)
    rubric = options.course.rubrics[run.exercise]
    outcomes = {o.check_id: o for o in run.outcomes}
    questions = score_questions(rubric, outcomes, run.answers, templates, options.manual_scores.get(student),
                                notebook_print=notebook_print)
    if "hidden" not in options.visibilities:
        questions = _without_hidden(questions)
    return ExerciseResult(run.exercise, "graded", run.message, questions, run.notebook, run.cells, run.seconds)


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


def _without_hidden(questions: tuple[QuestionResult, ...]) -> tuple[QuestionResult, ...]:
    """Public checks only (hidden and after_due_date ones are left out)."""
    return tuple(QuestionResult(q.id, q.title, tuple(c for c in q.checks if c.visibility == "public"))
                 for q in questions)
