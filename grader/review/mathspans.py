"""LaTeX math in a written answer's Markdown: kept intact through markdown-it, rendered by KaTeX in the browser.

A markdown-it inline rule takes `$...$`, `$$...$$`, `\\(...\\)` and `\\[...\\]` before Markdown's escapes and
emphasis can change them, and emits `<span class="math">TeX</span>` (`math display` for the display forms),
the TeX HTML-escaped. The page (page.py) renders each span with the vendored KaTeX (static/katex/). Code spans
and code blocks keep their dollars (their rules run first). Dollars follow pandoc's rule, so prices stay text:
the opening `$` is not followed by a space, the closing one not preceded by a space nor followed by a digit.
"""

from __future__ import annotations

from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

_BRACKETS = {"(": ("\\)", False), "[": ("\\]", True)}


def _span(state: StateInline, silent: bool, content: str, display: bool, end: int) -> bool:
    if not content.strip():
        return False
    if not silent:
        token = state.push("math", "", 0)
        token.content, token.meta = content, {"display": display}
    state.pos = end
    return True


def _math_rule(state: StateInline, silent: bool) -> bool:
    src, pos, top = state.src, state.pos, state.posMax
    if src.startswith("\\", pos) and pos + 1 < top and src[pos + 1] in _BRACKETS:
        closing, display = _BRACKETS[src[pos + 1]]
        close = src.find(closing, pos + 2, top)
        return close >= 0 and _span(state, silent, src[pos + 2:close], display, close + 2)
    if not src.startswith("$", pos):
        return False
    if src.startswith("$$", pos):
        close = src.find("$$", pos + 2, top)
        return close >= 0 and _span(state, silent, src[pos + 2:close], True, close + 2)
    if pos + 1 >= top or src[pos + 1].isspace():
        return False
    close = pos + 1
    while True:
        close = src.find("$", close + 1, top)
        if close < 0 or "\n\n" in src[pos:close]:
            return False
        if src[close - 1] != "\\" and not src[close - 1].isspace() and not src[close + 1:close + 2].isdigit():
            return _span(state, silent, src[pos + 1:close], False, close + 1)


def _render(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    kind = "math display" if token.meta.get("display") else "math"
    return f'<span class="{kind}">{escape(token.content, quote=False)}</span>'


def with_math(md: MarkdownIt) -> MarkdownIt:
    """`md` with the math rule (before escapes, so `\\(` is not read as an escaped parenthesis)."""
    md.inline.ruler.before("escape", "math", _math_rule)
    md.add_render_rule("math", _render)
    return md
