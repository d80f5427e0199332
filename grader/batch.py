"""Grade a batch: plan every (student, exercise), run what must run, write reports and the gradebook into OUT.

A batch plans every (student, exercise) first: a notebook whose cache entry matches (grader/cache.py) is not
run again, an unreadable or missing one is scored at once, and the rest become jobs for an executor
(grader/jobs.py: this machine's worker processes or a dask cluster). Results come back to this process,
which writes each executed notebook and its cache entry as the result arrives, assembles and writes each
student's report as soon as all their exercises are in, and rebuilds gradebook.csv from the reports on disk
at the end of every run, an interrupted one included. Where each file goes: grader/layout.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from nbformat import NotebookNode

from . import __version__
from .cache import ResultCache, exercise_fingerprint, job_key, options_fingerprint
from .course import Course
from .discovery import Submission, find_submissions
from .errors import DiskFull, Interrupted, NotebookError
from .exercise import answer_templates, score_run
from .files import check_writable, write_atomic
from .intake import is_zip_path, submissions_from_zip
from .jobs import Instrumentation, JobExecutor, JobResult, LocalExecutor, NotebookJob, lost_job
from .layout import OutLayout, migrate_legacy
from .manual import scores_for_batch
from .messages import joined, msg, verbatim
from .names import decode_name, escaped_name
from .models import ExerciseRun, StudentReport
from .notebook import exercise_id_from_filename, exercise_id_of, load_notebook
from .options import GradingOptions
from .reporters.gradebook import write_gradebook
from .lms import LmsContext, LmsInputs, annotate, lms_context
from .reporters.json_report import report_to_dict, write_report_data
from .scorestore import notebook_print, out_lock


# -- a batch ---------------------------------------------------------------------------------------------------
def match_notebooks(submission: Submission, course: Course) -> tuple[dict[str, tuple[Path, NotebookNode]],
                                                                      dict[str, str], list[str]]:
    """Map a student's notebooks to exercises; returns (readable, unreadable by exercise, stray messages)."""
    known = course.notebook_names()
    readable: dict[str, tuple[Path, NotebookNode]] = {}
    unreadable: dict[str, str] = {}
    stray: list[str] = []
    for path in submission.notebooks:
        name = decode_name(path.name)
        try:
            if path.is_symlink():
                raise NotebookError(f"{escaped_name(path.name)}: a symbolic link, not a file; links are not followed")
            nb = load_notebook(path)
        except NotebookError as exc:
            message = str(exc).replace(path.name, escaped_name(path.name))
            exercise = exercise_id_from_filename(name, known)
            if exercise is None:
                stray.append(verbatim(message))
            else:
                unreadable.setdefault(exercise, message)
            continue
        exercise = exercise_id_of(nb, name, known)
        if exercise is None:
            stray.append(msg("exercise.stray_unknown", name=name))
        elif exercise in readable:
            stray.append(msg("exercise.stray_second", name=name, exercise=exercise,
                             graded=decode_name(readable[exercise][0].name)))
        else:
            readable[exercise] = (path, nb)
    return readable, unreadable, stray


@dataclass
class _Plan:
    """One student's exercises: runs known so far (cached, unreadable, missing), jobs still to do, cache keys."""

    submission: Submission
    stray: list[str]
    runs: dict[str, ExerciseRun] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)
    jobs: dict[str, NotebookJob] = field(default_factory=dict)  # by exercise
    keys: dict[str, str] = field(default_factory=dict)  # cache key by exercise, for the jobs
    notebooks: dict[str, NotebookNode] = field(default_factory=dict)  # as submitted, by exercise

    def complete(self, course: Course) -> bool:
        return all(exercise in self.runs for exercise in course.rubrics)


def plan_submission(submission: Submission, options: GradingOptions, cache: ResultCache,
                    prints: dict[str, str]) -> _Plan:
    """What is already known about one student's exercises, and which notebooks must run."""
    course = options.course
    if submission.problem:
        plan = _Plan(submission, [submission.problem])
        for exercise in course.rubrics:
            plan.runs[exercise] = ExerciseRun(exercise, "not_gradable", submission.problem, None)
        return plan
    readable, unreadable, stray = match_notebooks(submission, course)
    plan = _Plan(submission, [*stray, *submission.notes])
    stray = plan.stray
    for exercise in course.rubrics:
        if exercise in readable:
            path, nb = readable[exercise]
            name = decode_name(path.name)
            plan.notebooks[exercise] = nb
            try:
                key = job_key(student=submission.student, exercise=exercise, notebook_name=path.name,
                              notebook_bytes=path.read_bytes(), extra_files=list(submission.extra_files),
                              exercise_print=prints[exercise], options_print=prints[""])
            except OSError as exc:  # the notebook or one of the student's files vanished or is unreadable
                plan.runs[exercise] = ExerciseRun(
                    exercise, "not_gradable", msg("exercise.unreadable_file", name=escaped_name(Path(exc.filename or path).name),
                                                  reason=str(exc.strerror)), name)
                continue
            hit = cache.get(submission.student, exercise, key)
            if hit is not None:
                plan.runs[exercise] = hit
                plan.cached.add(exercise)
            else:
                plan.jobs[exercise] = NotebookJob(submission.student, exercise, nb, name,
                                                  tuple(submission.extra_files))
                plan.keys[exercise] = key
        elif exercise in unreadable:
            plan.runs[exercise] = ExerciseRun(exercise, "not_gradable", verbatim(unreadable[exercise]), None)
        elif stray:
            plan.runs[exercise] = ExerciseRun(exercise, "not_gradable",
                                              msg("exercise.stray_only", reasons=joined(stray)), None)
        else:
            plan.runs[exercise] = ExerciseRun(
                exercise, "missing", msg("exercise.missing", notebook=course.rubrics[exercise].notebook), None)
    return plan


def keep_outputs(layout: OutLayout, cache: ResultCache, job: NotebookJob, key: str | None,
                 result: JobResult) -> JobResult:
    """Write a job's executed notebook into OUT, then (graded runs with a key) its cache entry.

    Returns `result`, or when OUT cannot take them (this notebook's outputs filled the disk, say) a
    not_gradable result for this notebook only, the traceback kept for the instructor.
    """
    try:
        if result.executed is not None:
            write_atomic(layout.executed(job.student, job.notebook_name), result.executed)
        if key is not None and result.run.status == "graded":
            cache.put(job.student, job.exercise, key, result.run, job.notebook_name, result.executed)
    except (OSError, DiskFull) as exc:
        why = "the disk is full" if isinstance(exc, DiskFull) else exc.strerror or type(exc).__name__
        lost = lost_job(job, msg("exercise.not_written", detail=why))
        return dataclasses.replace(lost, run=dataclasses.replace(lost.run, grader_error=traceback.format_exc()))
    return result


def write_student(plan: _Plan, options: GradingOptions, layout: OutLayout, templates: dict[str, str],
                  context: LmsContext | None = None, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score a student's runs and write their report (with what the LMS and course.toml say: grader/lms.py)
    and the instructor's details, both atomically."""
    student = plan.submission.student
    results = [score_run(plan.runs[exercise], options, student, templates, notebook_print(plan.notebooks.get(exercise)))
               for exercise in options.course.rubrics]
    details: dict[str, Any] = {"stray": plan.stray}
    for exercise, run in plan.runs.items():
        if run.notebook is not None or run.grader_error:
            details[exercise] = {**run.details(), "cached": exercise in plan.cached}
    report = StudentReport(student, tuple(results), options.isolation.as_dict(), __version__,
                           datetime.now(timezone.utc).isoformat(timespec="seconds"))
    data = annotate(report_to_dict(report), context or LmsContext(options.course.settings), warn)
    write_report_data(data, layout.report(student))
    write_atomic(layout.details(student), json.dumps(details, ensure_ascii=False, indent=2, default=str), mode=0o600)
    return data


def gradebook_order(course: Course) -> list[tuple[str, list[str]]]:
    return [(ex, [q.id for q in rubric.questions]) for ex, rubric in course.rubrics.items()]


def rebuild_gradebook(layout: OutLayout, students: list[str], course: Course) -> list[dict[str, Any]]:
    """gradebook.csv from the report.json on disk of every student in `students`; returns those reports."""
    reports = []
    for student in students:
        try:
            reports.append(json.loads(layout.report(student).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # not graded yet (an interrupted first run)
    write_gradebook(reports, gradebook_order(course), layout.gradebook())
    return reports


def _prints(options: GradingOptions) -> dict[str, str]:
    prints = {exercise: exercise_fingerprint(options.course, exercise) for exercise in options.course.rubrics}
    prints[""] = options_fingerprint(options)
    return prints


def grade_batch(root: Path, out_dir: Path, options: GradingOptions,
                on_start: Callable[[int], None] | None = None,
                on_done: Callable[[dict[str, Any]], None] | None = None, *,
                workers: int = 1, use_cache: bool = True,
                executor: JobExecutor | None = None,
                on_warning: Callable[[str], None] | None = None,
                instrumentation: Instrumentation | None = None,
                manual_import: Path | None = None,
                on_planned: Callable[[list[NotebookJob], list[tuple[str, str]]], None] | None = None,
                on_job: Callable[[JobResult], None] | None = None,
                lms_inputs: LmsInputs | None = None) -> list[dict[str, Any]]:
    """Grade every submission under `root` into `out_dir`; one student's failure never stops the batch.

    `root` may also be a Canvas or Moodle submissions zip: it is unpacked into OUT's intake folder
    (grader/intake.py) and graded as a folder; `on_warning` gets its warnings (default: stderr).

    `use_cache=False` runs every notebook again (and refreshes the cache). `executor` runs the jobs (default:
    `workers` local processes, with `instrumentation`'s hooks when a benchmark gives some). A KeyboardInterrupt
    stops the workers (their kernels are closed), rebuilds the gradebook from the reports finished so far and
    raises `Interrupted`; running the batch again grades only what was not finished.

    Scores a person gave are read from OUT's score store on every run (`manual_import`, a CSV or TOML file, is
    validated and imported into it first: grader/manual.py).
    `lms_inputs` (roster, late-days list) with the zip's names and course.toml go into each report (grader/lms.py).
    `on_planned` gets the jobs to run and the (student, exercise) pairs taken from the cache; `on_job` each job's
    result as it arrives (grader/progress.py shows both).
    """
    from_zip = is_zip_path(root)
    warn = on_warning or (lambda line: print(f"warning: {line}", file=sys.stderr))
    submissions = [] if from_zip else find_submissions(root, out_dir, warn)
    course = options.course
    layout = OutLayout(out_dir)
    probe = instrumentation or Instrumentation()
    executor = executor or LocalExecutor(workers, probe)
    with _exclusive(layout):
        if from_zip:  # unpacked under the lock: one run at a time writes OUT
            folder, problems = submissions_from_zip(root, layout.intake_dir(), course.notebook_names(), warn)
            submissions = [_with_notes(s, problems.get(s.student, ())) for s in find_submissions(folder, None, warn)]
        else:
            shutil.rmtree(layout.intake_dir(), ignore_errors=True)  # describes the zip last graded into OUT, if any
        for path in layout.partial_files():
            path.unlink(missing_ok=True)
        for student in migrate_legacy(layout):
            warn(f"student {student}: moved from the old OUT layout to "
                 f"{layout.student_dir(student).relative_to(layout.root)}/")
        layout.record_students([s.student for s in submissions])
        context = lms_context(layout.intake_dir(), course, lms_inputs)
        if submissions:  # in the background, while the probe runs (`on_start`) and the jobs are planned
            executor.prepare(options, len(submissions) * len(course.rubrics))
        if on_start:
            on_start(len(submissions))
        cache = ResultCache(layout, enabled=use_cache)
        templates = answer_templates(course)
        prints = _prints(options)
        plans = {s.student: plan_submission(s, options, cache, prints) for s in submissions}
        options = scores_for_batch(layout, options, {p: plan.notebooks for p, plan in plans.items()},
                                   templates, manual_import)
        reports: dict[str, dict[str, Any]] = {}

        def finish(plan: _Plan) -> None:
            reports[plan.submission.student] = data = write_student(plan, options, layout, templates, context, warn)
            if on_done:
                on_done(data)

        jobs = [job for plan in plans.values() for job in plan.jobs.values()]
        if on_planned:
            on_planned(jobs, [(p.submission.student, e) for p in plans.values() for e in sorted(p.cached)])
        try:
            for plan in plans.values():
                if not plan.jobs:
                    finish(plan)
            for result in executor.run(jobs, options):
                plan = plans[result.student]
                result = keep_outputs(layout, cache, plan.jobs[result.exercise], plan.keys.get(result.exercise),
                                      result)
                if probe.on_job:
                    probe.on_job(result)
                if on_job:
                    on_job(result)
                plan.runs[result.exercise] = result.run
                if plan.complete(course):
                    finish(plan)
        except KeyboardInterrupt:
            logging.getLogger("asyncio").disabled = True  # kernels closed mid-call leave pending tasks behind
            rebuild_gradebook(layout, list(plans), course)
            raise Interrupted(f"interrupted: {len(reports)} of {len(plans)} submission(s) graded and kept; "
                              "run the same command again to grade the rest") from None
        except DiskFull as exc:  # nothing more can be written: keep what was, say so, let a rerun resume
            with contextlib.suppress(DiskFull):
                rebuild_gradebook(layout, list(plans), course)
            raise DiskFull(f"{exc} ({len(reports)} of {len(plans)} submission(s) graded and kept)") from exc
        rebuild_gradebook(layout, list(plans), course)
    return [reports[student] for student in plans]


def _with_notes(submission: Submission, notes: tuple[str, ...] | list[str]) -> Submission:
    return dataclasses.replace(submission, notes=(*submission.notes, *notes)) if notes else submission


@contextlib.contextmanager
def _exclusive(layout: OutLayout) -> Iterator[None]:
    """One grade run at a time per OUT folder (a lock that goes away with the process, even on kill -9)."""
    check_writable(layout.lock().parent)  # a read-only OUT is the instructor's to fix (exit 2); a full one stops here
    with out_lock(layout):
        yield
