"""summary.html: the class at a glance for the instructor, one self-contained page linking to each feedback."""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

from .. import i18n
from ..layout import OutLayout
from ..messages import render
from ..similarity import NearCopy
from .charts import histogram
from .feedback_html import CSS
from .stats import ClassStats, Rate


def _num(value: float) -> str:
    return f"{value:g}"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def feedback_href(student: str) -> str:
    """Relative link from OUT/summary.html to the student's feedback.html (any Unicode id)."""
    return OutLayout.feedback_href(student)


def _students(students: Sequence[str]) -> str:
    return ", ".join(f'<a href="{escape(feedback_href(s))}">{escape(s)}</a>' for s in students)


def _rate_rows(rates: tuple[Rate, ...], label: dict[str, str], hint: dict[str, str] | None = None,
               lang: str = i18n.DEFAULT_LANG) -> str:
    """Rows `label, full/graded, rate`, then the mean score (questions) or who failed and the hint (checks).

    Submissions awaiting review are counted apart: a rate over none scored yet is "–", not 0%.
    """
    rows = []
    for r in rates:
        scored = r.graded > 0
        last = (f'<td>{_students(r.failed)}</td><td class="hint">{escape(hint.get(r.id, ""))}</td>' if hint is not None
                else f'<td class="num">{_pct(r.mean_fraction) if scored else "–"}</td>')
        waiting = (f' <span class="manual">({escape(i18n.ui("awaiting_count", lang, count=r.awaiting))})</span>'
                   if r.awaiting else "")
        rows.append(f'<tr><td>{escape(label.get(r.id, r.id))}</td><td class="num">{r.full}/{r.graded}{waiting}</td>'
                    f'<td class="num">{_pct(r.rate) if scored else "–"}</td>{last}</tr>')
    return "".join(rows)


def _misconceptions(stats: ClassStats, t: Any) -> str:
    if not stats.misconceptions:
        return f'<p class="muted">{t("none")}</p>'
    return (f"<table><thead><tr><th>{t('check')}</th><th>{t('misconception')}</th><th>{t('students')}</th>"
            f"<th>{t('failed_by')}</th></tr></thead><tbody>" + "".join(
                f'<tr><td>{escape(m.check)}</td><td><code>{escape(m.tag)}</code></td>'
                f'<td class="num">{len(m.students)}</td><td>{_students(m.students)}</td></tr>'
                for m in stats.misconceptions) + "</tbody></table>")


def _near_copies(copies: Sequence[NearCopy], t: Any) -> str:
    head = f'<p class="muted">{t("near_copies_note")}</p>'
    if not copies:
        return head + f'<p class="muted">{t("none")}</p>'
    rows = "".join(
        f'<tr><td>{escape(c.exercise)}</td><td>{_students((c.first, c.second))}</td>'
        f'<td class="num">{_pct(c.similarity)}</td><td><details><summary>{t("shared_passages")} '
        f'({len(c.passages)})</summary>' + "".join(f"<pre>{escape(p)}</pre>" for p in c.passages)
        + "</details></td></tr>" for c in copies)
    return (head + f"<table><thead><tr><th>{t('exercise')}</th><th>{t('students')}</th><th>{t('similarity')}</th>"
            f"<th>{t('shared_passages')}</th></tr></thead><tbody>{rows}</tbody></table>")


def render_summary_html(stats: ClassStats, course: Any | None = None, lang: str = i18n.DEFAULT_LANG,
                        copies: Sequence[NearCopy] = ()) -> str:
    """The class summary page (instructor only); `copies` are the near-copies to look at (grader/similarity.py)."""
    t = lambda key, **kw: escape(i18n.ui(key, lang, **kw))  # noqa: E731
    text = i18n.course_text(course)
    q_labels = {r.id: f"{r.id.split('.')[0]} · " + text.title(*r.id.split(".", 1), r.id.split(".", 1)[1], lang)
                for r in stats.questions}
    hints = {r.id: text.hint(r.id, "", lang) for r in stats.checks}
    pending = dict(stats.pending)
    graded = len(stats.totals) - len({p.student for p in stats.problems})
    body = [f"<h1>{t('summary_title')}</h1>",
            f'<p class="muted">{t("graded_count", graded=graded, total=len(stats.totals))}; '
            f'{t("mean")} {stats.mean():.1f}, {t("median")} {_num(stats.median())} / {_num(stats.max_score)}</p>',
            f"<h2>{t('distribution')}</h2>",
            histogram([s for _, s, _ in stats.totals], stats.max_score, title=i18n.ui("distribution", lang)),
            f"<h2>{t('pass_rate_question')}</h2><table><thead><tr><th>{t('question')}</th><th>{t('full_marks')}</th>"
            f"<th>{t('pass_rate')}</th><th>{t('mean_score')}</th></tr></thead><tbody>"
            f"{_rate_rows(stats.questions, q_labels, lang=lang)}"
            f"</tbody></table>",
            f"<h2>{t('pass_rate_check')}</h2><table><thead><tr><th>{t('check')}</th><th>{t('passed_of')}</th>"
            f"<th>{t('pass_rate')}</th><th>{t('failed_by')}</th><th>{t('hint')}</th></tr></thead><tbody>"
            f"{_rate_rows(stats.checks, {}, hints)}</tbody></table>",
            f"<h2>{t('misconceptions_title')}</h2>", _misconceptions(stats, t),
            f"<h2>{t('near_copies_title')}</h2>", _near_copies(copies, t),
            f"<h2>{t('slowest')}</h2>"]
    if stats.slowest:
        body.append("<table><tbody>" + "".join(
            f'<tr><td><a href="{escape(feedback_href(s))}">{escape(s)}</a></td>'
            f'<td class="num">{seconds:.1f} {t("seconds")}</td></tr>' for s, seconds in stats.slowest)
            + "</tbody></table>")
    else:
        body.append(f'<p class="muted">{t("none")}</p>')
    body.append(f"<h2>{t('not_gradable_title')}</h2>")
    if stats.problems:
        body.append(f"<table><thead><tr><th>{t('students')}</th><th>{t('exercise')}</th><th>{t('status')}</th>"
                    f"<th>{t('message')}</th></tr></thead><tbody>" + "".join(
                        f'<tr><td><a href="{escape(feedback_href(p.student))}">{escape(p.student)}</a></td>'
                        f'<td>{escape(p.exercise)}</td><td class="st failed">{escape(i18n.status(p.status, lang))}</td>'
                        f"<td>{escape(p.message)}</td></tr>" for p in stats.problems) + "</tbody></table>")
    else:
        body.append(f'<p class="muted">{t("none")}</p>')
    people = dict(stats.people)
    body.append(f"<h2>{t('all_students')}</h2><table><thead><tr><th>{t('students')}</th><th>{t('score')}</th>"
                f"</tr></thead><tbody>" + "".join(
                    f'<tr><td><a href="{escape(feedback_href(s))}">{escape(s)}</a>'
                    + (f' <span class="muted">{escape(render(people[s], lang))}</span>' if s in people else "") + "</td>"
                    f'<td class="num">{_num(score)}/{_num(maximum)}'
                    + (f' <span class="manual">({t("pending_points", points=_num(pending[s]))})</span>'
                       if s in pending else "") + "</td></tr>" for s, score, maximum in stats.totals)
                + "</tbody></table>")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            f'style-src \'unsafe-inline\'">'
            f"<title>{t('summary_title')}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
