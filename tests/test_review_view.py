"""What one review item shows: math kept intact for KaTeX, the relevant executed cells with PNG plots only, and who scored."""

from __future__ import annotations

import base64
import getpass

import nbformat

from grader.review.app import default_who
from grader.review.cells import item_cells
from grader.review.items import Review, render_answer
from grader.layout import OutLayout

from test_review import graded  # noqa: F401  (the fixture)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def test_math_is_kept_escaped_in_math_spans_and_html_stays_text():
    html = render_answer("Area is $x^2 < y$ and $$\\int_0^1 f$$ <b>x</b>")
    assert '<span class="math">x^2 &lt; y</span>' in html
    assert '<span class="math display">\\int_0^1 f</span>' in html and "<b>" not in html


def test_item_cells_show_the_answer_and_the_used_code_with_png_plots_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Intro"),
        nbformat.v4.new_code_cell("def train(m):\n    return m", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("display_data", data={"text/html": "<script>x()</script>"}),
            nbformat.v4.new_output("stream", name="stdout", text="loss 0.1\n")]),
        nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_markdown_cell("my answer", metadata={"grader": {"answer": "hw1"}}),
        nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"GIF89a").decode()})]),
        nbformat.v4.new_markdown_cell("## next")])
    used = item_cells(nb, uses=("train",))
    assert [c["index"] for c in used] == [1]
    assert used[0]["outputs"] == [{"png": PNG}, {"text": "loss 0.1\n"}]  # the HTML output is never sent
    answered = item_cells(nb, answer="hw1")
    assert [c["index"] for c in answered] == [3, 4] and answered[1]["outputs"] == []  # not a PNG: dropped
    assert item_cells(None, answer="hw1") == []


def test_the_item_carries_its_cells_and_a_save_records_who(graded):  # noqa: F811
    out, course = graded
    review = Review(OutLayout(out), course, who="prof-li")
    item = review.item("s0", "beta.essay.answer")
    assert any("Squares are never negative." in c["source"] for c in item["cells"])
    saved = review.save("s0", "beta.essay.answer", 3, "ok", version=0)
    assert saved["score"]["who"] == "prof-li"
    assert default_who() == getpass.getuser()
