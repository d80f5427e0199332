"""Every export format from report dicts: Gradescope results.json, JUnit XML, Canvas CSV, summary, `grade export`."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from grader.cli import EXIT_USAGE
from grader.errors import GraderError, UsageError
from grader.export import ExportOptions, load_reports, write_exports
from grader.reporters.canvas import canvas_csv
from grader.reporters.gradescope import gradescope_results
from grader.reporters.junit import junit_xml
from grader.reporters.stats import class_stats
from grader.reporters.summary_html import feedback_href, render_summary_html

from conftest import invoke
from sample_reports import graded_folder, report

GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def test_gradescope_results_follow_their_specification(course):
    data = report(after_due=True)
    results = gradescope_results(data, course)
    assert set(results) <= GRADESCOPE_TOP and results["score"] == data["score"]
    assert isinstance(results["execution_time"], int)
    tests = {t["name"].split(" · ")[0]: t for t in results["tests"]}
    written = {"logistic_regression.hw1.answer"}  # a written answer: a Gradescope manual question, not a test
    assert not written & set(tests)
    assert len(tests) == sum(len([c for c in q["checks"] if c["id"] not in written])
                             for ex in data["exercises"] for q in ex["questions"])
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST and {"name", "score", "max_score", "visibility", "output"} <= set(test)
        assert test["visibility"] in GRADESCOPE_VISIBILITY
        assert test.get("status", "passed") in ("passed", "failed")
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    public = tests["autograd.grad_tensors.lesson_value"]
    assert (public["status"], public["score"], public["max_score"]) == ("failed", 0, 3)
    assert "unweighted" in public["output"] and "Hint: With weights (1, 2)" in public["output"]
    hidden = tests["autograd.grad_tensors.random_weights"]
    assert hidden["status"] == "failed" and "SECRET-INPUT" not in hidden["output"] and "Hint:" in hidden["output"]
    assert tests["autograd.retain_graph.random_inputs"]["visibility"] == "after_due_date"
    assert "not valid JSON" in results["output"]
    json.dumps(results)


def test_gradescope_output_in_chinese(course):
    tests = {t["name"].split(" · ")[0]: t for t in gradescope_results(report(), course, "zh")["tests"]}
    assert tests["autograd.grad_tensors.lesson_value"]["output"].startswith("未通过")
    assert "提示: 权重为 (1, 2) 时" in tests["autograd.grad_tensors.lesson_value"]["output"]


def test_junit_xml_parses_and_counts_failures_errors_and_written_answers():
    bad = report("ada")
    bad["exercises"][0]["questions"][0]["checks"][0].update(status="error", points=0, message="check broke \x07")
    bad["score"] -= 3
    bad["exercises"][0]["score"] -= 3
    bad["exercises"][0]["questions"][0]["score"] -= 3
    good = report("bob", wrong=False)
    root = ET.fromstring(junit_xml([good, bad]).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == ["ada.autograd", "ada.logistic_regression", "bob.autograd", "bob.logistic_regression"]
    ada = suites["ada.autograd"]
    assert (ada.get("tests"), ada.get("failures"), ada.get("errors")) == ("4", "2", "1")
    assert len(ada.findall("testcase/failure")) == 2 and len(ada.findall("testcase/error")) == 1
    assert suites["bob.autograd"].get("failures") == "0"
    assert suites["bob.logistic_regression"].get("failures") == "2"  # not gradable: every check failed
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites.values())
    assert int(root.get("failures")) == 2 + 2 + 2
    timeout = ada.find("testcase[@name='random_weights']/failure")
    assert timeout.get("type") == "timeout"
    assert "\x07" not in ada.find("testcase/error").get("message")


def test_canvas_csv_has_the_columns_canvas_imports(course):
    text = canvas_csv([report("zoë"), report("ada", wrong=False)], [("autograd", 16), ("logistic_regression", 8)])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "autograd", "logistic_regression"]
    assert rows[1] == ["Points Possible", "", "", "", "", "16", "8"]
    assert rows[2] == ["ada", "", "ada", "ada", "", "16", "0"]
    assert rows[3] == ["zoë", "", "zoë", "zoë", "", "8", "0"]


def test_class_stats_rank_checks_and_list_problems():
    stats = class_stats([report("ada", seconds=9), report("bob", wrong=False, seconds=2), report("cy", seconds=5)],
                        frozenset({"logistic_regression.hw1.answer"}))
    rates = {r.id: r for r in stats.checks}
    lesson = rates["autograd.grad_tensors.lesson_value"]
    assert (lesson.full, lesson.graded) == (1, 3)
    assert stats.checks[0].rate <= stats.checks[-1].rate
    assert "logistic_regression.hw1.answer" not in rates and "logistic_regression.make_data.lesson_data" not in rates
    questions = {r.id: r for r in stats.questions}
    assert questions["autograd.grad_tensors"].rate == pytest.approx(1 / 3)
    assert [s for s, _ in stats.slowest] == ["ada", "cy", "bob"]
    assert {(p.student, p.exercise, p.status) for p in stats.problems} == {
        (s, "logistic_regression", "not_gradable") for s in ("ada", "bob", "cy")}
    assert stats.median() == 8


def test_summary_html_links_every_students_feedback(course):
    stats = class_stats([report("ada"), report("张 伟")])
    html = render_summary_html(stats, course)
    assert 'href="students/ada/feedback.html"' in html and f'href="{feedback_href("张 伟")}"' in html
    assert feedback_href("张 伟") == "students/%E5%BC%A0%20%E4%BC%9F/feedback.html"
    assert "<svg" in html and "Score distribution" in html and "not gradable" in html


def test_write_exports_and_load_reports(course, tmp_path):
    out = graded_folder(tmp_path / "graded", {"ada": report("ada"), "bob": report("bob", wrong=False)})
    reports = load_reports(out)
    assert [r["student"] for r in reports] == ["ada", "bob"]
    written = write_exports(out, reports, course, ExportOptions("en", ("gradescope", "junit", "canvas")))
    assert [p.name for p in written] == ["summary.html", "junit.xml", "gradebook_canvas.csv"]
    for student in ("ada", "bob"):
        for name in ("feedback.html", "feedback.md", "results.json", "feedback_plots/autograd_1.png"):
            assert (out / "students" / student / name).is_file(), (student, name)
    (out / "students" / "ada" / "feedback_plots" / "stale.png").write_bytes(b"old")
    write_exports(out, reports, course)
    assert not (out / "students" / "ada" / "feedback_plots" / "stale.png").exists()
    write_exports(out, [report("../elsewhere")], course)  # an id is data: it names a folder inside OUT/students
    assert (out / "students" / "%2E.%2Felsewhere" / "feedback.html").is_file()
    assert not (out.parent / "elsewhere").exists() and not (out / "elsewhere").exists()
    with pytest.raises(UsageError):
        ExportOptions("fr")
    with pytest.raises(UsageError):
        load_reports(tmp_path / "nothing")


def test_grade_export_rewrites_feedback_in_chinese_after_the_due_date(project, tmp_path):
    out = graded_folder(tmp_path / "graded", {"ada": report("ada", after_due=True)})
    result = invoke("export", str(out), "--course", str(project))
    assert result.exit_code == 0, result.output
    before = (out / "students" / "ada" / "feedback.md").read_text(encoding="utf-8")
    assert "random\\_inputs" not in before and "1 check(s) worth 5 point(s) are shown after the due date" in before
    result = invoke("export", str(out), "--course", str(project), "--lang", "zh", "--due", "2000-01-01",
                    "--format", "junit")
    assert result.exit_code == 0, result.output
    text = (out / "students" / "ada" / "feedback.md").read_text(encoding="utf-8")
    assert "ada 的作业反馈" in text and "random\\_inputs (截止日期后公布)" in text
    assert (out / "junit.xml").is_file() and "junit.xml" in result.output
    assert invoke("export", str(out), "--course", str(project), "--due", "soon").exit_code == EXIT_USAGE
    assert invoke("export", str(tmp_path / "none"), "--course", str(project)).exit_code == EXIT_USAGE


def test_grade_export_renders_message_codes_in_chinese_and_version_1_reports_as_they_are(project, tmp_path):
    out = graded_folder(tmp_path / "graded", {"ada": report("ada"), "old": report("old", version=1)})
    result = invoke("export", str(out), "--course", str(project), "--lang", "zh", "--format", "gradescope")
    assert result.exit_code == 0, result.output
    new = (out / "students" / "ada" / "feedback.md").read_text(encoding="utf-8")
    old = (out / "students" / "old" / "feedback.md").read_text(encoding="utf-8")
    assert "未作答（答题单元格为空或未修改）" in new and "该单元格运行 60 秒后被中断" in new
    assert "no answer written (the answer cell is empty or unchanged)" in old and "old 的作业反馈" in old
    results = json.loads((out / "students" / "ada" / "results.json").read_text(encoding="utf-8"))
    assert "已评分；1 个单元格有问题" in results["output"]


@pytest.mark.slow
def test_grade_run_writes_feedback_with_the_students_plots_and_every_format(project, isolation, tmp_path):
    subs = tmp_path / "subs" / "alice"
    subs.mkdir(parents=True)
    shutil.copy(project / "examples" / "submissions" / "alice" / "02_logistic_regression.ipynb", subs)
    out = tmp_path / "graded"
    result = invoke(str(tmp_path / "subs"), "--out", str(out), "--course", str(project), "--isolation",
                    isolation.requested, "--lang", "zh", "--format", "gradescope", "--format", "junit", "--format",
                    "canvas")
    assert result.exit_code == 0, result.output
    html = (out / "students" / "alice" / "feedback.html").read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 5  # the five decision boundaries
    assert "五种配置的决策边界图" in html and "逻辑回归 — logistic regression" in html
    assert len(list((out / "students" / "alice" / "feedback_plots").glob("*.png"))) == 5
    assert json.loads((out / "students" / "alice" / "results.json").read_text(encoding="utf-8"))["score"] == 40
    assert ET.parse(out / "junit.xml").getroot().get("tests") == "30"  # 12 autograd (missing) + 14 + 4 tensors
    assert list(csv.reader((out / "gradebook_canvas.csv").open(encoding="utf-8")))[2][5:] == ["0", "40", "0"]  # autograd missing, logistic regression, tensors missing
    assert "全班概览" in (out / "summary.html").read_text(encoding="utf-8")
    assert "summary.html" in result.output and "feedback.html" in result.output
