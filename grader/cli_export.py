"""`grade export ...`: what goes out of the grader (reports' files, Moodle worksheet, written answers, bundles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .cli_base import (ExportGroup, course_at, export_settings, print_written, warn, course_option,
                       export_options, lang_option, out, torch_option)
from .errors import UsageError
from .textsafe import for_terminal


@click.group("export", cls=ExportGroup)
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

    course = course_at(course_dir)
    written = write_exports(out_dir, load_reports(out_dir), course,
                            export_settings(formats, lang, after_due_date, due, course), warn)
    print_written(out_dir, written)


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
        warn(f"student {student}: graded but not in the worksheet (not a Moodle participant id?)")
    for student in result.locked:
        warn(f"student {student}: the worksheet says the grade cannot be changed; left as it was")
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

    written = build_gradescope_bundle(course_at(course_dir), out_zip, bundle_secret(secret_file), lang=lang,
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

    written = export_answers(out_dir, target, course_at(course_dir), lang)
    out.print(f"wrote {len(written)} page(s) of written answers to {for_terminal(str(target))}", highlight=False)


@export_group.command("student")
@click.argument("target", metavar="OUT_DIR|OUT.zip", type=click.Path(path_type=Path))
@course_option
@torch_option
def export_student_cmd(target: Path, course_dir: Path, torch_version: str) -> None:
    """Build what students receive: exercises, public checks, rubrics without hidden hints, and the grader."""
    from .bundles import build_student_bundle

    written = build_student_bundle(course_at(course_dir), target, torch_version)
    out.print(f"wrote {for_terminal(str(written))}", highlight=False)


