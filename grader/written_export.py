"""`grade export answers OUT DIR`: each student's written answers as one HTML page, for Gradescope manual questions.

As Otter's PDF export: the autograder's results leave written answers out (reporters/gradescope.py); the
instructor uploads these pages (or PDFs printed from them) as the submissions of a Gradescope assignment whose
questions are the written answers. Each page holds the question titles, points and the student's answers
(Markdown rendered, any HTML the student wrote shown as text, math as its source): never the instructor note.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from markdown_it import MarkdownIt

from . import i18n
from .answers import written_answer
from .course import Course
from .errors import UsageError
from .files import write_atomic
from .layout import OutLayout
from .manual import out_notebooks
from .names import safe_name
from .reporters.feedback_html import CSS

_MARKDOWN = MarkdownIt("commonmark", {"html": False})
NO_ANSWER = {"en": "(no answer found in the notebook)", "zh": "（笔记本中没有找到回答）"}
TITLE = {"en": "Written answers of {student}", "zh": "{student} 的书面回答"}


def answers_page(student: str, answers: list[tuple[str, str, float, str | None]], lang: str = i18n.DEFAULT_LANG) -> str:
    """One student's page; `answers` are (item id, question title, points, answer or None), in rubric order."""
    title = escape(TITLE[lang].format(student=student))
    parts = [f"<h1>{title}</h1>"]
    for number, (item, question, points, answer) in enumerate(answers, 1):
        parts.append(f'<section class="answer" id="{escape(item)}"><h2>{number}. {escape(question)} '
                     f'<span class="muted">({points:g} {escape(i18n.ui("points", lang).lower())}; '
                     f'<code>{escape(item)}</code>)</span></h2>')
        parts.append(_MARKDOWN.render(answer) if answer else f'<p class="muted">{escape(NO_ANSWER[lang])}</p>')
        parts.append("</section>")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
            f"<title>{title}</title><style>{CSS} section.answer{{page-break-inside:avoid;margin-bottom:2em}}"
            f"</style></head><body>{''.join(parts)}</body></html>\n")


def export_answers(out_dir: Path, target: Path, course: Course, lang: str = i18n.DEFAULT_LANG) -> list[Path]:
    """Write TARGET/<student>.html for every graded student in OUT; returns the pages written."""
    layout = OutLayout(out_dir)
    if not out_dir.is_dir() or not layout.reports():
        raise UsageError(f"no report.json under {out_dir}; grade the submissions first")
    items = [(rubric, q, m) for rubric in course.rubrics.values() for q in rubric.questions for m in q.manual]
    if not items:
        raise UsageError("the course's rubrics have no written answers to export")
    text = i18n.course_text(course)
    written = []
    for student, notebooks in sorted(out_notebooks(layout).items()):
        if not student:
            continue
        answers = []
        for rubric, question, item in items:
            nb = notebooks.get(rubric.exercise)
            answer = None if nb is None else written_answer(nb, item.answer, course.exercise_notebook(rubric.exercise))
            answers.append((item.id, text.title(rubric.exercise, question.id, question.title, lang), item.points,
                            answer))
        path = target / f"{safe_name(student)}.html"
        write_atomic(path, answers_page(student, answers, lang))
        written.append(path)
    return written
