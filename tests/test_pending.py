"""'Awaiting review' is its own state: terminal table, gradebook, summary.html, report.json, feedback."""

from __future__ import annotations

import re

from grader.batch import grade_batch
from grader.reporters.terminal import score_text as _score
from grader.course import load_course
from grader.export import ExportOptions, load_reports, write_exports

from review_fakes import PassingExecutor, mini_batch


def test_pending_points_are_shown_apart_everywhere(tmp_path):
    course, subs, options = mini_batch(tmp_path, students=2)
    out = tmp_path / "out"
    grade_batch(subs, out, options, executor=PassingExecutor())
    reports = load_reports(out)
    assert [(r["score"], r["pending"]) for r in reports] == [(10, 4), (10, 4)]
    assert _score(reports[0]) == "10/14 (+4 pending)" and _score({"score": 9, "max_score": 9}) == "9/9"
    for lang, words in (("en", "+4 pending"), ("zh", "另有 4 分待评")):
        write_exports(out, reports, load_course(course), ExportOptions(lang))
        feedback = (out / "students" / "s0" / "feedback.html").read_text(encoding="utf-8")
        assert f"10/14 ({words})" in feedback
        assert words in (out / "students" / "s0" / "feedback.md").read_text(encoding="utf-8")
        summary = (out / "summary.html").read_text(encoding="utf-8")
        essay_row = re.search(r"<td>beta · (Why squares|essay)</td>.*?</tr>", summary)
        assert essay_row, summary
        assert "0%" not in essay_row.group(0) and "0/0" in essay_row.group(0)
        assert ("2 awaiting review" if lang == "en" else "2 份等待评阅") in essay_row.group(0)
        assert f"10/14 <span" in summary and words in summary
