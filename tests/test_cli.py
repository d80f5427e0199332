"""The `grade` command end to end: reports, gradebook, exit codes, one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import grader.sandbox
from grader.cli import EXIT_INTERNAL, EXIT_USAGE, main
from grader.reporters.json_report import report_schema


def invoke(*args: str) -> "click.testing.Result":
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result) -> str:
    """The reason is one line, without a traceback (an isolation notice may come before it)."""
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.slow
def test_grading_the_bundled_examples(project, isolation, tmp_path):
    out = tmp_path / "graded"
    manual = tmp_path / "manual.csv"
    manual.write_text("student,check,points,comment\nalice,logistic_regression.hw1.answer,5,clear\n"
                      "alice,logistic_regression.hw2.answer,4,mean_value well observed\n", encoding="utf-8")
    result = invoke(str(project / "examples" / "submissions"), "--out", str(out), "--course", str(project),
                    "--isolation", isolation.requested, "--manual", str(manual))
    assert result.exit_code == 0, result.output
    students = ["alice", "bob", "dana", "张伟"]
    reports = {}
    for student in students:
        data = json.loads((out / student / "report.json").read_text(encoding="utf-8"))
        jsonschema.validate(data, report_schema())
        reports[student] = {e["id"]: e for e in data["exercises"]}
        assert data["isolation"]["level"] == isolation.level
    assert reports["alice"]["autograd"]["score"] == 50
    assert reports["alice"]["logistic_regression"]["score"] == 49  # 40 automatic + 5 + 4 from --manual
    hw2 = reports["alice"]["logistic_regression"]["questions"][-1]["checks"][0]
    assert (hw2["status"], hw2["points"], hw2["message"]) == ("manual", 4, "mean_value well observed")
    bob_hw1 = reports["bob"]["logistic_regression"]["questions"][-2]["checks"][0]
    assert (bob_hw1["status"], bob_hw1["points"]) == ("manual", 0)  # awaiting a score
    assert 0 < reports["bob"]["autograd"]["score"] < 50
    assert reports["dana"]["autograd"]["status"] == "not_gradable"
    assert "not valid JSON" in reports["dana"]["autograd"]["message"]
    assert reports["dana"]["logistic_regression"]["score"] == 0
    assert reports["张伟"]["logistic_regression"]["status"] == "missing"
    assert (out / "alice" / "02_logistic_regression.ipynb").is_file()  # executed copy
    rows = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == students
    assert rows[0]["autograd.grad_tensors"] == "8" and rows[1]["autograd.grad_tensors"] == "0"
    assert all(r["max_score"] == "100" for r in rows)
    for name in students:
        assert name in result.output  # the final table


def test_missing_submissions_folder_is_a_usage_error(project, tmp_path):
    result = invoke(str(tmp_path / "nope"), "--course", str(project), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_USAGE
    assert "submissions folder not found" in one_line_error(result)


def test_bad_rubric_is_a_usage_error_naming_file_and_field(project, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(project / "rubrics", course / "rubrics")
    rubric = course / "rubrics" / "autograd.toml"
    rubric.write_text(rubric.read_text(encoding="utf-8").replace('visibility = "hidden"', 'visibility = "sekrit"', 1),
                      encoding="utf-8")
    (tmp_path / "subs").mkdir()
    result = invoke(str(tmp_path / "subs"), "--course", str(course), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert "autograd.toml" in line and ".visibility" in line


def test_strict_refuses_without_bubblewrap(project, tmp_path, monkeypatch):
    monkeypatch.setattr(grader.sandbox, "bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "subs").mkdir()
    result = invoke(str(tmp_path / "subs"), "--course", str(project), "--isolation", "strict",
                    "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_USAGE
    assert "--isolation strict needs bubblewrap" in one_line_error(result)


def test_auto_without_bubblewrap_says_what_is_missing(project, tmp_path, monkeypatch):
    monkeypatch.setattr(grader.sandbox, "bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "subs" / "empty_student").mkdir(parents=True)
    result = invoke(str(tmp_path / "subs"), "--course", str(project), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "weaker isolation: bubblewrap (bwrap) is not installed" in result.output
    report = json.loads((tmp_path / "o" / "empty_student" / "report.json").read_text())
    assert report["isolation"]["level"] == "none"
    assert report["isolation"]["protections"]["no_network"] is False
    assert {e["status"] for e in report["exercises"]} == {"missing"}
    assert report["max_score"] == 100 and report["score"] == 0


def test_a_grader_failure_exits_3_with_one_line(project, tmp_path, monkeypatch):
    import grader.reporters.json_report as json_report

    broken = {**json_report.report_schema(), "required": ["a_field_no_report_has"]}
    monkeypatch.setattr(json_report, "report_schema", lambda: broken)
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    result = invoke(str(tmp_path / "subs"), "--course", str(project), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_INTERNAL
    assert "does not match its schema" in one_line_error(result)
    assert not (tmp_path / "o" / "someone" / "report.json").exists()


def test_help_documents_the_default_output_folder():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    assert "graded" in result.output and "beside SUBMISSIONS" in result.output


def test_not_a_course_folder(tmp_path):
    (tmp_path / "subs").mkdir()
    result = invoke(str(tmp_path / "subs"), "--course", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_USAGE
    assert "not a course folder" in one_line_error(result)
