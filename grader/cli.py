"""The `grade` command. Each subcommand parses, makes one call into the library, and prints the result.

Exit codes: 0 success; 1 the thing checked did not pass (`check`, `verify`); 2 usage error; 3 the grader
itself failed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .errors import GraderError, RubricError, SandboxError, UsageError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class DefaultGroup(click.Group):
    """`grade SUBMISSIONS` means `grade run SUBMISSIONS`: arguments that name no command go to `default_command`."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


class ExportGroup(DefaultGroup):
    """`grade export OUT` means `grade export reports OUT`."""

    default_command = "reports"


def _fail(exc: Exception) -> None:
    if isinstance(exc, GraderError):
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_USAGE if isinstance(exc, (UsageError, RubricError, SandboxError)) else EXIT_INTERNAL)
    err.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))}", highlight=False)
    sys.exit(EXIT_INTERNAL)


def _course(path: Path) -> Any:
    from .course import load_course

    return load_course(path)


course_option = click.option("--course", "course_dir", type=click.Path(file_okay=False, path_type=Path),
                             default=Path("."), show_default=True,
                             help="Course folder holding rubrics/, reference/ and exercises/.")
isolation_option = click.option(
    "--isolation", type=click.Choice(["auto", "strict", "none"]), default="auto", show_default=True,
    help="strict: refuse to run without bubblewrap; auto: use it when it works and say so; none: limits only.")
lang_option = click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                           help="Language of feedback, summary and self-check output (zh: Chinese).")


class DueDate(click.ParamType):
    """An ISO 8601 date or date-time (`2025-03-01`, `2025-03-01T23:59+08:00`); naive ones are local time."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from datetime import datetime

        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date such as 2025-03-01 or 2025-03-01T23:59+08:00", param, ctx)


def export_options(command: Any) -> Any:
    """--format, --lang, --after-due-date, --due: what is written from the reports."""
    for decorator in reversed([
        click.option("--format", "formats", multiple=True, type=click.Choice(["gradescope", "junit", "canvas"]),
                     help="Also write: gradescope (OUT/<student>/results.json), junit (OUT/junit.xml), canvas "
                          "(OUT/gradebook_canvas.csv). Repeatable. feedback.html/.md and summary.html are always "
                          "written."),
        lang_option,
        click.option("--after-due-date", is_flag=True,
                     help="Show checks whose visibility is after_due_date in the students' feedback."),
        click.option("--due", type=DueDate(), default=None,
                     help="Due date; once it has passed, after_due_date checks are shown (as --after-due-date)."),
    ]):
        command = decorator(command)
    return command


def _export_options(formats: tuple[str, ...], lang: str, after_due_date: bool, due: Any) -> Any:
    from .export import ExportOptions
    from .reporters.view import due_date_passed

    return ExportOptions(lang, tuple(dict.fromkeys(formats)), after_due_date or due_date_passed(due))


def worker_options(command: Any) -> Any:
    """--workers and --torch-threads: how many notebooks run at once, and torch's threads in each."""
    command = click.option("--torch-threads", type=click.IntRange(min=1), default=None,
                           help="Intra-op threads of torch in each kernel and worker. Default: cores // workers, "
                                "so that the workers do not oversubscribe the cores.")(command)
    return click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="Notebooks graded at once, each in a worker process. Default: the number of "
                             "cores.")(command)


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
    err.print(f"grading on the dask cluster at {escape(scheduler)} ({len(executor.client.nthreads())} worker(s))",
              highlight=False)
    return executor


def _check_executor(name: str, scheduler: str | None, workers: int | None) -> None:
    if name == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (the dask scheduler, e.g. tcp://10.0.0.5:8786)")
    if name == "dask" and workers is not None:
        raise UsageError("--workers is for --executor local; a dask cluster grades on all its workers "
                         "(start them with dask worker ADDRESS --nworkers N --nthreads 1)")
    if name != "dask" and scheduler:
        raise UsageError("--scheduler is only used with --executor dask")


def _interrupted(message: str) -> None:
    err.print(f"[yellow]{escape(message)}[/yellow]", highlight=False)
    sys.exit(EXIT_INTERRUPTED)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade PyTorch course notebooks in sandboxed kernels.

    \b
    grade SUBMISSIONS [--out OUT]   grade every submission (same as `grade run`)
    grade check NOTEBOOK            students: run the public checks on one notebook
    grade export OUT                rewrite feedback, summary and exports from the reports
    grade export gradescope|student the Gradescope autograder zip; the students' bundle
    grade assign                    build exercises/ from reference/
    grade verify                    prove the checks right (course CI)
    """


@main.command("run")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where reports go. Default: SUBMISSIONS/../graded (a folder `graded` beside SUBMISSIONS).")
@course_option
@isolation_option
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File holding the instructor secret for hidden random inputs. Default: $GRADER_SECRET, else a "
                   "secret created once in OUT/.instructor/secret.")
@click.option("--manual", "manual_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Instructor scores for written answers (CSV or TOML; see README).")
@click.option("--cell-timeout", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds per cell.")
@click.option("--notebook-timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds for a whole notebook.")
@click.option("--memory", "memory_mb", type=click.IntRange(min=256), default=6144, show_default=True,
              help="Address-space limit of a student kernel, MiB.")
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
@export_options
def run(submissions: Path, out_dir: Path | None, course_dir: Path, isolation: str, secret_file: Path | None,
        manual_file: Path | None, cell_timeout: float, notebook_timeout: float, memory_mb: int,
        workers: int | None, torch_threads: int | None, executor: str, scheduler: str | None, no_cache: bool,
        cold_start: bool, formats: tuple[str, ...], lang: str, after_due_date: bool, due: Any) -> None:
    """Grade every submission in SUBMISSIONS: a folder per student, a notebook file per student, or the
    "download all submissions" zip of Canvas or Moodle (unpacked into OUT/.instructor/intake/)."""
    from .options import GradingOptions
    from .batch import INSTRUCTOR_DIR, grade_batch
    from .errors import Interrupted
    from .manual import load_manual_scores
    from .probe import probe_line
    from .sandbox import Limits, resolve_isolation
    from .secret import resolve_secret

    try:
        _check_executor(executor, scheduler, workers)
        course = _course(course_dir)
        out_dir = out_dir or submissions.resolve().parent / "graded"
        report = resolve_isolation(isolation)
        if report.warning:
            err.print(f"[yellow]warning:[/yellow] {escape(report.warning)}", highlight=False)
        else:
            err.print(f"isolation: bubblewrap ({', '.join(k for k, v in report.protections.items() if v)})",
                      highlight=False)
        secret, _ = resolve_secret(secret_file, out_dir / INSTRUCTOR_DIR / "secret")
        manual_ids = {m.id for r in course.rubrics.values() for q in r.questions for m in q.manual}
        manual = load_manual_scores(manual_file, manual_ids) if manual_file else {}
        if executor == "dask":
            torch_threads = torch_threads or 1  # the dask workers' cores are not this machine's
        workers, torch_threads = _workers(workers, torch_threads)
        limits = Limits(cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                        memory_bytes=memory_mb * 1024**2, torch_threads=torch_threads)
        options = GradingOptions(course, report, limits, secret, manual_scores=manual, warm_start=not cold_start)
        exports = _export_options(formats, lang, after_due_date, due)
        with _executor(executor, scheduler, options) as remote, \
                Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                         TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True) as progress:
            task = progress.add_task("grading", total=None)

            def start(n: int) -> None:  # the grader's own probe notebook first: exit 3 when no kernel runs here
                if n and remote is None:
                    err.print(escape(probe_line(report, limits, options.warm_start)), highlight=False)
                progress.update(task, total=n)

            reports = grade_batch(submissions, out_dir, options, on_start=start,
                                  on_done=lambda r: progress.advance(task), workers=workers,
                                  use_cache=not no_cache, on_warning=_warn, executor=remote)
        from .export import write_exports

        written = write_exports(out_dir, reports, course, exports)
    except Interrupted as exc:  # finished reports are kept; the next run grades the rest
        _interrupted(str(exc))
        return
    except KeyboardInterrupt:
        _interrupted("interrupted; run the same command again to finish")
        return
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    table = Table(title=f"{len(reports)} submission(s) graded -> {out_dir}")
    table.add_column("student")
    table.add_column("score", justify="right")
    for exercise in course.rubrics:
        table.add_column(exercise)
    for r in reports:
        cells = [f"{e['score']:g}/{e['max_score']:g}" + ("" if e["status"] == "graded" else f" ({e['status']})")
                 for e in r["exercises"]]
        table.add_row(r["student"], f"{r['score']:g}/{r['max_score']:g}", *cells)
    out.print(table)
    _print_written(out_dir, written)


def _warn(line: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)


def _print_written(out_dir: Path, written: list[Path]) -> None:
    out.print(f"feedback: {escape(str(out_dir))}/<student>/feedback.html and feedback.md", highlight=False)
    for path in written:
        out.print(f"wrote {escape(str(path))}", highlight=False)


@main.command("assign")
@course_option
def assign_cmd(course_dir: Path) -> None:
    """Build exercises/ from reference/ (solutions replaced by TODO stubs, hidden material removed)."""
    from .assign import assign

    try:
        written = assign(course_dir / "reference", course_dir / "exercises")
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    for path in written:
        out.print(f"wrote {path}")


@main.command("verify")
@course_option
@isolation_option
@worker_options
def verify_cmd(course_dir: Path, isolation: str, workers: int | None, torch_threads: int | None) -> None:
    """Prove the checks right: references full marks, blanks zero, each known-wrong solution loses its question."""
    from .verify import verify

    try:
        workers, torch_threads = _workers(workers, torch_threads)
        problems = verify(_course(course_dir), isolation, log=lambda line: err.print(escape(line), highlight=False),
                          workers=workers, torch_threads=torch_threads)
    except KeyboardInterrupt:
        _interrupted("verify interrupted")
        return
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    if problems:
        for line in problems:
            err.print(f"[red]FAIL[/red] {escape(line)}", highlight=False)
        sys.exit(EXIT_FAILED)
    out.print("verify: all course material holds up")


@main.command("check")
@click.argument("notebook", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--course", "course_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding rubrics/ (the course or the student bundle). Default: the nearest one at or "
                   "above the notebook's folder, else the current folder.")
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
    from .selfcheck import (append_summary_md, check_notebook, find_course, render_markdown, rich_table,
                            write_self_check_junit)

    try:
        if course_dir is None:
            try:
                course_dir = find_course(notebook.parent)
            except UsageError:
                course_dir = find_course(Path.cwd())
        course = _course(course_dir)
        result = check_notebook(notebook, course, isolation, exercise)
        if junit_file is not None:
            write_self_check_junit(result, junit_file)
        if summary_file is not None:
            append_summary_md(summary_file, render_markdown(result, course, lang))
    except NotebookError as exc:  # the student's file is the problem: a failed check, not a grader failure
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        if summary_file is not None:
            append_summary_md(summary_file, f"### ❌ {notebook.name}\n\n{' '.join(str(exc).split())}\n\n")
        sys.exit(EXIT_FAILED)
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    for renderable in rich_table(result, course, lang):
        out.print(renderable)
    if not result.passed:
        sys.exit(EXIT_FAILED)


@main.group("export", cls=ExportGroup)
def export_group() -> None:
    """Write what goes out of the grader: reports' files (`grade export OUT`), the Gradescope or student bundle.

    \b
    grade export OUT                       same as `grade export reports OUT`
    grade export reports OUT               rewrite feedback, summary and --format files from the reports in OUT
    grade export gradescope OUT.zip        the Gradescope autograder (hidden checks and secret inside)
    grade export student OUT_DIR|OUT.zip   what students receive: exercises, public checks, the grader
    """


@export_group.command("reports")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
@course_option
@export_options
def export_cmd(out_dir: Path, course_dir: Path, formats: tuple[str, ...], lang: str, after_due_date: bool,
               due: Any) -> None:
    """Rewrite feedback, summary and --format files from the reports in OUT, without grading again."""
    from .export import load_reports, write_exports

    try:
        course = _course(course_dir)
        options = _export_options(formats, lang, after_due_date, due)
        written = write_exports(out_dir, load_reports(out_dir), course, options)
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    _print_written(out_dir, written)


torch_option = click.option("--torch", "torch_version", default="2.13.0", show_default=True,
                            help="The torch version the bundle installs (CPU build).")


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

    try:
        secret = bundle_secret(secret_file)
        written = build_gradescope_bundle(_course(course_dir), out_zip, secret, lang=lang, isolation=isolation,
                                          torch_version=torch_version)
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    out.print(f"wrote {escape(str(written))} (for Gradescope only: it holds the hidden checks and the secret)",
              highlight=False)


@export_group.command("student")
@click.argument("target", metavar="OUT_DIR|OUT.zip", type=click.Path(path_type=Path))
@course_option
@torch_option
def export_student_cmd(target: Path, course_dir: Path, torch_version: str) -> None:
    """Build what students receive: exercises, public checks, rubrics without hidden hints, and the grader."""
    from .bundles import build_student_bundle

    try:
        written = build_student_bundle(_course(course_dir), target, torch_version)
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    out.print(f"wrote {escape(str(written))}", highlight=False)


if __name__ == "__main__":
    main()
