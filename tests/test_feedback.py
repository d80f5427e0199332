"""Student feedback: what each visibility shows, languages, the student's plots, and hostile text kept inert."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

from grader.reporters.charts import bar_chart, histogram, text_bar
from grader.reporters.feedback_html import render_feedback_html
from grader.reporters.feedback_md import md, render_feedback_md
from grader.reporters.plots import PNG_SIGNATURE, decode_png, notebook_plots
from grader.reporters.view import due_date_passed, feedback_view

from sample_reports import HOSTILE, executed_notebook, png_bytes, report


def checks_of(view):
    return {c.id: c for ex in view.exercises for q in ex.questions for c in q.checks}


def test_public_failures_show_message_and_hint_hidden_ones_only_pass_or_fail_and_hint(course):
    view = feedback_view(report(), course)
    checks = checks_of(view)
    public = checks["autograd.grad_tensors.lesson_value"]
    assert (public.status, public.message) == ("failed", "weighted_backward returned tensor([7.]): <b>unweighted</b>")
    assert public.hint == "With weights (1, 2) the lesson printed w.grad == tensor([9.]) = 1*5 + 2*2."  # the rubric's
    hidden = checks["autograd.grad_tensors.random_weights"]
    assert (hidden.status, hidden.message, hidden.name) == ("failed", "", "random_weights")  # timeout -> failed
    assert hidden.hint.startswith("gradient= weights each output")
    assert checks["autograd.retain_graph.lesson_value"].hint == ""  # passed: no hint needed


def test_after_due_date_checks_are_withheld_with_their_points_until_released(course):
    data = report(after_due=True)
    before = feedback_view(data, course)
    assert "autograd.retain_graph.random_inputs" not in checks_of(before)
    assert (before.withheld_checks, before.withheld_points) == (1, 5)
    assert before.max_score == data["max_score"] - 5 and before.score == data["score"] - 5
    after = feedback_view(data, course, show_after_due=True)
    shown = checks_of(after)["autograd.retain_graph.random_inputs"]
    assert (shown.status, shown.visibility, shown.message) == ("passed", "after_due_date", "")
    assert after.withheld_checks == 0 and after.score == data["score"]
    assert "after the due date" in render_feedback_html(after)


def test_due_date():
    now = datetime(2025, 3, 2, tzinfo=timezone.utc)
    assert due_date_passed(now - timedelta(days=1), now)
    assert not due_date_passed(now + timedelta(days=1), now)
    assert not due_date_passed(None, now)


def test_chinese_feedback_translates_statuses_hints_titles_and_the_graders_own_messages(course, tmp_path):
    view = feedback_view(report(), course, "zh", student_dir=tmp_path)
    checks = checks_of(view)
    assert checks["autograd.grad_tensors.lesson_value"].status_label == "未通过"
    assert checks["autograd.grad_tensors.random_weights"].hint.startswith("gradient= 为每个输出加权")
    autograd, lr = view.exercises
    assert autograd.questions[1].title == "backward(gradient=...) 为每个输出加权"
    assert autograd.cells == ((4, "该单元格运行 60 秒后被中断"),)
    assert lr.status_label == "无法评分"
    assert checks["logistic_regression.hw1.answer"].message == "未作答（答题单元格为空或未修改）"
    html = render_feedback_html(view)
    assert 'lang="zh-CN"' in html and "总分" in html and "提示" in html
    text, _ = render_feedback_md(view)
    assert "# ada 的作业反馈" in text


def test_a_version_1_report_shows_its_english_messages_as_they_are(course, tmp_path):
    old = report(version=1)
    assert old["report_version"] == 1 and "message_code" not in old["exercises"][0]
    view = feedback_view(old, course, "zh", student_dir=tmp_path)
    assert view.exercises[0].cells == ((4, "this cell was interrupted after 60s"),)
    assert checks_of(view)["logistic_regression.hw1.answer"].message == \
        "no answer written (the answer cell is empty or unchanged)"
    assert checks_of(view)["autograd.grad_tensors.lesson_value"].status_label == "未通过"


def test_plots_are_real_pngs_and_fakes_are_dropped(tmp_path):
    path = executed_notebook(tmp_path / "nb.ipynb", plots=3)
    plots, total = notebook_plots(path)
    assert total == 3 and [p.cell_index for p in plots] == [0, 1, 2]
    assert all(p.png.startswith(PNG_SIGNATURE) for p in plots)
    assert plots[0].data_uri().startswith("data:image/png;base64,iVBOR")
    assert notebook_plots(path, limit=1)[0] == plots[:1]
    assert decode_png(base64.b64encode(b"GIF89a...").decode()) is None
    assert decode_png('"><img src=x>') is None
    encoded = base64.b64encode(png_bytes()).decode()
    assert decode_png([encoded[:40], encoded[40:]]).startswith(PNG_SIGNATURE)  # nbformat's multi-line form
    assert notebook_plots(tmp_path / "missing.ipynb") == ([], 0)
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    assert notebook_plots(tmp_path / "broken.ipynb") == ([], 0)


def test_feedback_html_is_self_contained_and_escapes_student_text(course, tmp_path):
    executed_notebook(tmp_path / HOSTILE / "01_autograd.ipynb")
    view = feedback_view(report(HOSTILE), course, student_dir=tmp_path / HOSTILE)
    html = render_feedback_html(view)
    assert "<script>" not in html and "<b>unweighted</b>" not in html
    assert "&lt;b&gt;unweighted&lt;/b&gt;" in html and "x&lt;script&gt;" in html
    assert "SECRET-INPUT" not in html  # a hidden check's message never reaches the student
    assert not re.search(r"https?://", html)
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<svg" in html and "Points per question" in html and "this cell was interrupted after 60s" in html


def test_feedback_markdown_links_plot_files_and_escapes_markup(course, tmp_path):
    executed_notebook(tmp_path / "01_autograd.ipynb")
    view = feedback_view(report(), course, student_dir=tmp_path)
    text, files = render_feedback_md(view)
    assert sorted(files) == ["feedback_plots/autograd_1.png", "feedback_plots/autograd_2.png"]
    assert "![cell 0](feedback_plots/autograd_1.png)" in text
    assert "<b>" not in text and r"\<b\>unweighted\</b\>" in text
    assert "SECRET-INPUT" not in text
    assert "| backward(gradient=...) weights each output | `░░░░░░░░░░░░░░░░░░░░` | 0/8 |" in text
    assert md("a|b\n[x](y)") == r"a\|b \[x\](y)"


def test_charts_are_inline_svg_with_escaped_labels():
    svg = bar_chart([("<q1>", 3, 4), ("q2", 0, 0)], title="t&")
    assert svg.startswith("<svg") and "&lt;q1&gt;" in svg and "3/4" in svg and "http" not in svg
    hist = histogram([0, 50, 100, 100], 100, title="scores")
    assert hist.count("<rect") == 10 and ">2</text>" in hist  # the two full marks share the top bin
    assert text_bar(1, 4, width=4) == "█░░░"
