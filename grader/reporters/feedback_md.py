"""feedback.md: the same feedback as Markdown (for a student repository); plots as PNG files beside it."""

from __future__ import annotations

from .. import i18n
from ..messages import msg
from ..textsafe import for_markdown
from .charts import text_bar
from .view import FeedbackView

PLOT_DIR = "feedback_plots"


def md(text: str) -> str:
    """Text safe inside Markdown and a table cell: no control characters, markup, links, HTML or line breaks."""
    return for_markdown(text)


def _num(value: float) -> str:
    return f"{value:g}"


def _pending(points: float, lang: str) -> str:
    return f" ({md(i18n.ui('pending_points', lang, points=_num(points)))})" if points else ""


def render_feedback_md(view: FeedbackView, plot_dir: str = PLOT_DIR) -> tuple[str, dict[str, bytes]]:
    """The Markdown text and the plot files it links to (relative path -> PNG bytes)."""
    lang = view.lang
    t = lambda key, **kw: i18n.ui(key, lang, **kw)  # noqa: E731
    lines = [f"# {md(t('feedback_title', student=view.student))}", "", *([md(view.name), ""] if view.name else []),
             f"**{md(t('total'))}: {_num(view.score)}/{_num(view.max_score)}{_pending(view.pending, lang)}**", "",
             md(t("graded_at", when=view.graded_at, version=view.grader_version)) + " " + md(t("hidden_note")), ""]
    lines += [item for line in view.late for item in ("> " + md(line), "")]
    if view.withheld_checks:
        lines += ["> " + md(t("released_later", count=view.withheld_checks, points=_num(view.withheld_points))), ""]
    files: dict[str, bytes] = {}
    for ex in view.exercises:
        lines += [f"## {md(ex.title)}", "",
                  f"**{_num(ex.score)}/{_num(ex.max_score)}{_pending(ex.pending, lang)}** · {md(ex.status_label)}", ""]
        if ex.status != "graded" or ex.message != msg("exercise.graded").render(lang):
            lines += ["> " + md(ex.message), ""]
        if ex.questions:
            lines += [f"### {md(t('points_chart'))}", "", f"| {md(t('question'))} | | {md(t('points'))} |",
                      "|---|---|---:|"]
            lines += [f"| {md(q.title)} | `{text_bar(q.score, q.max_score)}` | {_num(q.score)}/{_num(q.max_score)} |"
                      for q in ex.questions]
            lines += ["", f"| {md(t('question'))} | {md(t('check'))} | {md(t('status'))} | {md(t('points'))} | "
                          f"{md(t('message'))} |", "|---|---|---|---:|---|"]
            for q in ex.questions:
                for c in q.checks:
                    detail = md(c.message)
                    if c.hint:
                        detail += (" " if detail else "") + f"*{md(t('hint'))}:* {md(c.hint)}"
                    lines.append(f"| {md(q.title)} | {md(c.name)} ({md(c.visibility_label)}) | {md(c.status_label)} | "
                                 f"{_num(c.points)}/{_num(c.max_points)}{_pending(c.pending, lang)} | {detail} |")
            lines.append("")
        if ex.cells:
            lines += [f"### {md(t('cell_notes'))}", ""]
            lines += [f"- {md(t('cell', index=index))}: {md(message)}" for index, message in ex.cells]
            lines.append("")
        if ex.status == "graded":
            lines += [f"### {md(t('your_plots'))}", ""]
            if not ex.plots:
                lines += [md(t("no_plots")), ""]
            for n, plot in enumerate(ex.plots, start=1):
                name = f"{plot_dir}/{ex.id}_{n}.png"
                files[name] = plot.png
                lines += [f"![{md(t('cell', index=plot.cell_index))}]({name})", ""]
            if ex.plots_total > len(ex.plots):
                lines += [md(t("plots_cut", shown=len(ex.plots), total=ex.plots_total)), ""]
    return "\n".join(lines).rstrip() + "\n", files
