"""feedback.html: one self-contained page per student (inline CSS and SVG, plots as data: URIs, no scripts)."""

from __future__ import annotations

from html import escape as _html_escape

from .. import i18n
from ..messages import msg
from ..textsafe import plain
from .charts import bar_chart
from .view import CheckView, ExerciseView, FeedbackView

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;margin:2rem auto;
max-width:60rem;padding:0 1rem;color:#212121;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
.score{font-size:1.3rem;font-weight:600}.muted{color:#666;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border:1px solid #ddd;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right;white-space:nowrap}
.st,.vis{font-weight:600;white-space:nowrap}.vis{font-weight:400}
.passed{color:#2e7d32}.failed,.error,.timeout{color:#c62828}
.manual{color:#6a1b9a}.q td{background:#fafafa;font-weight:600}.hint{color:#37474f}
figure{display:inline-block;margin:.4rem;max-width:46%}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.8rem;color:#666}.note{background:#fff8e1;border-left:4px solid #f9a825;padding:.4rem .8rem}
"""


def escape(value: object) -> str:
    """Text for the page: HTML-escaped, and without control characters (a student's id or message may hold them)."""
    return _html_escape(plain(value))


def _num(value: float) -> str:
    return f"{value:g}"


def _pending(points: float, lang: str) -> str:
    """` (+10 pending)` while points await the instructor's score, else nothing."""
    return f" ({i18n.ui('pending_points', lang, points=_num(points))})" if points else ""


def _check_row(check: CheckView, lang: str) -> str:
    detail = []
    if check.message:
        detail.append(f'<div>{escape(check.message)}</div>')
    if check.hint:
        detail.append(f'<div class="hint"><b>{escape(i18n.ui("hint", lang))}:</b> {escape(check.hint)}</div>')
    return (f'<tr><td>{escape(check.name)}</td><td class="st {escape(check.status)}">{escape(check.status_label)}</td>'
            f'<td class="num">{_num(check.points)}/{_num(check.max_points)}{escape(_pending(check.pending, lang))}</td>'
            f'<td class="vis">{escape(check.visibility_label)}</td><td>{"".join(detail)}</td></tr>')


def _exercise(ex: ExerciseView, lang: str) -> str:
    t = lambda key, **kw: escape(i18n.ui(key, lang, **kw))  # noqa: E731
    parts = [f'<section id="{escape(ex.id)}"><h2>{escape(ex.title)}</h2>',
             f'<p class="score">{_num(ex.score)}/{_num(ex.max_score)}{escape(_pending(ex.pending, lang))} '
             f'<span class="st {escape(ex.status)}">{escape(ex.status_label)}</span></p>']
    if ex.status != "graded" or ex.message != msg("exercise.graded").render(lang):
        parts.append(f'<p class="note">{escape(ex.message)}</p>')
    if ex.questions:
        rows = [(q.title, q.score, q.max_score) for q in ex.questions]
        parts.append(f'<h3>{t("points_chart")}</h3>')
        parts.append(bar_chart(rows, title=i18n.ui("points_chart", lang)))
        parts.append(f'<table><thead><tr><th>{t("check")}</th><th>{t("status")}</th><th>{t("points")}</th>'
                     f'<th>{t("visibility")}</th><th>{t("message")}</th></tr></thead><tbody>')
        for q in ex.questions:
            parts.append(f'<tr class="q"><td colspan="2">{escape(q.title)}</td>'
                         f'<td class="num">{_num(q.score)}/{_num(q.max_score)}{escape(_pending(q.pending, lang))}</td>'
                         f'<td colspan="2"></td></tr>')
            parts.extend(_check_row(c, lang) for c in q.checks)
        parts.append("</tbody></table>")
    if ex.cells:
        parts.append(f'<h3>{t("cell_notes")}</h3><ul>')
        parts.extend(f'<li>{t("cell", index=index)}: {escape(message)}</li>' for index, message in ex.cells)
        parts.append("</ul>")
    if ex.status == "graded":
        parts.append(f'<h3>{t("your_plots")}</h3>')
        if not ex.plots:
            parts.append(f'<p class="muted">{t("no_plots")}</p>')
        for plot in ex.plots:
            caption = escape(i18n.ui("cell", lang, index=plot.cell_index))
            parts.append(f'<figure><img src="{plot.data_uri()}" alt="{caption}"><figcaption>{caption}</figcaption>'
                         f'</figure>')
        if ex.plots_total > len(ex.plots):
            parts.append(f'<p class="muted">{t("plots_cut", shown=len(ex.plots), total=ex.plots_total)}</p>')
    parts.append("</section>")
    return "".join(parts)


def render_feedback_html(view: FeedbackView) -> str:
    """The whole page for one student."""
    lang = view.lang
    t = lambda key, **kw: escape(i18n.ui(key, lang, **kw))  # noqa: E731
    title = t("feedback_title", student=view.student)
    body = [f"<h1>{title}</h1>", *([f'<p class="muted">{escape(view.name)}</p>'] if view.name else []),
            f'<p class="score">{t("total")}: {_num(view.score)}/{_num(view.max_score)}'
            f'{escape(_pending(view.pending, lang))}</p>',
            f'<p class="muted">{t("graded_at", when=view.graded_at, version=view.grader_version)} '
            f'{t("hidden_note")}</p>']
    body.extend(f'<p class="note">{escape(line)}</p>' for line in view.late)
    if view.withheld_checks:
        later = t("released_later", count=view.withheld_checks, points=_num(view.withheld_points))
        body.append(f'<p class="note">{later}</p>')
    body.extend(_exercise(ex, lang) for ex in view.exercises)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            f'style-src \'unsafe-inline\'">'
            f"<title>{title}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
