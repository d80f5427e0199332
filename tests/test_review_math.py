"""LaTeX math in `grade review`: delimiters survive Markdown, the vendored KaTeX is served behind the token only,
the page loads nothing from elsewhere, and the wheel ships KaTeX."""

from __future__ import annotations

import fnmatch
import re
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from grader.review.app import STATIC, cookie_name
from grader.review.items import render_answer

from review_server import TOKEN, running
from test_review import graded  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[1]


def status(url: str, **headers: str) -> int:
    """The status of a GET (the body may be binary: a font)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(("source", "expected"), [
    (r"The sigmoid $\frac{1}{1+e^{-z}}$ maps *x*", r'<span class="math">\frac{1}{1+e^{-z}}</span> maps <em>x</em>'),
    ("$$\\sum_i a_i * b_i$$", '<span class="math display">\\sum_i a_i * b_i</span>'),
    (r"inline \(a_1 * b_2\) and \[x^2\]", r'<span class="math">a_1 * b_2</span> and <span class="math display">x^2</span>'),
    ("$x < y$ <script>", '<span class="math">x &lt; y</span> &lt;script&gt;'),
    ("$\\text{</span><img src=x>}$", '<span class="math">\\text{&lt;/span&gt;&lt;img src=x&gt;}</span>'),
])
def test_math_delimiters_survive_markdown(source, expected):
    assert expected in render_answer(source)


@pytest.mark.parametrize("source", ["costs $5 and $10", "`$x$` in code", "```\n$y$\n```", r"\$ escaped $"])
def test_dollars_that_are_not_math_stay_text(source):
    assert 'class="math' not in render_answer(source)


def test_katex_is_served_behind_the_token_and_the_page_loads_nothing_from_elsewhere(graded):  # noqa: F811
    out, course = graded
    with running(out, course) as base:
        assets = ("/static/katex/katex.min.js", "/static/katex/katex.min.css", "/static/katex/auto-render.min.js",
                  "/static/katex/fonts/KaTeX_Main-Regular.woff2")
        for path in assets:
            assert status(base + path) == 403, path
            assert status(base + path, Authorization="token wrong") == 403, path
            assert status(base + path, Authorization=f"token {TOKEN}") == 200, path
        assert status(base + "/static/../app.py", Authorization=f"token {TOKEN}") in (403, 404)
        with urllib.request.urlopen(f"{base}/?token={TOKEN}", timeout=30) as response:
            csp = response.headers["Content-Security-Policy"]
            cookie = response.headers["Set-Cookie"]
            page = response.read().decode()
        assert "http" not in csp and "*" not in csp and "default-src 'none'" in csp
        assert "font-src 'self'" in csp and "unsafe-eval" not in csp
        linked = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert len(linked) == 3 and all(url.startswith("/static/katex/") for url in linked)
        assert "http:" not in page and "https:" not in page and "@import" not in page
        assert cookie.startswith(cookie_name(TOKEN) + "=" + TOKEN) and "HttpOnly" in cookie
        assert "Path=/static/" in cookie and "SameSite=Strict" in cookie
        # the cookie opens the static files (a stylesheet's fonts cannot send a header), never the API
        jar = f"{cookie_name(TOKEN)}={TOKEN}"
        assert status(base + "/static/katex/fonts/KaTeX_Main-Regular.woff2", Cookie=jar) == 200
        assert status(base + "/api/queue", Cookie=jar) == 403 and status(base + "/", Cookie=jar) == 403
        assert status(base + "/static/katex/katex.min.css", Cookie=f"{cookie_name(TOKEN)}=wrong") == 403


def test_the_wheel_ships_every_vendored_katex_file():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["grader"]
    files = [p.relative_to(ROOT / "grader").as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert len(files) >= 25 and any(f.endswith("KaTeX_Main-Regular.woff2") for f in files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)] == []
    assert "MIT" in (STATIC / "katex" / "LICENSE").read_text()
