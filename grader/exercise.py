"""Grading one exercise: run a notebook in a sandboxed kernel, run its checks here, then score the run.

Running (`run_exercise`, the expensive part, what the cache keeps) is kept apart from scoring (`score_run`,
cheap and pure given the run), so a cached run is scored again with the instructor's latest written-answer
scores without starting a kernel.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

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

    `kernel`: a session for this notebook started already (`grade check` starts it before loading the rest).
    """
    warm_up = _warm_up_in_background(options.course, exercise, kernel.launched if kernel else None,
                                     options.visibilities)
    result = _run_exercise(nb, exercise, student, files, options, slot, notebook_name, kernel)
    if warm_up is not None:  # not on the way out of a Ctrl-C: stopping must not wait for an import
        warm_up.join()
    return result


def _run_exercise(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                  slot: int, notebook_name: str | None,
                  kernel: KernelSession | None) -> tuple[ExerciseRun, NotebookNode | None]:
    course = options.course
    rubric = course.rubrics[exercise]
    started = time.monotonic()
    kernel = kernel or KernelSession(nb, files, options.isolation, options.limits, slot=slot,
                                     warm=options.warm_start)
    with kernel:
        try:
            executed = kernel.run_notebook()
        except KernelError as exc:
            return ExerciseRun(exercise, "not_gradable", msg("exercise.not_run", detail=str(exc)), notebook_name), None
        session = StudentSession(kernel, executed)
        plugin = GraderPlugin(rubric=rubric, student=session, reference_path=course.reference_notebook(exercise),
                              seeds=Seeds(options.secret, student))
        run_checks([course.check_dir(exercise, v) for v in options.visibilities], plugin)
        cells = tuple(kernel.problems)
    answers = locate_answers(executed, [m.answer for q in rubric.questions for m in q.manual],
                             course.exercise_notebook(exercise))
    message = msg("exercise.graded_with_cells", count=len(cells)) if cells else msg("exercise.graded")
    run = ExerciseRun(exercise, "graded", message, notebook_name, tuple(plugin.outcomes.values()), answers, cells,
                      time.monotonic() - started, tuple(plugin.collection_errors), tuple(plugin.unmapped))
    return run, executed


def _warm_up_in_background(course: Course, exercise: str, after: threading.Event | None = None,
                           visibilities: tuple[str, ...] = ("public", "hidden")) -> threading.Thread | None:
    """Import what the checks will need while the kernel runs the notebook (this process only waits meanwhile).

    `after`: a kernel starting in the background is launched. Until then the imports would hold the GIL
    against the launch's thread, whose many short syscalls (the /proc scans of the sandbox's uid and
    processes) each waited for the GIL's switch interval: 0.5 s more on `grade check`'s critical path.

    The first notebook a process grades would otherwise pay these imports after the notebook, on the
    critical path; `grade check` grades just one. torch imports torch._dynamo (~1.3 s) when the first optimizer
    is made: that is warmed up too when the checks of `visibilities` use torch.optim, or one of them takes the
    reference solution and that does.
    """
    modules = [name for name in ("torch", "torch._dynamo") if name not in sys.modules]
    if "torch._dynamo" in modules and not _uses_optimizers(course, exercise, visibilities):
        modules.remove("torch._dynamo")
    if not modules:
        return None
    thread = threading.Thread(target=_import_quietly, args=modules, kwargs={"after": after}, name="grader-warm-up",
                              daemon=True)
    thread.start()
    return thread


def _uses_optimizers(course: Course, exercise: str, visibilities: tuple[str, ...] = ("public", "hidden")) -> bool:
    """The checks of `visibilities`, or the reference solution when one of them takes it, name torch.optim."""
    checks = {path: path.read_text(encoding="utf-8", errors="replace")
              for visibility in visibilities for path in sorted(course.check_dir(exercise, visibility).glob("*.py"))
              if path.is_file()}
    reference = course.reference_notebook(exercise)
    if reference.is_file() and any(_takes_reference(source) for source in checks.values()):
        checks[reference] = reference.read_text(encoding="utf-8", errors="replace")
    return any("torch.optim" in source for source in checks.values())


def _takes_reference(source: str) -> bool:
    """A check in `source` takes the `reference` fixture (grader/plugin.py): the reference then runs here too."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True  # cannot tell: assume it does (a warm-up too many costs only CPU)
    return any(arg.arg == "reference" for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
               for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))


# The GIL's switch interval while the warm-up imports: the kernel's messages (the relay's thread, then the
# session's) each wait up to this long for the GIL an import holds; Python's 5 ms cost a cell tens of ms.
WARM_UP_SWITCH_INTERVAL = 0.0005


# How much nicer the warm-up's thread runs: on a busy machine the kernel, which is `grade check`'s critical path,
# gets the CPU first; on an idle one the warm-up still has a core of its own.
WARM_UP_NICENESS = 10


def _lower_this_threads_priority() -> None:
    """Linux only: there setpriority(PRIO_PROCESS, thread id) concerns one thread (elsewhere the id is a pid's)."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WARM_UP_NICENESS))
    except OSError:
        pass


def _import_quietly(*names: str, after: threading.Event | None = None) -> None:
    if after is not None:
        after.wait()
    _lower_this_threads_priority()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, WARM_UP_SWITCH_INTERVAL))
    try:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # the checks will meet the same problem and report it where it belongs
                return
    finally:
        sys.setswitchinterval(interval)


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
