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
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class DefaultGroup(click.Group):
    """`grade SUBMISSIONS` means `grade run SUBMISSIONS`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


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


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade PyTorch course notebooks in sandboxed kernels.

    \b
    grade SUBMISSIONS [--out OUT]   grade every submission (same as `grade run`)
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
def run(submissions: Path, out_dir: Path | None, course_dir: Path, isolation: str, secret_file: Path | None,
        manual_file: Path | None, cell_timeout: float, notebook_timeout: float, memory_mb: int) -> None:
    """Grade every submission in SUBMISSIONS: a folder per student or a notebook file per student."""
    from .batch import INSTRUCTOR_DIR, GradingOptions, grade_batch
    from .manual import load_manual_scores
    from .sandbox import Limits, resolve_isolation
    from .secret import resolve_secret

    try:
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
        limits = Limits(cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                        memory_bytes=memory_mb * 1024**2)
        options = GradingOptions(course, report, limits, secret, manual_scores=manual)
        with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True) as progress:
            task = progress.add_task("grading", total=None)
            reports = grade_batch(submissions, out_dir, options,
                                  on_start=lambda n: progress.update(task, total=n),
                                  on_done=lambda r: progress.advance(task))
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
def verify_cmd(course_dir: Path, isolation: str) -> None:
    """Prove the checks right: references full marks, blanks zero, each known-wrong solution loses its question."""
    from .verify import verify

    try:
        problems = verify(_course(course_dir), isolation, log=lambda line: err.print(escape(line), highlight=False))
    except Exception as exc:  # one line and a reliable exit code, never a traceback
        _fail(exc)
        return
    if problems:
        for line in problems:
            err.print(f"[red]FAIL[/red] {escape(line)}", highlight=False)
        sys.exit(EXIT_FAILED)
    out.print("verify: all course material holds up")


if __name__ == "__main__":
    main()
