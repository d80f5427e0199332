"""Written answers on Gradescope: no autograder test or points, and `grade export answers` pages for manual questions."""

from __future__ import annotations

import dataclasses

from grader.batch import grade_batch
from grader.reporters.gradescope import gradescope_results

from conftest import invoke
from review_fakes import PassingExecutor, add_instructor_note, mini_batch, write_essay
from sample_reports import check, report

HOSTILE = "<script>alert(1)</script> **bold** $\\frac{a}{b}$"


def test_written_answers_are_no_autograder_tests_and_no_autograder_points():
    data = report("ada", wrong=False)
    questions = data["exercises"][0]["questions"]
    questions.append({"id": "why", "title": "why", "score": 4, "max_score": 5,
                      "checks": [check("autograd.why.answer", "manual", 4, 5, message="scored")]})
    data["score"] += 4
    data["max_score"] += 5
    results = gradescope_results(data)
    names = [t["name"].split(" · ")[0] for t in results["tests"]]
    assert "autograd.why.answer" not in names and names
    assert all(t.get("status") in ("passed", "failed") for t in results["tests"])
    assert results["score"] == sum(t["score"] for t in results["tests"]) == data["score"] - 4
    assert "Written answers (5 points) are not in this score" in results["output"]
    assert "书面回答（5 分）" in gradescope_results(data, lang="zh")["output"]


def test_export_answers_writes_one_escaped_rendered_page_per_student(tmp_path):
    course, subs, options = mini_batch(tmp_path, students=3)
    write_essay(subs, "s2", HOSTILE)
    loaded = add_instructor_note(course, "MODEL ANSWER: squares are areas.")
    out = tmp_path / "out"
    grade_batch(subs, out, dataclasses.replace(options, course=loaded), executor=PassingExecutor())
    pages = tmp_path / "answers"
    result = invoke("export", "answers", str(out), str(pages), "--course", str(course))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in pages.iterdir()) == ["s0.html", "s1.html", "s2.html"]
    s0 = (pages / "s0.html").read_text(encoding="utf-8")
    assert "Squares are never negative." in s0 and "beta.essay.answer" in s0
    assert "<em>area</em>" in (pages / "s1.html").read_text(encoding="utf-8")
    s2 = (pages / "s2.html").read_text(encoding="utf-8")
    assert "<script>" not in s2 and "&lt;script&gt;" in s2 and "<strong>bold</strong>" in s2
    assert "\\frac{a}{b}" in s2  # math stays its source
    assert not any("MODEL ANSWER" in p.read_text(encoding="utf-8") for p in pages.iterdir())
    missing = invoke("export", "answers", str(tmp_path / "nothing"), str(pages), "--course", str(course))
    assert missing.exit_code != 0 and "grade the submissions first" in missing.output
