"""The click plumbing under grader/cli.py: groups that map every error to its exit code, shared options, types."""

from __future__ import annotations

import contextlib
import difflib
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn

import click
from rich.console import Console

from .errors import EXIT_INTERNAL, GraderError, Interrupted, UsageError
from .textsafe import for_terminal

INTERRUPTED = {"run": "interrupted; run the same command again to finish", "verify": "verify interrupted"}
err = Console(stderr=True, soft_wrap=True)


class DefaultGroup(click.Group):
    """`grade SUBMISSIONS` means `grade run SUBMISSIONS`: arguments that name no command go to `default_command`."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            _refuse_mistyped_command(ctx, args[0], list(self.commands))
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _refuse_mistyped_command(ctx: click.Context, word: str, commands: list[str]) -> None:
    """A first argument that names no path but looks like a command is a typo of it, not a path (exit 2)."""
    if word.startswith("-") or Path(word).exists():
        return
    meant = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if meant:
        prog = ctx.command_path
        raise click.UsageError(f"no command or path {word!r}; did you mean `{prog} {meant[0]}`?", ctx)


class GradeGroup(DefaultGroup):
    """The `grade` command: every error that reaches it ends as one line and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (exit 2), --help, --version
        except KeyboardInterrupt:
            _exit_on(Interrupted(INTERRUPTED.get(ctx.invoked_subcommand or "", "interrupted")))
        except Exception as exc:  # one line and a reliable exit code, never a traceback
            _exit_on(exc)


class ExportGroup(DefaultGroup):
    """`grade export OUT` means `grade export reports OUT`."""

    default_command = "reports"


class CheckedCommand(click.Command):
    """A command whose options are also checked together, as soon as they are parsed: `validate(params)`."""

    def __init__(self, *args: Any, validate: Callable[[dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validate = validate

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        self.validate(ctx.params)
        return rest


def _exit_on(exc: Exception) -> NoReturn:
    if isinstance(exc, Interrupted):  # finished reports are kept; the next run grades the rest
        err.print(f"[yellow]{for_terminal(str(exc))}[/yellow]", highlight=False)
    elif isinstance(exc, GraderError):
        err.print(f"[red]error:[/red] {for_terminal(str(exc))}", highlight=False)
    else:
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {for_terminal(str(exc))}", highlight=False)
    sys.exit(exc.exit_code if isinstance(exc, GraderError) else EXIT_INTERNAL)


@contextlib.contextmanager
def undone_unless_graded(layout: Any, progress: Any) -> Iterator[None]:
    """A run that fails before `progress` has seen a report removes what it made in OUT (`layout`): the secret
    and the folders that did not exist before (reports made with a secret need it to be regraded the same)."""
    made = next((p for p in (layout.root, layout.instructor_dir(), layout.secret()) if not p.exists()), None)
    try:
        yield
    except BaseException:
        if made is not None and progress.finished == 0:
            if made.is_dir():
                shutil.rmtree(made, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):  # never made (a read-only OUT): nothing to undo
                    made.unlink(missing_ok=True)
        raise


course_option = click.option("--course", "course_dir", type=click.Path(file_okay=False, path_type=Path),
                             default=Path("."), show_default=True,
                             help="Course folder holding rubrics/, reference/ and exercises/.")


def found_course_option(start: str, what: str = "Course folder holding rubrics/, reference/ and exercises/.") -> Any:
    """--course for a command that looks for the course itself, from `start` (a path it is given) upwards."""
    return click.option("--course", "course_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"{what} Default: the nearest one at or above {start}, else at or above the current "
                             "folder.")


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


def worker_options(command: Any) -> Any:
    """--workers and --torch-threads: how many notebooks run at once, and torch's threads in each."""
    command = click.option("--torch-threads", type=click.IntRange(min=1), default=None,
                           help="Intra-op threads of torch in each kernel and worker. Default: cores // workers, "
                                "so that the workers do not oversubscribe the cores.")(command)
    return click.option("--workers", type=click.IntRange(min=1), default=None,
                        help="Notebooks graded at once, each in a worker process. Default: the number of "
                             "cores.")(command)


def check_executor(params: dict[str, Any]) -> None:
    """--executor, --scheduler and --workers go together only in some ways."""
    name, scheduler, workers = params["executor"], params["scheduler"], params["workers"]
    if name == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (the dask scheduler, e.g. tcp://10.0.0.5:8786)")
    if name == "dask" and workers is not None:
        raise UsageError("--workers is for --executor local; a dask cluster grades on all its workers "
                         "(start them with dask worker ADDRESS --nworkers N --nthreads 1)")
    if name != "dask" and scheduler:
        raise UsageError("--scheduler is only used with --executor dask")


torch_option = click.option("--torch", "torch_version", default="2.13.0", show_default=True,
                            help="The torch version the bundle installs (CPU build).")


# -- shared by the commands (cli.py, cli_export.py) -----------------------------------------------------------
out = Console(soft_wrap=True)


def course_at(path: Path) -> Any:
    from .course import load_course

    return load_course(path)


def export_settings(formats: tuple[str, ...], lang: str, after_due_date: bool, due: Any, course: Any = None) -> Any:
    """The export options; without --due, course.toml's last due date (every exercise due) is the due date."""
    from .export import ExportOptions
    from .reporters.view import due_date_passed

    if due is None and course is not None:
        due = course.settings.last_due()
    return ExportOptions(lang, tuple(dict.fromkeys(formats)), after_due_date or due_date_passed(due))


def warn(line: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {for_terminal(line)}", highlight=False)


def print_written(out_dir: Path, written: list[Path]) -> None:
    from .layout import OutLayout

    html = OutLayout(out_dir).feedback_html("<student>")
    out.print(f"feedback: {for_terminal(str(html))} and {html.with_suffix('.md').name}", highlight=False)
    for path in written:
        out.print(f"wrote {for_terminal(str(path))}", highlight=False)
