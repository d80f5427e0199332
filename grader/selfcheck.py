"""Students' self-check: the public checks of one exercise, with hints, and how many hidden checks are to come.

`grade check NOTEBOOK` runs the notebook in a sandboxed kernel (`check_notebook`); `grader.check(...)`
in Jupyter runs the checks on the live kernel (grader/live.py). Both build the same `SelfCheck` and
render it with `render_text`, `render_html` or `rich_table`. Nothing here needs the instructor secret,
hidden checks or known-wrong solutions; checks that use the reference solution report `unavailable`
when the course folder has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from . import i18n
from .course import Course
from .discovery import MAX_EXTRA_FILE_BYTES
from .errors import UsageError
from .models import ExerciseResult
from .notebook import exercise_id_of, load_notebook
from .rubric import Rubric

PUBLIC_SECRET = b"grader-public-self-check"  # public checks draw no hidden randomness; a fixed seed suffices
PUBLIC_STUDENT = "self-check"
NO_REFERENCE = "reference solution not found"


@dataclass(frozen=True)
class CheckLine:
    id: str
    status: str  # passed | failed | error | timeout | unavailable | manual
    message: str
    hint: str
    written: bool = False  # manual items: an answer is there
    points: float = 0.0
    max_points: float = 0.0


@dataclass(frozen=True)
class QuestionLine:
    id: str
    title: str
    checks: tuple[CheckLine, ...]
    hidden: int  # hidden and after-due-date checks still to come at grading time


@dataclass(frozen=True)
class SelfCheck:
    exercise: str
    title: str
    notebook: str
    status: str  # graded | not_gradable
    message: str
    questions: tuple[QuestionLine, ...]
    cells: tuple[tuple[int, str], ...] = ()

    @property
    def automatic(self) -> list[CheckLine]:
        """The public checks (written answers left out)."""
        return [c for q in self.questions for c in q.checks if c.status != "manual"]

    @property
    def passed(self) -> bool:
        """Every public check passed (written answers do not count)."""
        return self.status == "graded" and all(c.status == "passed" for c in self.automatic)


def self_check(result: ExerciseResult, rubric: Rubric, details: dict[str, str] | None = None,
               questions: set[str] | None = None, notebook: str = "") -> SelfCheck:
    """The self-check view of a public-only grading result; `details` are instructor details by check id."""
    details = details or {}
    by_id = {q.id: q for q in result.questions}
    manual_ids = {m.id for q in rubric.questions for m in q.manual}
    lines = []
    for spec in rubric.questions:
        if questions is not None and spec.id not in questions:
            continue
        graded = by_id.get(spec.id)
        checks = []
        for c in (graded.checks if graded else ()):
            if c.visibility != "public":
                continue
            status = c.status
            if status == "error" and NO_REFERENCE in details.get(c.id, ""):
                status = "unavailable"
            written = c.id in manual_ids and c.status == "manual"  # scoring: "failed" when empty or unchanged
            if c.id in manual_ids:
                status = "manual"
            checks.append(CheckLine(c.id, status, c.message, c.hint, written, c.points, c.max_points))
        hidden = sum(1 for c in spec.checks if c.visibility != "public")
        lines.append(QuestionLine(spec.id, spec.title, tuple(checks), hidden))
    cells = tuple((c.cell_index, c.message) for c in result.cells)
    return SelfCheck(result.id, rubric.title, notebook or (result.notebook or ""), result.status, result.message,
                     tuple(lines), cells)


# ------------------------------------------------------------------------------------ grade check NOTEBOOK


def find_course(start: Path) -> Path:
    """The nearest folder at or above `start` that holds rubrics/ (a course or a student bundle)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "rubrics").is_dir():
            return folder
    raise UsageError(f"no course folder (one holding rubrics/) at or above {start}; use --course")


def _sibling_files(notebook: Path) -> list[Path]:
    """The student's other files beside the notebook, as a batch submission folder would have them."""
    return [p for p in sorted(notebook.parent.iterdir())
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".") and p.suffix.lower() != ".ipynb"
            and p.stat().st_size <= MAX_EXTRA_FILE_BYTES]


def check_notebook(path: Path, course: Course, isolation: str = "auto", exercise: str | None = None,
                   limits: Any = None) -> SelfCheck:
    """Run one notebook in a sandboxed kernel and its exercise's public checks only."""
    from .kernel import KernelSession
    from .sandbox import Limits, resolve_isolation

    nb = load_notebook(path)
    exercise = exercise or exercise_id_of(nb, path.name, course.notebook_names())
    if exercise is None or exercise not in course.rubrics:
        known = ", ".join(f"{e} ({r.notebook})" for e, r in course.rubrics.items())
        raise UsageError(f"{path.name}: cannot tell which exercise this notebook answers (no grader metadata and "
                         f"its name matches none of {known}); use --exercise")
    report, limits, files = resolve_isolation(isolation), limits or Limits(), _sibling_files(path)
    # The kernel (and its torch import) starts while this process loads pytest, the checks and its own
    # torch. One notebook: a kernel factory would pay the imports a cold kernel pays, and then fork.
    kernel = KernelSession(nb, files, report, limits, warm=False)
    kernel.start_in_background()
    try:
        from .options import GradingOptions
        from .exercise import grade_notebook

        options = GradingOptions(course, report, limits, PUBLIC_SECRET, visibilities=("public",), warm_start=False)
    except BaseException:
        kernel.close()
        raise
    graded = grade_notebook(nb, exercise, PUBLIC_STUDENT, files, options, notebook_name=path.name, kernel=kernel)
    details = {k: v.get("detail", "") for k, v in graded.details.get("checks", {}).items()}
    return self_check(graded.result, course.rubrics[exercise], details, notebook=path.name)


def write_self_check_junit(result: SelfCheck, path: Path) -> None:
    """The public checks as JUnit XML (reporters/junit.py): `unavailable` counts as an error."""
    from .reporters.junit import write_junit

    questions = [{"id": q.id, "checks": [
        {"id": c.id, "status": "error" if c.status == "unavailable" else c.status,
         "message": NO_REFERENCE if c.status == "unavailable" else c.message, "hint": c.hint,
         "points": c.points, "max_points": c.max_points} for c in q.checks]} for q in result.questions]
    report = {"student": PUBLIC_STUDENT, "exercises": [{"id": result.exercise, "questions": questions}]}
    write_junit([report], path)


# ------------------------------------------------------------------------------------ rendering


def _line_text(line: CheckLine, text: i18n.CourseText, lang: str) -> tuple[str, str, str]:
    """(label, status label, detail) of one line, translated."""
    name = line.id.rsplit(".", 1)[-1]
    hint = text.hint(line.id, line.hint, lang)
    if line.status == "manual":
        state = i18n.ui("answer_written" if line.written else "answer_missing", lang)
        return i18n.ui("written_answer", lang), state, "" if line.written else hint
    if line.status == "unavailable":
        return name, i18n.status("unavailable", lang), i18n.ui("needs_reference", lang)
    if line.status == "passed":
        return name, i18n.status("passed", lang), ""
    message = i18n.translate_message(line.message, lang)
    detail = message + (f"\n{i18n.ui('hint', lang)}: {hint}" if hint and hint != message else "")
    return name, i18n.status(line.status, lang), detail


def _hidden_text(result: SelfCheck, text: i18n.CourseText, lang: str) -> str:
    parts = [i18n.ui("hidden_count", lang, question=text.title(result.exercise, q.id, q.title, lang), count=q.hidden)
             for q in result.questions if q.hidden]
    if not parts:
        return i18n.ui("no_hidden", lang)
    return i18n.ui("hidden_to_come", lang, questions=i18n.ui("list_sep", lang).join(parts))


def _title(result: SelfCheck, lang: str) -> str:
    title = i18n.ui("selfcheck_title", lang, exercise=result.title)
    return f"{title} ({result.notebook})" if result.notebook else title


def _counts(result: SelfCheck) -> tuple[int, int]:
    auto = result.automatic
    return sum(1 for c in auto if c.status == "passed"), len(auto)


def render_text(result: SelfCheck, course: Course | None = None, lang: str = i18n.DEFAULT_LANG) -> str:
    """Plain text (the Jupyter fallback and logs)."""
    text = i18n.course_text(course)
    passed, total = _counts(result)
    lines = [_title(result, lang),
             i18n.ui("selfcheck_summary", lang, passed=passed, total=total)]
    if result.status != "graded":
        lines.append(f"{i18n.status(result.status, lang)}: {i18n.translate_message(result.message, lang)}")
    for q in result.questions:
        if not q.checks:
            continue
        lines.append(f"\n{text.title(result.exercise, q.id, q.title, lang)}")
        for line in q.checks:
            label, status, detail = _line_text(line, text, lang)
            lines.append(f"  [{status}] {label}" + "".join(f"\n      {d}" for d in detail.splitlines() if d))
    for index, message in result.cells:
        lines.append(f"{i18n.ui('cell', lang, index=index)}: {i18n.translate_message(message, lang)}")
    lines += ["", _hidden_text(result, text, lang),
              i18n.ui("selfcheck_all_pass" if result.passed else "selfcheck_some_fail", lang)]
    return "\n".join(lines)


def render_html(result: SelfCheck, course: Course | None = None, lang: str = i18n.DEFAULT_LANG) -> str:
    """An HTML fragment for Jupyter's output area (inline styles only)."""
    text = i18n.course_text(course)
    colour = {"passed": "#2e7d32", "unavailable": "#ef6c00", "manual": "#6a1b9a"}
    passed, total = _counts(result)
    rows = []
    for q in result.questions:
        if not q.checks:
            continue
        rows.append(f'<tr><td colspan="3" style="background:#f5f5f5;font-weight:600;text-align:left">'
                    f'{escape(text.title(result.exercise, q.id, q.title, lang))}</td></tr>')
        for line in q.checks:
            label, status, detail = _line_text(line, text, lang)
            shown = "<br>".join(escape(d) for d in detail.splitlines() if d)
            rows.append(f'<tr><td style="text-align:left">{escape(label)}</td>'
                        f'<td style="text-align:left;font-weight:600;color:{colour.get(line.status, "#c62828")}">'
                        f'{escape(status)}</td><td style="text-align:left">{shown}</td></tr>')
    summary = i18n.ui("selfcheck_all_pass" if result.passed else "selfcheck_some_fail", lang)
    notes = "".join(f"<li>{escape(i18n.ui('cell', lang, index=i))}: {escape(i18n.translate_message(m, lang))}</li>"
                    for i, m in result.cells)
    status = "" if result.status == "graded" else (
        f'<p style="color:#c62828">{escape(i18n.translate_message(result.message, lang))}</p>')
    return (f'<div class="grader-selfcheck"><p><b>{escape(_title(result, lang))}</b>'
            f' — {escape(i18n.ui("selfcheck_summary", lang, passed=passed, total=total))}</p>{status}'
            f'<table>{"".join(rows)}</table>' + (f"<ul>{notes}</ul>" if notes else "")
            + f'<p>{escape(_hidden_text(result, text, lang))}</p><p><b>{escape(summary)}</b></p></div>')


def rich_table(result: SelfCheck, course: Course | None = None, lang: str = i18n.DEFAULT_LANG) -> list[Any]:
    """Renderables for the terminal: a table of checks, then the hidden-checks line and the verdict."""
    from rich.table import Table
    from rich.text import Text

    text = i18n.course_text(course)
    passed, total = _counts(result)
    table = Table(title=_title(result, lang),
                  caption=i18n.ui("selfcheck_summary", lang, passed=passed, total=total), show_lines=False)
    for key in ("question", "check", "status", "message"):
        table.add_column(i18n.ui(key, lang), overflow="fold")
    style = {"passed": "green", "unavailable": "yellow", "manual": "magenta"}
    for q in result.questions:
        for n, line in enumerate(q.checks):
            label, status, detail = _line_text(line, text, lang)
            table.add_row(text.title(result.exercise, q.id, q.title, lang) if n == 0 else "", label,
                          Text(status, style=style.get(line.status, "red")), Text(detail))
    out: list[Any] = []
    if result.status != "graded":
        out.append(Text(f"{i18n.status(result.status, lang)}: {i18n.translate_message(result.message, lang)}",
                        style="red"))
    out.append(table)
    out += [Text(f"{i18n.ui('cell', lang, index=i)}: {i18n.translate_message(m, lang)}", style="yellow")
            for i, m in result.cells]
    out.append(Text(_hidden_text(result, text, lang)))
    out.append(Text(i18n.ui("selfcheck_all_pass" if result.passed else "selfcheck_some_fail", lang),
                    style="bold green" if result.passed else "bold red"))
    return out


def _md(value: str) -> str:
    """One Markdown table cell: pipes escaped, lines joined."""
    return " ".join(value.replace("|", "\\|").split())


def public_points(result: SelfCheck) -> tuple[float, float]:
    """(points, maximum) of the public automatic checks: what a student repository's CI can show."""
    auto = result.automatic
    return sum(c.points for c in auto), sum(c.max_points for c in auto)


def render_markdown(result: SelfCheck, course: Course | None = None, lang: str = i18n.DEFAULT_LANG) -> str:
    """A Markdown section (GitHub's job summary): title, points and one table row per check."""
    text = i18n.course_text(course)
    passed, total = _counts(result)
    points, max_points = public_points(result)
    verdict = "✅" if result.passed else "❌"
    lines = [f"### {verdict} {_md(_title(result, lang))}", "",
             f"**{i18n.ui('points', lang)}: {points:g}/{max_points:g}** · "
             f"{_md(i18n.ui('selfcheck_summary', lang, passed=passed, total=total))}", ""]
    if result.status != "graded":
        lines += [f"{_md(i18n.status(result.status, lang))}: {_md(i18n.translate_message(result.message, lang))}", ""]
    lines += [f"| {i18n.ui('question', lang)} | {i18n.ui('check', lang)} | {i18n.ui('status', lang)} | "
              f"{i18n.ui('points', lang)} | {i18n.ui('message', lang)} |", "|---|---|---|---:|---|"]
    for q in result.questions:
        for line in q.checks:
            label, status, detail = _line_text(line, text, lang)
            score = "" if line.status == "manual" else f"{line.points:g}/{line.max_points:g}"
            lines.append(f"| {_md(text.title(result.exercise, q.id, q.title, lang))} | {_md(label)} | {_md(status)} | "
                         f"{score} | {_md(detail)} |")
    lines += ["", _md(_hidden_text(result, text, lang)), ""]
    return "\n".join(lines) + "\n"


def append_summary_md(path: Path, section: str) -> None:
    """Add `section` to the end of a Markdown file (e.g. $GITHUB_STEP_SUMMARY), rewriting it atomically."""
    from .files import write_atomic

    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    write_atomic(path, before + ("\n" if before and not before.endswith("\n") else "") + section)
