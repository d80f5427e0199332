"""Grade submissions: one notebook in one sandboxed kernel, checks in this process, reports written atomically.

A batch plans every (student, exercise) first: a notebook whose cache entry matches (grader/cache.py) is not
run again, an unreadable or missing one is scored at once, and the rest become jobs for the worker processes
(grader/pool.py). Results come back to this process, which assembles and writes each student's report as soon
as all their exercises are in, and rebuilds gradebook.csv from the reports on disk at the end of every run,
an interrupted one included.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import logging
import os
import resource
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import nbformat
from nbformat import NotebookNode

from . import __version__
from .answers import locate_answers
from .cache import ResultCache, exercise_fingerprint, job_key, options_fingerprint
from .course import Course
from .discovery import Submission, find_submissions
from .errors import GraderError, Interrupted, KernelError, NotebookError, UsageError
from .files import write_atomic
from .intake import INTAKE_DIR, is_zip_path, submissions_from_zip
from .kernel import KernelSession
from .models import CellNote, CheckResult, ExerciseResult, ExerciseRun, QuestionResult, StudentReport
from .options import GradingOptions
from .notebook import exercise_id_from_filename, exercise_id_of, load_notebook
from .plugin import GraderPlugin, Seeds, StudentSession, answer_text
from .pool import WorkerPool, stop_requested
from .reporters.gradebook import write_gradebook
from .reporters.json_report import write_report
from .runner import run_checks
from .scoring import ManualScores, score_questions

INSTRUCTOR_DIR = ".instructor"
CACHE_DIR = "cache"

# Instrumentation for bench/: wrappers installed in a worker may add seconds here; each job's timings
# carry what was added while it ran. The grader itself never writes to it.
PHASES: dict[str, float] = {}


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


# -- one notebook --------------------------------------------------------------------------------------------
def run_exercise(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                 slot: int = 0, notebook_name: str | None = None,
                 kernel: KernelSession | None = None) -> tuple[ExerciseRun, NotebookNode | None]:
    """Run one notebook in a sandboxed kernel and its exercise's checks against it; nothing is scored yet.

    `kernel`: a session for this notebook started already (`grade check` starts it before loading the rest).
    """
    warm_up = _warm_up_in_background(options.course, exercise)
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
            return ExerciseRun(exercise, "not_gradable", f"the notebook could not be run: {exc}", notebook_name), None
        session = StudentSession(kernel, executed)
        plugin = GraderPlugin(rubric=rubric, student=session, reference_path=course.reference_notebook(exercise),
                              seeds=Seeds(options.secret, student))
        run_checks([course.check_dir(exercise, v) for v in options.visibilities], plugin)
        cells = tuple(CellNote(p.cell_index, p.kind, p.message) for p in kernel.problems)
    answers = locate_answers(executed, [m.answer for q in rubric.questions for m in q.manual],
                             course.exercise_notebook(exercise))
    message = "graded" + (f"; {len(cells)} cell problem(s), see cells" if cells else "")
    run = ExerciseRun(exercise, "graded", message, notebook_name, tuple(plugin.outcomes.values()), answers, cells,
                      time.monotonic() - started, tuple(plugin.collection_errors), tuple(plugin.unmapped))
    return run, executed


def _warm_up_in_background(course: Course, exercise: str) -> threading.Thread | None:
    """Import what the checks will need while the kernel runs the notebook (this process only waits meanwhile).

    The first notebook a process grades would otherwise pay these imports after the notebook, on the
    critical path; `grade check` grades just one. torch imports torch._dynamo (~1.5 s) lazily at the first
    optimizer step: that is warmed up too when the exercise's checks or reference use torch.optim.
    """
    modules = [name for name in ("torch", "torch._dynamo") if name not in sys.modules]
    if "torch._dynamo" in modules and not _uses_optimizers(course, exercise):
        modules.remove("torch._dynamo")
    if not modules:
        return None
    thread = threading.Thread(target=_import_quietly, args=modules, name="grader-warm-up", daemon=True)
    thread.start()
    return thread


def _uses_optimizers(course: Course, exercise: str) -> bool:
    paths = [course.reference_notebook(exercise), *course.check_dir(exercise, "public").glob("*.py"),
             *course.check_dir(exercise, "hidden").glob("*.py")]
    return any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in paths
               if path.is_file())


def _import_quietly(*names: str) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the checks will meet the same problem and report it where it belongs
            return


def score_run(run: ExerciseRun, options: GradingOptions, student: str, templates: dict[str, str]) -> ExerciseResult:
    """The scored result of a run: points from the rubric, written answers with the instructor's scores."""
    if run.status != "graded":
        return _unscored(options, run.exercise, run.status, run.message, run.notebook)
    rubric = options.course.rubrics[run.exercise]
    outcomes = {o.check_id: o for o in run.outcomes}
    questions = score_questions(rubric, outcomes, run.answers, templates, options.manual_scores.get(student))
    if "hidden" not in options.visibilities:
        questions = _without_hidden(questions)
    return ExerciseResult(run.exercise, "graded", run.message, questions, run.notebook, run.cells, run.seconds)


def grade_notebook(nb: NotebookNode, exercise: str, student: str, files: list[Path], options: GradingOptions,
                   slot: int = 0, notebook_name: str | None = None,
                   kernel: KernelSession | None = None) -> GradedNotebook:
    """Run one notebook in a sandboxed kernel and its exercise's checks against it, and score it."""
    run, executed = run_exercise(nb, exercise, student, files, options, slot, notebook_name, kernel)
    result = score_run(run, options, student, answer_templates(options.course))
    return GradedNotebook(result, executed, run.details() if run.status == "graded" else {})


def _without_hidden(questions: tuple[QuestionResult, ...]) -> tuple[QuestionResult, ...]:
    """Public checks only (hidden and after_due_date ones are left out)."""
    return tuple(QuestionResult(q.id, q.title, tuple(c for c in q.checks if c.visibility == "public"))
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


# -- jobs for the workers --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotebookJob:
    """One notebook to run; with `out_dir`, the executed copy (and with `cache_key` the cache entry) is written."""

    student: str
    exercise: str
    notebook: NotebookNode
    notebook_name: str
    files: tuple[Path, ...] = ()
    out_dir: Path | None = None
    cache_key: str | None = None


@dataclass(frozen=True)
class JobResult:
    student: str
    exercise: str
    run: ExerciseRun
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerState:
    options: GradingOptions
    slot: int


def setup_worker(options: GradingOptions, slot: int) -> WorkerState:
    """Runs once in each worker: torch in this process gets the same thread budget as a kernel."""
    threads = str(options.limits.torch_threads)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = threads
    return WorkerState(options, slot)


def run_job(state: WorkerState, job: NotebookJob) -> JobResult:
    """Grade one notebook in a worker. Whatever goes wrong becomes this exercise's not_gradable result."""
    PHASES.clear()
    wall, cpu = time.monotonic(), time.process_time()
    run, executed = execute_job(state, job)
    if stop_requested():
        raise KeyboardInterrupt  # stopped midway: nothing of this run may be kept
    if job.out_dir is not None:
        keep_outputs(job, run, None if executed is None else nbformat.writes(executed))
    return JobResult(job.student, job.exercise, run, job_timings(wall, cpu))


def execute_job(state: WorkerState, job: NotebookJob) -> tuple[ExerciseRun, NotebookNode | None]:
    """Run one notebook and its checks; returns the run and the executed notebook. Writes nothing."""
    try:
        return run_exercise(job.notebook, job.exercise, job.student, list(job.files), state.options,
                            slot=state.slot, notebook_name=job.notebook_name)
    except GraderError as exc:
        return ExerciseRun(job.exercise, "not_gradable", str(exc), job.notebook_name), None
    except Exception as exc:  # a grader bug must cost this notebook only, never the batch
        return ExerciseRun(job.exercise, "not_gradable", f"the grader failed on this notebook "
                           f"({type(exc).__name__}); your instructor has the details", job.notebook_name,
                           grader_error=traceback.format_exc()[-4000:]), None


def job_timings(wall: float, cpu: float) -> dict[str, float]:
    """What a job cost this process since `wall` (monotonic) and `cpu` (process time), with bench's PHASES."""
    return {"wall": time.monotonic() - wall, "cpu": time.process_time() - cpu, "pid": os.getpid(),
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **PHASES}


def keep_outputs(job: NotebookJob, run: ExerciseRun, text: str | None) -> None:
    """With `job.out_dir`: write the executed notebook, then (graded runs with a key) its cache entry."""
    if job.out_dir is None:
        return
    if text is not None:
        write_atomic(job.out_dir / job.student / job.notebook_name, text)
    if job.cache_key is not None and run.status == "graded":
        cache = ResultCache(job.out_dir / INSTRUCTOR_DIR / CACHE_DIR)
        cache.put(job.student, job.exercise, job.cache_key, run, job.notebook_name, text)


def lost_job(job: NotebookJob, reason: str) -> JobResult:
    """What a job whose worker died (or failed outside `run_job`) reports."""
    message = f"this notebook could not be graded: {reason}"
    return JobResult(job.student, job.exercise, ExerciseRun(job.exercise, "not_gradable", message, job.notebook_name))


# Runs jobs somewhere else than this machine's worker pool (grader/distributed.py); results as they finish.
JobExecutor = Callable[[list[NotebookJob], GradingOptions], Iterator[JobResult]]


def grade_notebooks(jobs: list[NotebookJob], options: GradingOptions, workers: int = 1,
                    initializer: Callable[[], None] | None = None,
                    executor: JobExecutor | None = None) -> Iterator[JobResult]:
    """Grade `jobs` on `workers` local processes, or with `executor`; results in the order they finish."""
    if executor is not None:
        yield from executor(jobs, options)
        return
    with WorkerPool(min(workers, max(1, len(jobs))), setup_worker, options, run_job, lost_job,
                    initializer) as pool:
        yield from pool.map_unordered(jobs)


# -- a batch ---------------------------------------------------------------------------------------------------
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


@dataclass
class _Plan:
    """One student's exercises: runs known so far (cached, unreadable, missing) and the jobs still to do."""

    submission: Submission
    stray: list[str]
    runs: dict[str, ExerciseRun] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)
    jobs: list[NotebookJob] = field(default_factory=list)

    def complete(self, course: Course) -> bool:
        return all(exercise in self.runs for exercise in course.rubrics)


def plan_submission(submission: Submission, options: GradingOptions, out_dir: Path, cache: ResultCache,
                    prints: dict[str, str]) -> _Plan:
    """What is already known about one student's exercises, and which notebooks must run."""
    course = options.course
    readable, unreadable, stray = match_notebooks(submission, course)
    plan = _Plan(submission, stray)
    for exercise in course.rubrics:
        if exercise in readable:
            path, nb = readable[exercise]
            try:
                key = job_key(student=submission.student, exercise=exercise, notebook_name=path.name,
                              notebook_bytes=path.read_bytes(), extra_files=list(submission.extra_files),
                              exercise_print=prints[exercise], options_print=prints[""])
            except OSError as exc:  # the notebook or one of the student's files vanished or is unreadable
                plan.runs[exercise] = ExerciseRun(exercise, "not_gradable",
                                                  f"{Path(exc.filename or path).name}: cannot be read ({exc.strerror})",
                                                  path.name)
                continue
            hit = cache.get(submission.student, exercise, key, out_dir)
            if hit is not None:
                plan.runs[exercise] = hit
                plan.cached.add(exercise)
            else:
                plan.jobs.append(NotebookJob(submission.student, exercise, nb, path.name,
                                             tuple(submission.extra_files), out_dir, key))
        elif exercise in unreadable:
            plan.runs[exercise] = ExerciseRun(exercise, "not_gradable", unreadable[exercise], None)
        elif stray:
            plan.runs[exercise] = ExerciseRun(exercise, "not_gradable",
                                              "no notebook for this exercise; " + "; ".join(stray), None)
        else:
            plan.runs[exercise] = ExerciseRun(
                exercise, "missing", f"no notebook for this exercise (expected {course.rubrics[exercise].notebook})",
                None)
    return plan


def write_student(plan: _Plan, options: GradingOptions, out_dir: Path, templates: dict[str, str]) -> dict[str, Any]:
    """Score a student's runs and write their report and the instructor's details, both atomically."""
    student = plan.submission.student
    results = [score_run(plan.runs[exercise], options, student, templates) for exercise in options.course.rubrics]
    details: dict[str, Any] = {"stray": plan.stray}
    for exercise, run in plan.runs.items():
        if run.notebook is not None or run.grader_error:
            details[exercise] = {**run.details(), "cached": exercise in plan.cached}
    report = StudentReport(student, tuple(results), options.isolation.as_dict(), __version__,
                           datetime.now(timezone.utc).isoformat(timespec="seconds"))
    data = write_report(report, out_dir / student / "report.json")
    write_atomic(out_dir / INSTRUCTOR_DIR / f"{student}.json",
                 json.dumps(details, ensure_ascii=False, indent=2, default=str), mode=0o600)
    return data


def gradebook_order(course: Course) -> list[tuple[str, list[str]]]:
    return [(ex, [q.id for q in rubric.questions]) for ex, rubric in course.rubrics.items()]


def rebuild_gradebook(out_dir: Path, students: list[str], course: Course) -> list[dict[str, Any]]:
    """gradebook.csv from the report.json on disk of every student in `students`; returns those reports."""
    reports = []
    for student in students:
        try:
            reports.append(json.loads((out_dir / student / "report.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # not graded yet (an interrupted first run)
    write_gradebook(reports, gradebook_order(course), out_dir / "gradebook.csv")
    return reports


def _prints(options: GradingOptions) -> dict[str, str]:
    prints = {exercise: exercise_fingerprint(options.course, exercise) for exercise in options.course.rubrics}
    prints[""] = options_fingerprint(options)
    return prints


def grade_batch(root: Path, out_dir: Path, options: GradingOptions,
                on_start: Callable[[int], None] | None = None,
                on_done: Callable[[dict[str, Any]], None] | None = None, *,
                workers: int = 1, use_cache: bool = True,
                on_job: Callable[[JobResult], None] | None = None,
                initializer: Callable[[], None] | None = None,
                executor: JobExecutor | None = None,
                on_warning: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Grade every submission under `root` into `out_dir`; one student's failure never stops the batch.

    `root` may also be a Canvas or Moodle submissions zip: it is unpacked into OUT/.instructor/intake/
    (grader/intake.py) and graded as a folder; `on_warning` gets its warnings (default: stderr).

    `use_cache=False` runs every notebook again (and refreshes the cache). `executor` runs the jobs instead of
    the local worker pool (`workers`, `initializer` then do not apply). A KeyboardInterrupt stops the
    workers (their kernels are closed), rebuilds the gradebook from the reports finished so far and raises
    `Interrupted`; running the batch again grades only what was not finished.
    """
    from_zip = is_zip_path(root)
    submissions = [] if from_zip else find_submissions(root)
    course = options.course
    with _exclusive(out_dir):
        intake_dir = out_dir / INSTRUCTOR_DIR / INTAKE_DIR
        if from_zip:  # unpacked under the lock: one run at a time writes OUT
            warn = on_warning or (lambda line: print(f"warning: {line}", file=sys.stderr))
            submissions = find_submissions(submissions_from_zip(root, intake_dir, course.notebook_names(), warn))
        else:
            shutil.rmtree(intake_dir, ignore_errors=True)  # describes the zip last graded into OUT, if any
        _remove_partial_files(out_dir)
        if on_start:
            on_start(len(submissions))
        cache = ResultCache(out_dir / INSTRUCTOR_DIR / CACHE_DIR, enabled=use_cache)
        templates = answer_templates(course)
        prints = _prints(options)
        plans = {s.student: plan_submission(s, options, out_dir, cache, prints) for s in submissions}
        reports: dict[str, dict[str, Any]] = {}

        def finish(plan: _Plan) -> None:
            reports[plan.submission.student] = data = write_student(plan, options, out_dir, templates)
            if on_done:
                on_done(data)

        try:
            for plan in plans.values():
                if not plan.jobs:
                    finish(plan)
            jobs = [job for plan in plans.values() for job in plan.jobs]
            for result in grade_notebooks(jobs, options, workers, initializer, executor):
                if on_job:
                    on_job(result)
                plan = plans[result.student]
                plan.runs[result.exercise] = result.run
                if plan.complete(course):
                    finish(plan)
        except KeyboardInterrupt:
            logging.getLogger("asyncio").disabled = True  # kernels closed mid-call leave pending tasks behind
            rebuild_gradebook(out_dir, list(plans), course)
            raise Interrupted(f"interrupted: {len(reports)} of {len(plans)} submission(s) graded and kept; "
                              "run the same command again to grade the rest") from None
        rebuild_gradebook(out_dir, list(plans), course)
    return [reports[student] for student in plans]


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One grade run at a time per OUT folder (a lock that goes away with the process, even on kill -9)."""
    lock_dir = out_dir / INSTRUCTOR_DIR
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another grade run is writing to {out_dir}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _remove_partial_files(out_dir: Path) -> None:
    """Temporary files a killed run left behind (write_atomic's `.<name>.<random>.tmp`); never a finished file."""
    for path in out_dir.rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
