"""A self-check shown to the student: plain text, an HTML fragment (Jupyter), Markdown (CI), a terminal table.

Each renderer takes a `SelfCheck` (grader/selfcheck.py), the course (for translated titles and hints) and a
language, and renders its `SelfCheckView` (reporters/view.py). JUnit XML is in reporters/junit.py.
"""

from __future__ import annotations

import re
import textwrap
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import i18n
from ..files import write_atomic
from ..textsafe import for_markdown, for_terminal, plain
from .view import CheckView, SelfCheckView, self_check_view

if TYPE_CHECKING:
    from ..selfcheck import SelfCheck


def _detail(check: CheckView, lang: str) -> str:
    """What is said under a check: nothing when it passed, else its message and hint, or why it cannot run."""
    if check.status == "manual":
        return "" if check.written else check.hint
    if check.status == "unavailable":
        return i18n.ui("needs_reference", lang)
    if check.status == "passed":
        return ""
    hint = new_sentences(check.hint, check.message)
    return check.message + (f"\n{i18n.ui('hint', lang)}: {hint}" if hint else "")


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def _said(text: str) -> str:
    return " ".join(text.split()).casefold()


def new_sentences(hint: str, message: str) -> str:
    """The sentences of `hint` that `message` does not already say (a check may quote its hint); a very short
    sentence is kept, as finding it inside the message says little."""
    said = _said(message)
    if not hint.strip() or _said(hint) in said:
        return ""
    sentences = [s for s in _SENTENCE_END.split(hint.strip()) if s.strip()]
    kept = [s for s in sentences if len(_said(s)) < 8 or _said(s) not in said]
    return hint if len(kept) == len(sentences) else " ".join(kept)


def _hidden_text(view: SelfCheckView) -> str:
    parts = [i18n.ui("hidden_count", view.lang, question=q.title, count=q.hidden) for q in view.questions if q.hidden]
    if not parts:
        return i18n.ui("no_hidden", view.lang)
    return i18n.ui("hidden_to_come", view.lang, questions=i18n.ui("list_sep", view.lang).join(parts))


def _title(view: SelfCheckView) -> str:
    title = i18n.ui("selfcheck_title", view.lang, exercise=view.title)
    return f"{title} ({view.notebook})" if view.notebook else title


def _summary(view: SelfCheckView) -> str:
    auto = view.automatic
    return i18n.ui("selfcheck_summary", view.lang, passed=sum(1 for c in auto if c.status == "passed"),
                   total=len(auto))


def _points_summary(view: SelfCheckView) -> str:
    """`Points: 4/6 · 4/6 public checks pass`."""
    return f"{i18n.ui('points', view.lang)}: {view.score:g}/{view.max_score:g} · {_summary(view)}"


def _points(check: CheckView) -> str:
    return "" if check.status == "manual" else f"{check.points:g}/{check.max_points:g}"


def _verdict(view: SelfCheckView) -> str:
    return i18n.ui("selfcheck_all_pass" if view.passed else "selfcheck_some_fail", view.lang)


def _cell(view: SelfCheckView, index: int) -> str:
    return i18n.ui("cell", view.lang, index=index)


def render_text(check: SelfCheck, course: Any | None = None, lang: str = i18n.DEFAULT_LANG,
                width: int | None = None) -> str:
    """Plain text (the Jupyter fallback and logs); with `width`, lines are wrapped to it (a CI log)."""
    view = self_check_view(check, course, lang)
    wrap = (lambda text, indent="": textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent,
                                                  break_long_words=False, break_on_hyphens=False)) \
        if width else (lambda text, indent="": indent + text)
    lines = [wrap(_title(view)), wrap(_points_summary(view))]
    if view.status != "graded":
        lines.append(wrap(f"{view.status_label}: {view.message}"))
    for q in view.questions:
        if not q.checks:
            continue
        lines.append("\n" + wrap(q.title))
        for c in q.checks:
            points = f" ({_points(c)})" if _points(c) else ""
            lines.append(wrap(f"[{c.status_label}] {c.name}{points}", "  "))
            lines += [wrap(d, "      ") for d in _detail(c, lang).splitlines() if d]
    lines += [wrap(f"{_cell(view, index)}: {message}") for index, message in view.cells]
    lines += ["", wrap(_hidden_text(view)), wrap(_verdict(view))]
    return plain("\n".join(lines))


def render_html(check: SelfCheck, course: Any | None = None, lang: str = i18n.DEFAULT_LANG) -> str:
    """An HTML fragment for Jupyter's output area (inline styles only)."""
    view = self_check_view(check, course, lang)
    colour = {"passed": "#2e7d32", "unavailable": "#ef6c00", "manual": "#6a1b9a"}
    rows = []
    for q in view.questions:
        if not q.checks:
            continue
        rows.append(f'<tr><td colspan="3" style="background:#f5f5f5;font-weight:600;text-align:left">'
                    f'{escape(q.title)}</td></tr>')
        for c in q.checks:
            shown = "<br>".join(escape(d) for d in _detail(c, lang).splitlines() if d)
            rows.append(f'<tr><td style="text-align:left">{escape(c.name)}</td>'
                        f'<td style="text-align:left;font-weight:600;color:{colour.get(c.status, "#c62828")}">'
                        f'{escape(c.status_label)}</td><td style="text-align:left">{shown}</td></tr>')
    notes = "".join(f"<li>{escape(_cell(view, i))}: {escape(m)}</li>" for i, m in view.cells)
    status = "" if view.status == "graded" else f'<p style="color:#c62828">{escape(view.message)}</p>'
    return (f'<div class="grader-selfcheck"><p><b>{escape(_title(view))}</b>'
            f' — {escape(_points_summary(view))}</p>{status}'
            f'<table>{"".join(rows)}</table>' + (f"<ul>{notes}</ul>" if notes else "")
            + f'<p>{escape(_hidden_text(view))}</p><p><b>{escape(_verdict(view))}</b></p></div>')


def rich_table(check: SelfCheck, course: Any | None = None, lang: str = i18n.DEFAULT_LANG) -> list[Any]:
    """Renderables for the terminal: a table of checks, then the hidden-checks line and the verdict."""
    from rich.table import Table
    from rich.text import Text

    view = self_check_view(check, course, lang)
    table = Table(title=Text(plain(_title(view))), caption=Text(plain(_points_summary(view))), show_lines=False)
    for key in ("question", "check", "status", "points", "message"):
        table.add_column(for_terminal(i18n.ui(key, lang)), overflow="fold", justify="right" if key == "points" else "left")
    style = {"passed": "green", "unavailable": "yellow", "manual": "magenta"}
    for q in view.questions:
        for n, c in enumerate(q.checks):
            table.add_row(Text(plain(q.title) if n == 0 else ""), Text(plain(c.name)),
                          Text(plain(c.status_label), style=style.get(c.status, "red")), _points(c),
                          Text(plain(_detail(c, lang))))
    out: list[Any] = []
    if view.status != "graded":
        out.append(Text(plain(f"{view.status_label}: {view.message}"), style="red"))
    out.append(table)
    out += [Text(plain(f"{_cell(view, i)}: {m}"), style="yellow") for i, m in view.cells]
    out.append(Text(plain(_hidden_text(view))))
    out.append(Text(plain(_verdict(view)), style="bold green" if view.passed else "bold red"))
    return out


def _md(value: str) -> str:
    """One Markdown table cell: no control characters, markup or line breaks of its own."""
    return for_markdown(value)


def render_markdown(check: SelfCheck, course: Any | None = None, lang: str = i18n.DEFAULT_LANG) -> str:
    """A Markdown section (GitHub's job summary): title, points and one table row per check."""
    view = self_check_view(check, course, lang)
    ui = lambda key: i18n.ui(key, lang)  # noqa: E731
    lines = [f"### {'✅' if view.passed else '❌'} {_md(_title(view))}", "",
             f"**{ui('points')}: {view.score:g}/{view.max_score:g}** · {_md(_summary(view))}", ""]
    if view.status != "graded":
        lines += [f"{_md(view.status_label)}: {_md(view.message)}", ""]
    lines += [f"| {ui('question')} | {ui('check')} | {ui('status')} | {ui('points')} | {ui('message')} |",
              "|---|---|---|---:|---|"]
    for q in view.questions:
        for c in q.checks:
            lines.append(f"| {_md(q.title)} | {_md(c.name)} | {_md(c.status_label)} | {_points(c)} | "
                         f"{_md(_detail(c, lang))} |")
    lines += ["", _md(_hidden_text(view)), ""]
    return "\n".join(lines) + "\n"


def append_markdown(path: Path, section: str) -> None:
    """Add `section` to the end of a Markdown file (e.g. $GITHUB_STEP_SUMMARY), rewriting it atomically."""
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    write_atomic(path, before + ("\n" if before and not before.endswith("\n") else "") + section)
