"""Everything written from the reports after a batch: feedback, the class summary and the optional formats.

Works on report.json dicts (what `grade_batch` returns, or what `load_reports` reads back), so
`grade run` writes these right after grading and `grade export` rewrites them later (another language,
the due date passed) without grading again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import i18n
from .errors import GraderError, UsageError
from .files import write_atomic
from .intake import intake_students
from .layout import FEEDBACK_HTML, FEEDBACK_MD, OutLayout, migrate_legacy
from .reporters.canvas import anonymous_students, write_canvas
from .reporters.feedback_html import render_feedback_html
from .reporters.feedback_md import PLOT_DIR, render_feedback_md
from .reporters.gradescope import write_gradescope
from .reporters.json_report import validate_report
from .reporters.junit import write_junit
from .reporters.stats import class_stats, read_tags
from .reporters.summary_html import render_summary_html
from .reporters.view import feedback_view
from .similarity import class_near_copies, write_near_copies

FORMATS = ("gradescope", "junit", "canvas")


@dataclass(frozen=True)
class ExportOptions:
    """`formats` adds to feedback.html, feedback.md and summary.html, which are always written."""

    lang: str = i18n.DEFAULT_LANG
    formats: tuple[str, ...] = ()
    show_after_due_date: bool = False

    def __post_init__(self) -> None:
        i18n.check_lang(self.lang)
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown:
            raise UsageError(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")


def load_reports(out_dir: Path) -> list[dict[str, Any]]:
    """Every student's report.json in OUT, validated against the report schema, sorted by student.

    An OUT of the old layout (OUT/<student>/report.json) is moved into the current one first
    (grader/layout.py `migrate_legacy`), so its feedback is written beside its reports and notebooks.
    """
    if not out_dir.is_dir():
        raise UsageError(f"reports folder not found: {out_dir}")
    layout = OutLayout(out_dir)
    try:
        migrate_legacy(layout)
    except OSError as exc:
        raise UsageError(f"{out_dir}: an OUT of the old layout could not be moved to the new one "
                         f"({exc.strerror or exc})") from None
    reports = []
    for path in layout.reports():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: cannot be read as JSON ({exc})") from None
        try:
            validate_report(data)
        except GraderError as exc:  # on write a mismatch is the grader's bug; here, a file edited or from elsewhere
            raise UsageError(f"{path}: {exc}") from None
        reports.append(data)
    if not reports:
        raise UsageError(f"no report.json under {out_dir}; grade the submissions first")
    return sorted(reports, key=lambda r: r["student"])


def write_feedback(report: dict[str, Any], student_dir: Path, course: Any | None, options: ExportOptions) -> None:
    """feedback.html and feedback.md (with its plots) for one student, in `student_dir`."""
    view = feedback_view(report, course, options.lang, options.show_after_due_date, student_dir)
    write_atomic(student_dir / FEEDBACK_HTML, render_feedback_html(view))
    text, files = render_feedback_md(view)
    for old in (student_dir / PLOT_DIR).glob("*.png"):
        if f"{PLOT_DIR}/{old.name}" not in files:
            old.unlink()
    for name, data in files.items():
        write_atomic(student_dir / name, data)
    write_atomic(student_dir / FEEDBACK_MD, text)


def write_exports(out_dir: Path, reports: list[dict[str, Any]], course: Any | None,
                  options: ExportOptions = ExportOptions(), warn: Callable[[str], None] | None = None) -> list[Path]:
    """Write every output for `reports` under `out_dir`; returns the batch-level files written. `warn` gets
    what an LMS will not take as written (students of an anonymous Canvas zip)."""
    layout = OutLayout(out_dir)
    for report in reports:
        write_feedback(report, layout.student_dir(report["student"]), course, options)
        if "gradescope" in options.formats:
            write_gradescope(report, layout.gradescope_results(report["student"]), course, options.lang)
    rubrics = course.rubrics.values() if course is not None else ()
    manual = frozenset(m.id for r in rubrics for q in r.questions for m in q.manual)
    written = [layout.summary()]
    stats = class_stats(reports, manual, tags=read_tags(layout, [r["student"] for r in reports]))
    copies = class_near_copies(layout, reports, course)
    write_near_copies(layout, copies)
    write_atomic(written[0], render_summary_html(stats, course, options.lang, copies))
    if "junit" in options.formats:
        written.append(layout.junit())
        write_junit(reports, written[-1])
    if "canvas" in options.formats:
        written.append(layout.canvas_gradebook())
        canvas_ids = intake_students(layout.intake_dir(), "canvas")
        write_canvas(reports, _exercise_maxima(reports, course), written[-1], canvas_ids)
        anonymous = anonymous_students(reports, canvas_ids)
        if anonymous and warn is not None:
            warn(f"{len(anonymous)} student(s) of an anonymous Canvas zip ({', '.join(anonymous[:3])}"
                 f"{', ...' if len(anonymous) > 3 else ''}): Canvas's gradebook import cannot match an anonymous "
                 "id; enter their grades in SpeedGrader, which shows the same ids")
    return written


def _exercise_maxima(reports: list[dict[str, Any]], course: Any | None) -> list[tuple[str, float]]:
    if course is not None:
        return [(exercise, rubric.max_score) for exercise, rubric in course.rubrics.items()]
    maxima: dict[str, float] = {}
    for report in reports:
        for ex in report["exercises"]:
            maxima[ex["id"]] = max(maxima.get(ex["id"], 0.0), ex["max_score"])
    return list(maxima.items())
