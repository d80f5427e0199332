"""The `grade` command. Each subcommand parses, makes one call into the library, and prints the result.

Exit codes: 0 success; 1 the thing checked did not pass (`check`, `verify`); otherwise the `exit_code` of the
error (grader/errors.py: 2 usage error, 3 the grader itself failed, 130 interrupted), mapped once, in
`GradeGroup.invoke`, to one line without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .cli_base import (CheckedCommand, ExportGroup, GradeGroup, check_executor, course_option, err, export_options,
                       found_course_option, isolation_option, lang_option, torch_option, undone_unless_graded,
                       worker_options)
from .errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .sandbox import Limits
from .textsafe import for_markdown, for_terminal

__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_USAGE", "main"]

out = Console(soft_wrap=True)


def _course(path: Path) -> Any:
    from .course import load_course

    return load_course(path)


def _found_course(course_dir: Path | None, start: Path) -> Any:
    """--course, else the nearest course folder at or above `start`, else at or above the current folder."""
    from .course import find_course

    if course_dir is None:
        try:
            course_dir = find_course(start)
        except UsageError:
            course_dir = find_course(Path.cwd())
    return _course(course_dir)


def _export_options(formats: tuple[str, ...], lang: str, after_due_date: bool, due: Any, course: Any = None) -> Any:
    """The export options; without --due, course.toml's last due date (every exercise due) is the due date."""
    from .export import ExportOptions
    from .reporters.view import due_date_passed

    if due is None and course is not None:
        due = course.settings.last_due()
    return ExportOptions(lang, tuple(dict.fromkeys(formats)), after_due_date or due_date_passed(due))


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
    exports = _export_options(formats, lang, after_due_date, due, course)
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
                                  on_warning=_warn, executor=remote, manual_import=manual_file,
                                  on_planned=progress.planned, on_job=progress.notebook_done,
                                  lms_inputs=LmsInputs(roster, late_days))
    err.print(for_terminal(progress.summary()), highlight=False)
    written = write_exports(out_dir, reports, course, exports)
    out.print(results_table(reports, list(course.rubrics), out_dir))
    _print_written(out_dir, written)


def results_table(reports: list[dict[str, Any]], exercises: list[str], out_dir: Path) -> Table:
    """The batch's terminal table; student ids and names are shown as text (no markup, no control characters).

    A `name` column (the roster's name, else the zip's, `LATE` when Canvas said so) when the LMS named anyone."""
    table = Table(title=for_terminal(f"{len(reports)} submission(s) graded -> {out_dir}"))
    table.add_column("student")
    named = any(r.get("lms") for r in reports)
    if named:
        table.add_column("name")
    table.add_column("score", justify="right")
    for exercise in exercises:
        table.add_column(for_terminal(exercise))
    for r in reports:
        cells = [_score(e) + ("" if e["status"] == "graded" else f" ({e['status']})") for e in r["exercises"]]
        lms = r.get("lms", {})
        name = [for_terminal(" ".join(filter(None, [lms.get("real_name") or lms.get("name", ""),
                                                     "LATE" if lms.get("late") else ""])))] if named else []
        table.add_row(for_terminal(r["student"]), *name, _score(r), *cells)
    return table


def _score(entry: dict[str, Any]) -> str:
    """`90/100`, `90/100 (+10 pending)` while points await a person's score, `72/100 (2 days late, raw 90)`."""
    pending = entry.get("pending", 0)
    late = entry.get("late")
    final = entry.get("final_score", entry["score"])
    text = f"{final:g}/{entry['max_score']:g}" + (f" (+{pending:g} pending)" if pending else "")
    if late:
        return text + f" ({late['days']} day{'s' * (late['days'] != 1)} late, raw {entry['score']:g})"
    return text + (f" (raw {entry['score']:g})" if final != entry["score"] else "")


def _warn(line: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {for_terminal(line)}", highlight=False)


def _print_written(out_dir: Path, written: list[Path]) -> None:
    from .layout import OutLayout

    html = OutLayout(out_dir).feedback_html("<student>")
    out.print(f"feedback: {for_terminal(str(html))} and {html.with_suffix('.md').name}", highlight=False)
    for path in written:
        out.print(f"wrote {for_terminal(str(path))}", highlight=False)


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

    serve(out_dir, _course(course_dir), lang, open_browser=not no_browser, port=port, who=who or default_who())


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
    problems = verify(_course(course_dir), isolation,
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


@main.group("export", cls=ExportGroup)
def export_group() -> None:
    """Write what goes out of the grader: reports' files (`grade export OUT`), the Gradescope or student bundle.

    \b
    grade export OUT                       same as `grade export reports OUT`
    grade export reports OUT               rewrite feedback, summary and --format files from the reports in OUT
    grade export moodle OUT --worksheet F  Moodle's grading worksheet F with the grades filled in
    grade export gradescope OUT.zip        the Gradescope autograder (hidden checks and secret inside)
    grade export student OUT_DIR|OUT.zip   what students receive: exercises, public checks, the grader
    grade export answers OUT DIR           each student's written answers as one HTML (Gradescope manual questions)
    """


@export_group.command("reports")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@course_option
@export_options
def export_cmd(out_dir: Path, course_dir: Path, formats: tuple[str, ...], lang: str, after_due_date: bool,
               due: Any) -> None:
    """Rewrite feedback, summary and --format files from the reports in OUT, without grading again."""
    from .export import load_reports, write_exports

    course = _course(course_dir)
    written = write_exports(out_dir, load_reports(out_dir), course,
                            _export_options(formats, lang, after_due_date, due, course))
    _print_written(out_dir, written)


@export_group.command("moodle")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--worksheet", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="The assignment's grading worksheet as Moodle downloaded it (one per Moodle assignment).")
@click.option("--exercise", default=None, metavar="ID",
              help="Grade with this exercise's score. Default: the total over every exercise.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the filled worksheet goes. Default: OUT/moodle_<worksheet name>.")
def export_moodle_cmd(out_dir: Path, worksheet: Path, exercise: str | None, output: Path | None) -> None:
    """Fill Moodle's offline grading worksheet with the scores in OUT (after the late policy), for "Upload
    grading worksheet"."""
    from .export import load_reports
    from .reporters.moodle import write_moodle_worksheet

    reports = load_reports(out_dir)
    if exercise is not None and not any(ex["id"] == exercise for r in reports for ex in r["exercises"]):
        raise UsageError(f"no exercise {exercise!r} in the reports in {out_dir}")
    target = output or out_dir / f"moodle_{worksheet.name}"
    result = write_moodle_worksheet(worksheet, reports, target, exercise)
    for student in result.not_in_worksheet:
        _warn(f"student {student}: graded but not in the worksheet (not a Moodle participant id?)")
    for student in result.locked:
        _warn(f"student {student}: the worksheet says the grade cannot be changed; left as it was")
    out.print(f"wrote {for_terminal(str(target))} ({result.graded} grade(s) filled in)", highlight=False)


@export_group.command("gradescope")
@click.argument("out_zip", metavar="OUT.zip", type=click.Path(dir_okay=False, path_type=Path))
@course_option
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The instructor secret, as for `grade run`. Default: $GRADER_SECRET, else a new secret stored in "
                   "the bundle.")
@click.option("--isolation", type=click.Choice(["auto", "strict", "none"]), default="auto", show_default=True,
              help="Isolation on Gradescope's machine (auto: bubblewrap when it works there).")
@lang_option
@torch_option
def export_gradescope_cmd(out_zip: Path, course_dir: Path, secret_file: Path | None, isolation: str, lang: str,
                          torch_version: str) -> None:
    """Build the Gradescope autograder zip: setup.sh, run_autograder, the grader and the whole course."""
    from .bundles import build_gradescope_bundle
    from .bundles.gradescope import bundle_secret

    written = build_gradescope_bundle(_course(course_dir), out_zip, bundle_secret(secret_file), lang=lang,
                                      isolation=isolation, torch_version=torch_version)
    out.print(f"wrote {for_terminal(str(written))} (for Gradescope only: it holds the hidden checks and the "
              "secret)", highlight=False)


@export_group.command("answers")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@click.argument("target", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@course_option
@lang_option
def export_answers_cmd(out_dir: Path, target: Path, course_dir: Path, lang: str) -> None:
    """Write each graded student's written answers as DIR/<student>.html, to grade them as Gradescope questions."""
    from .written_export import export_answers

    written = export_answers(out_dir, target, _course(course_dir), lang)
    out.print(f"wrote {len(written)} page(s) of written answers to {for_terminal(str(target))}", highlight=False)


@export_group.command("student")
@click.argument("target", metavar="OUT_DIR|OUT.zip", type=click.Path(path_type=Path))
@course_option
@torch_option
def export_student_cmd(target: Path, course_dir: Path, torch_version: str) -> None:
    """Build what students receive: exercises, public checks, rubrics without hidden hints, and the grader."""
    from .bundles import build_student_bundle

    written = build_student_bundle(_course(course_dir), target, torch_version)
    out.print(f"wrote {for_terminal(str(written))}", highlight=False)


if __name__ == "__main__":
    main()
