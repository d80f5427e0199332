"""The `grade` command. Each subcommand parses, makes one call into the library, and prints the result.

Exit codes: 0 success; 1 the thing checked did not pass (`check`, `verify`); otherwise the `exit_code` of the
error (grader/errors.py: 2 usage error, 3 the grader itself failed, 130 interrupted), mapped once, in
`GradeGroup.invoke`, to one line without a traceback.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cli_base import (CheckedCommand, GradeGroup, check_executor, course_at, course_option, err, export_options,
                       export_settings, found_course_option, isolation_option, lang_option, out, print_written,
                       undone_unless_graded, warn, worker_options)
from .cli_export import export_group
from .errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .reporters.terminal import results_table
from .sandbox import Limits
from .textsafe import for_markdown, for_terminal

__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_USAGE", "main"]



def _found_course(course_dir: Path | None, start: Path) -> Any:
    """--course, else the nearest course folder at or above `start`, else at or above the current folder."""
    from .course import find_course

    if course_dir is None:
        try:
            course_dir = find_course(start)
        except UsageError:
            course_dir = find_course(Path.cwd())
    return course_at(course_dir)


def _workers(workers: int | None, torch_threads: int | None) -> tuple[int, int]:
    from .pool import default_torch_threads, default_workers

    workers = workers or default_workers()
    return workers, torch_threads or default_torch_threads(workers)


def _executor(name: str, scheduler: str | None, options: Any) -> Any:
    """A context manager giving None (the local worker pool) or a connected DaskExecutor (grader/distributed.py)."""
    import contextlib

    if name != "dask":
        return contextlib.nullcontext(None)
    from .distributed import connect

    assert scheduler is not None
    executor = connect(scheduler, options)
    err.print(f"grading on the dask cluster at {for_terminal(scheduler)} "
              f"({len(executor.client.nthreads())} worker(s))", highlight=False)
    return executor


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade PyTorch course notebooks in sandboxed kernels.

    \b
    grade SUBMISSIONS [--out OUT]   grade every submission (same as `grade run`)
    grade check NOTEBOOK            students: run the public checks on one notebook
    grade export OUT                rewrite feedback, summary and exports from the reports
    grade export gradescope|student the Gradescope autograder zip; the students' bundle
    grade review OUT                score written answers and doubtful verdicts in the browser
    grade new EXERCISE_ID           scaffold a new exercise (reference, rubric, checks; docs/AUTHORING.md)
    grade assign                    build exercises/ from reference/
    grade verify                    prove the checks right (course CI)
    """


@main.command("run", cls=CheckedCommand, validate=check_executor)
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where reports go. Default: SUBMISSIONS/../graded (a folder `graded` beside SUBMISSIONS).")
@found_course_option("SUBMISSIONS")
@isolation_option
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File holding the instructor secret for hidden random inputs. Default: $GRADER_SECRET, else a "
                   "secret created once in OUT/.instructor/secret.")
@click.option("--manual", "manual_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Import scores for written answers (CSV or TOML; see README) into OUT's score store, which "
                   "every run reads.")
@click.option("--cell-timeout", type=click.FloatRange(min=1), default=Limits.cell_timeout, show_default=True,
              help="Seconds per cell.")
@click.option("--notebook-timeout", type=click.FloatRange(min=1), default=Limits.notebook_timeout, show_default=True,
              help="Seconds for a whole notebook.")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=Limits.memory_bytes // 1024**2,
              show_default=True, help="Address-space limit of a student kernel, MiB.")
@worker_options
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes on this machine (--workers); dask: tasks on a dask.distributed "
                   "cluster (--scheduler; see README).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --executor dask: the dask scheduler's address, e.g. tcp://10.0.0.5:8786.")
@click.option("--no-cache", is_flag=True,
              help="Grade every notebook again, even those unchanged since the last run into OUT (see README).")
@click.option("--cold-start", is_flag=True,
              help="Start every kernel from scratch instead of forking it from a warm kernel factory (see README).")
@click.option("--roster", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The LMS's gradebook export (or Moodle's grading worksheet): maps the ids to real names.")
@click.option("--late-days", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="CSV student,days[,exercise]: days late where the submissions do not say (see README).")
@export_options
def run(submissions: Path, out_dir: Path | None, course_dir: Path | None, isolation: str, secret_file: Path | None,
        manual_file: Path | None, cell_timeout: float, notebook_timeout: float, memory_mb: int,
        workers: int | None, torch_threads: int | None, executor: str, scheduler: str | None, no_cache: bool,
        cold_start: bool, roster: Path | None, late_days: Path | None, formats: tuple[str, ...], lang: str,
        after_due_date: bool, due: Any) -> None:
    """Grade every submission in SUBMISSIONS: a folder per student, a notebook file per student, or the
    "download all submissions" zip of Canvas or Moodle (unpacked into OUT/.instructor/intake/)."""
    from .batch import grade_batch
    from .export import write_exports
    from .files import check_writable
    from .layout import OutLayout
    from .lms import LmsInputs
    from .options import grading_options
    from .probe import probe_line
    from .progress import BatchProgress
    from .sandbox import resolve_isolation
    from .secret import resolve_secret

    course = _found_course(course_dir, submissions)
    out_dir = out_dir or submissions.resolve().parent / "graded"
    report = resolve_isolation(isolation)
    if report.warning:
        err.print(f"[yellow]warning:[/yellow] {for_terminal(report.warning)}", highlight=False)
    else:
        err.print(f"isolation: bubblewrap ({', '.join(k for k, v in report.protections.items() if v)})",
                  highlight=False)
    if executor == "dask":
        torch_threads = torch_threads or 1  # the dask workers' cores are not this machine's
    workers, torch_threads = _workers(workers, torch_threads)
    exports = export_settings(formats, lang, after_due_date, due, course)
    layout = OutLayout(out_dir)
    progress = BatchProgress(err, workers)
    with undone_unless_graded(layout, progress):
        check_writable(layout.secret().parent)  # a read-only OUT is a usage error, named before any work
        secret, _ = resolve_secret(secret_file, layout.secret())
        options = grading_options(course, isolation=report, secret=secret, cell_timeout=cell_timeout,
                                  notebook_timeout=notebook_timeout, memory_mb=memory_mb, torch_threads=torch_threads,
                                  warm_start=not cold_start)
        with _executor(executor, scheduler, options) as remote, progress:

            def start(n: int) -> None:  # the grader's own probe notebook first: exit 3 when no kernel runs here
                if n and remote is None:
                    line = probe_line(report, options.limits, options.warm_start, workers, n * len(course.rubrics))
                    err.print(for_terminal(line), highlight=False)
                progress.start(n)

            reports = grade_batch(submissions, out_dir, options, on_start=start,
                                  on_done=progress.student_done, workers=workers, use_cache=not no_cache,
                                  on_warning=warn, executor=remote, manual_import=manual_file,
                                  on_planned=progress.planned, on_job=progress.notebook_done,
                                  lms_inputs=LmsInputs(roster, late_days))
    err.print(for_terminal(progress.summary()), highlight=False)
    written = write_exports(out_dir, reports, course, exports, warn)
    out.print(results_table(reports, list(course.rubrics), out_dir))
    print_written(out_dir, written)


@main.command("review")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, exists=True, path_type=Path))
@course_option
@lang_option
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0, help="Port on 127.0.0.1 (default: a free one).")
@click.option("--who", default=None, help="Who the scores are by, stored with each (default: your login name).")
def review_cmd(out_dir: Path, course_dir: Path, lang: str, no_browser: bool, port: int, who: str | None) -> None:
    """Review in the browser what needs a person: written answers, stale scores, check errors (see README)."""
    from .review.app import serve, default_who

    serve(out_dir, course_at(course_dir), lang, open_browser=not no_browser, port=port, who=who or default_who())


@main.command("assign")
@course_option
def assign_cmd(course_dir: Path) -> None:
    """Build exercises/ from reference/ (solutions replaced by TODO stubs, hidden material removed)."""
    from .assign import assign

    written = assign(course_dir / "reference", course_dir / "exercises")
    for path in written:
        out.print(f"wrote {for_terminal(path)}", highlight=False)


@main.command("new")
@click.argument("exercise", metavar="EXERCISE_ID")
@course_option
@click.option("--title", default=None, help="The exercise's title (default: its id).")
@click.option("--written", is_flag=True, help="Add a written-answer cell and its manual rubric item.")
def new_cmd(exercise: str, course_dir: Path, title: str | None, written: bool) -> None:
    """Scaffold a new exercise: reference notebook, rubric, a public and a hidden check, a wrong and a right solution."""
    from .scaffold import scaffold

    for path in scaffold(course_dir, exercise, title=title, written=written):
        out.print(f"wrote {for_terminal(path)}", highlight=False)
    out.print(f"next: edit them (docs/AUTHORING.md), then `grade assign` and `grade verify --exercise {exercise}`",
              highlight=False)


@main.command("verify")
@course_option
@isolation_option
@worker_options
@click.option("--exercise", "exercises", multiple=True, metavar="ID",
              help="Verify this exercise only (repeatable). Default: every exercise of the course.")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the hidden inputs from the secret in this file, e.g. the one an earlier verify printed, to "
                   "reproduce its inputs. Default: a new secret, printed.")
def verify_cmd(course_dir: Path, isolation: str, workers: int | None, torch_threads: int | None,
               exercises: tuple[str, ...], secret_file: Path | None) -> None:
    """Prove the checks right: references full marks, blanks zero, each known-wrong solution loses its question."""
    from .secret import read_secret_file
    from .verify import verify

    workers, torch_threads = _workers(workers, torch_threads)
    secret = read_secret_file(secret_file) if secret_file else None
    problems = verify(course_at(course_dir), isolation,
                      log=lambda line: err.print(for_terminal(line), highlight=False),
                      secret=secret, workers=workers, torch_threads=torch_threads, exercises=exercises)
    if problems:
        for line in problems:
            err.print(f"[red]FAIL[/red] {for_terminal(line)}", highlight=False)
        sys.exit(EXIT_FAILED)
    out.print("verify: all course material holds up")


@main.command("check")
@click.argument("notebook", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@found_course_option("the notebook's folder", "Folder holding rubrics/ (the course or the student bundle).")
@isolation_option
@lang_option
@click.option("--exercise", default=None, help="Exercise id, when the notebook's metadata and name do not say.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the public checks as JUnit XML (for a student repository's CI).")
@click.option("--summary-md", "summary_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append the result, with points, as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY).")
def check_cmd(notebook: Path, course_dir: Path | None, isolation: str, lang: str, exercise: str | None,
              junit_file: Path | None, summary_file: Path | None) -> None:
    """Run the public checks on one NOTEBOOK: pass or fail with hints per question. Exit 0 when all pass, else 1."""
    from .errors import NotebookError
    from .reporters.junit import write_self_check_junit
    from .reporters.selfcheck import append_markdown, render_markdown, render_text, rich_table
    from .selfcheck import check_notebook

    course = _found_course(course_dir, notebook.parent)
    try:
        result = check_notebook(notebook, course, isolation, exercise)
    except NotebookError as exc:  # the student's file is the problem: a failed check, not a grader failure
        err.print(f"[red]error:[/red] {for_terminal(str(exc))}", highlight=False)
        if summary_file is not None:
            append_markdown(summary_file, f"### ❌ {for_markdown(notebook.name)}\n\n{for_markdown(exc)}\n\n")
        sys.exit(EXIT_FAILED)
    if junit_file is not None:
        write_self_check_junit(result, junit_file)
    if summary_file is not None:
        append_markdown(summary_file, render_markdown(result, course, lang))
    if out.is_terminal:
        for renderable in rich_table(result, course, lang):
            out.print(renderable)
    else:  # a CI log: no table whose narrow columns wrap a message one word per line
        out.print(render_text(result, course, lang, width=min(out.width, 100)), markup=False, highlight=False)
    if not result.passed:
        sys.exit(EXIT_FAILED)


main.add_command(export_group)


def entry() -> None:
    """The `grade` command: `main`, then leave without the interpreter's own teardown.

    With torch, pytest and the kernel machinery loaded, Python's finalisation took 0.6 s after every command,
    a fifth of a `grade check` (issue 15: students run it many times an hour). Everything the grader writes is
    closed and replaced atomically before `main` returns; the atexit handlers (kernel factories, worker
    pools) still run, and both streams are flushed.
    """
    try:
        main()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`grade check | head`): nothing more can be said there
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
