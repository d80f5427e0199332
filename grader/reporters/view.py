"""What a student may see, in their language: the one model every student-facing format renders.

`feedback_view` (a report.json dict -> feedback.html, feedback.md) and `self_check_view` (a self-check ->
`grade check`'s table, Markdown and JUnit, and `grader.check` in Jupyter) build the same check and question views.

Visibility rules (README, "Feedback"):
- `public` checks show status, points, message and, unless passed, the hint;
- `hidden` checks show their name, pass or fail, points and, unless passed, the hint only;
- `after_due_date` checks are shown like hidden ones once the due date has passed; before that they are
  left out, and so are their points (the feedback says how many were withheld).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import i18n
from ..messages import in_report, render
from ..layout import executed_in
from ..lms import late_lines, who
from .plots import Plot, notebook_plots

if TYPE_CHECKING:
    from ..selfcheck import SelfCheck


@dataclass(frozen=True)
class CheckView:
    id: str
    name: str
    status: str  # passed | failed | error | timeout | manual; a self-check also has unavailable
    status_label: str
    points: float
    max_points: float
    visibility: str
    visibility_label: str
    message: str
    hint: str
    written: bool = False  # a written answer (manual) with something written in it
    pending: float = 0.0  # points awaiting a person's score


@dataclass(frozen=True)
class QuestionView:
    id: str
    title: str
    score: float
    max_score: float
    checks: tuple[CheckView, ...]
    hidden: int = 0  # self-check: hidden and after_due_date checks still to come at grading time

    @property
    def pending(self) -> float:
        return sum(c.pending for c in self.checks)


@dataclass(frozen=True)
class ExerciseView:
    id: str
    title: str
    status: str
    status_label: str
    message: str
    score: float
    max_score: float
    notebook: str | None
    questions: tuple[QuestionView, ...]
    cells: tuple[tuple[int, str], ...]
    plots: tuple[Plot, ...]
    plots_total: int

    @property
    def pending(self) -> float:
        return sum(q.pending for q in self.questions)


@dataclass(frozen=True)
class FeedbackView:
    student: str
    lang: str
    score: float
    max_score: float
    exercises: tuple[ExerciseView, ...]
    graded_at: str
    grader_version: str
    withheld_checks: int
    withheld_points: float
    name: str = ""  # the LMS's or roster's name (grader/lms.py `who`)
    late: tuple[str, ...] = ()  # one line per late exercise (grader/lms.py `late_lines`)

    @property
    def pending(self) -> float:
        return sum(e.pending for e in self.exercises)


@dataclass(frozen=True)
class SelfCheckView:
    """A self-check: the public checks of one exercise (and written answers), and the hidden ones to come."""

    exercise: str
    title: str
    notebook: str
    status: str  # graded | not_gradable
    status_label: str
    message: str
    questions: tuple[QuestionView, ...]
    cells: tuple[tuple[int, str], ...]
    lang: str

    @property
    def automatic(self) -> list[CheckView]:
        """The public checks (written answers left out)."""
        return [c for q in self.questions for c in q.checks if c.status != "manual"]

    @property
    def passed(self) -> bool:
        """Every public check passed (written answers do not count)."""
        return self.status == "graded" and all(c.status == "passed" for c in self.automatic)

    @property
    def score(self) -> float:
        """Points of the public automatic checks: what a student repository's CI can show."""
        return sum(c.points for c in self.automatic)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.automatic)


def due_date_passed(due: datetime | None, now: datetime | None = None) -> bool:
    """True when `due` is given and already past (naive dates are local time)."""
    if due is None:
        return False
    now = now or (datetime.now(due.tzinfo) if due.tzinfo else datetime.now())
    return now >= due


def _check_view(check: dict[str, Any], text: i18n.CourseText, lang: str) -> CheckView:
    visibility = check["visibility"]
    passed = check["status"] == "passed"
    hint = "" if passed else text.hint(check["id"], check.get("hint", ""), lang)
    if visibility == "public":
        status, message = check["status"], in_report(check, lang)
    else:  # hidden, or after the due date: name, pass or fail, hint
        status, message = ("passed" if passed else "failed"), ""
    pending = check.get("pending", 0) if visibility == "public" else 0
    if status == "manual":
        message = in_report(check, lang)
        hint = "" if check["points"] >= check["max_points"] else hint
    label = i18n.status("pending" if pending else status, lang)
    return CheckView(check["id"], check["id"].rsplit(".", 1)[-1], status, label,
                     check["points"], check["max_points"], visibility, i18n.visibility(visibility, lang),
                     message, hint, pending=pending)


def _exercise_view(exercise: dict[str, Any], text: i18n.CourseText, titles: dict[str, str], lang: str,
                   show_after_due: bool, student_dir: Path | None) -> tuple[ExerciseView, int, float]:
    withheld, withheld_points = 0, 0.0
    questions = []
    for question in exercise["questions"]:
        checks = []
        for check in question["checks"]:
            if check["visibility"] == "after_due_date" and not show_after_due:
                withheld += 1
                withheld_points += check["max_points"]
                continue
            checks.append(_check_view(check, text, lang))
        if not checks:
            continue
        title = text.title(exercise["id"], question["id"], question.get("title", question["id"]), lang)
        questions.append(QuestionView(question["id"], title, sum(c.points for c in checks),
                                      sum(c.max_points for c in checks), tuple(checks)))
    plots: list[Plot] = []
    total = 0
    if student_dir is not None and exercise.get("notebook") and exercise["status"] == "graded":
        path = executed_in(student_dir, exercise["notebook"])
        if path.is_file():
            plots, total = notebook_plots(path)
    cells = tuple((c["cell_index"], in_report(c, lang)) for c in exercise.get("cells", []))
    view = ExerciseView(
        exercise["id"], titles.get(exercise["id"], exercise["id"]), exercise["status"],
        i18n.status(exercise["status"], lang), in_report(exercise, lang),
        sum(q.score for q in questions), sum(q.max_score for q in questions), exercise.get("notebook"),
        tuple(questions), cells, tuple(plots), total)
    return view, withheld, withheld_points


def feedback_view(report: dict[str, Any], course: Any | None = None, lang: str = i18n.DEFAULT_LANG,
                  show_after_due: bool = False, student_dir: Path | None = None) -> FeedbackView:
    """The student-visible part of one report.json dict; `student_dir` holds its executed notebooks."""
    text = i18n.course_text(course)
    titles = {ex: r.title for ex, r in course.rubrics.items()} if course is not None else {}
    exercises, withheld, withheld_points = [], 0, 0.0
    for exercise in report["exercises"]:
        view, count, points = _exercise_view(exercise, text, titles, lang, show_after_due, student_dir)
        exercises.append(view)
        withheld += count
        withheld_points += points
    return FeedbackView(
        report["student"], lang, sum(e.score for e in exercises), sum(e.max_score for e in exercises),
        tuple(exercises), report.get("graded_at", ""), report.get("grader_version", ""), withheld, withheld_points,
        render(who(report), lang), tuple(render(line, lang) for line in late_lines(report)))


def self_check_view(check: SelfCheck, course: Any | None = None, lang: str = i18n.DEFAULT_LANG) -> SelfCheckView:
    """What a self-check shows: public checks with hints, written answers as written or not, hidden ones counted."""
    text = i18n.course_text(course)
    result, rubric = check.result, check.rubric
    by_id = {q.id: q for q in result.questions}
    manual_ids = {m.id for q in rubric.questions for m in q.manual}
    questions = []
    for spec in rubric.questions:
        if check.asked is not None and spec.id not in check.asked:
            continue
        graded = by_id.get(spec.id)
        checks = [_self_check_line(c, c.id in manual_ids, c.id in check.unavailable, text, lang)
                  for c in (graded.checks if graded else ()) if c.visibility == "public"]
        hidden = sum(1 for c in spec.checks if c.visibility != "public")
        questions.append(QuestionView(spec.id, text.title(result.id, spec.id, spec.title, lang),
                                      sum(c.points for c in checks), sum(c.max_points for c in checks),
                                      tuple(checks), hidden))
    cells = tuple((c.cell_index, render(c.message, lang)) for c in result.cells)
    return SelfCheckView(result.id, rubric.title, check.notebook or (result.notebook or ""), result.status,
                         i18n.status(result.status, lang), render(result.message, lang),
                         tuple(questions), cells, lang)


def _self_check_line(check: Any, manual: bool, unavailable: bool, text: i18n.CourseText, lang: str) -> CheckView:
    """One public check (a models.CheckResult) of a self-check."""
    status, name = check.status, check.id.rsplit(".", 1)[-1]
    written = manual and status == "manual"  # scoring: "failed" when the answer is empty or unchanged
    if manual:
        status, name = "manual", i18n.ui("written_answer", lang)
        label = i18n.ui("answer_written" if written else "answer_missing", lang)
    else:
        status = "unavailable" if unavailable and status == "error" else status
        label = i18n.status(status, lang)
    return CheckView(check.id, name, status, label, check.points, check.max_points, check.visibility,
                     i18n.visibility(check.visibility, lang), render(check.message, lang),
                     text.hint(check.id, check.hint, lang), written)
