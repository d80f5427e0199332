"""The `grade` command end to end: reports, gradebook, exit codes, one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import jsonschema
import nbformat
import pytest

import grader.sandbox
from grader.cli import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE
from grader.reporters.json_report import report_schema

from conftest import invoke


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
        data = json.loads((out / "students" / student / "report.json").read_text(encoding="utf-8"))
        jsonschema.validate(data, report_schema())
        reports[student] = {e["id"]: e for e in data["exercises"]}
        assert data["isolation"]["level"] == isolation.level
    assert reports["alice"]["autograd"]["score"] == 50
    assert reports["alice"]["logistic_regression"]["score"] == 49  # 40 automatic + 5 + 4 from --manual
    assert reports["alice"]["tensors"]["score"] == reports["alice"]["tensors"]["max_score"] == 10
    hw2 = reports["alice"]["logistic_regression"]["questions"][-1]["checks"][0]
    assert (hw2["status"], hw2["points"], hw2["message"]) == ("manual", 4, "mean_value well observed")
    bob_hw1 = reports["bob"]["logistic_regression"]["questions"][-2]["checks"][0]
    assert (bob_hw1["status"], bob_hw1["points"]) == ("manual", 0)  # awaiting a score
    assert 0 < reports["bob"]["autograd"]["score"] < 50
    bob_tensors = {q["id"]: q["score"] for q in reports["bob"]["tensors"]["questions"]}
    assert bob_tensors == {"normal_cloud": 5, "broadcast_add": 0}  # the transposed table, reference/wrong/
    assert reports["dana"]["autograd"]["status"] == "not_gradable"
    assert "not valid JSON" in reports["dana"]["autograd"]["message"]
    assert reports["dana"]["logistic_regression"]["score"] == 0
    assert (reports["dana"]["tensors"]["status"], reports["dana"]["tensors"]["score"]) == ("graded", 0)
    assert reports["张伟"]["logistic_regression"]["status"] == "missing"
    assert reports["张伟"]["tensors"]["status"] == "missing"
    assert (out / "students" / "alice" / "02_logistic_regression.ipynb").is_file()  # executed copy
    rows = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == students
    assert rows[0]["autograd.grad_tensors"] == "8" and rows[1]["autograd.grad_tensors"] == "0"
    assert rows[0]["tensors.broadcast_add"] == "5" and rows[1]["tensors.broadcast_add"] == "0"
    assert all(r["max_score"] == "110" for r in rows)
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
    report = json.loads((tmp_path / "o" / "students" / "empty_student" / "report.json").read_text())
    assert report["isolation"]["level"] == "none"
    assert report["isolation"]["protections"]["no_network"] is False
    assert {e["status"] for e in report["exercises"]} == {"missing"}
    assert report["max_score"] == 110 and report["score"] == 0


def test_a_grader_failure_exits_3_with_one_line(project, tmp_path, monkeypatch):
    import grader.reporters.json_report as json_report

    broken = {**json_report.report_schema(), "required": ["a_field_no_report_has"]}
    monkeypatch.setattr(json_report, "report_schema", lambda: broken)
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    result = invoke(str(tmp_path / "subs"), "--course", str(project), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_INTERNAL
    assert "does not match its schema" in one_line_error(result)
    assert not (tmp_path / "o" / "students" / "someone" / "report.json").exists()


def test_help_documents_the_default_output_folder():
    result = invoke("run", "--help")
    assert result.exit_code == 0
    assert "graded" in result.output and "beside SUBMISSIONS" in result.output


def test_not_a_course_folder(tmp_path):
    (tmp_path / "subs").mkdir()
    result = invoke(str(tmp_path / "subs"), "--course", str(tmp_path), "--out", str(tmp_path / "o"))
    assert result.exit_code == EXIT_USAGE
    assert "not a course folder" in one_line_error(result)


# -- errors carry their exit code (grader/errors.py), mapped once in grader/cli.py --------------------------------
def course_copy(project: Path, root: Path) -> Path:
    """The project's rubrics, reference/ and exercises/ in a folder of its own, to break."""
    for folder in ("rubrics", "reference", "exercises"):
        shutil.copytree(project / folder, root / folder)
    return root


@pytest.mark.parametrize("error, code", [
    ("UsageError", 2), ("NotebookError", 2), ("RubricError", 2), ("CourseError", 2), ("ReferenceUnavailable", 2),
    ("AssignError", 2), ("SandboxError", 2), ("WorkerMismatch", 2), ("GraderError", 3), ("KernelError", 3),
    ("ProtocolError", 3), ("Interrupted", 130),
])
def test_every_error_class_carries_its_exit_code(error, code):
    import grader.errors

    assert getattr(grader.errors, error).exit_code == code
    assert not hasattr(grader.errors, "VerifyError")  # verify reports problems as lines and exits 1


def test_a_malformed_reference_notebook_is_a_usage_error_naming_the_file(project, tmp_path):
    course = course_copy(project, tmp_path / "course")
    (course / "reference" / "01_autograd.ipynb").write_text('{"cells": [', encoding="utf-8")
    result = invoke("verify", "--course", str(course), "--isolation", "none")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "01_autograd.ipynb: cannot be read as a notebook" in one_line_error(result)


def test_a_malformed_reference_notebook_is_a_course_error_for_the_checks_too(tmp_path):
    from grader.errors import CourseError, ReferenceUnavailable
    from grader.reference import load_reference

    (tmp_path / "ref.ipynb").write_text("not a notebook", encoding="utf-8")
    with pytest.raises(CourseError, match="ref.ipynb: cannot be read as a notebook"):
        load_reference(tmp_path / "ref.ipynb")
    with pytest.raises(ReferenceUnavailable, match="reference solution not found"):
        load_reference(tmp_path / "none.ipynb")


def test_bad_solution_markers_in_grade_assign_are_a_usage_error(project, tmp_path):
    course = course_copy(project, tmp_path / "course")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")])
    nbformat.write(nb, course / "reference" / "03_bad.ipynb")
    result = invoke("assign", "--course", str(course))
    assert result.exit_code == EXIT_USAGE
    assert "03_bad.ipynb: cell 0: line 2: ### BEGIN SOLUTION has no matching" in one_line_error(result)


def test_unknown_export_targets_are_usage_errors(project, tmp_path):
    from grader.errors import UsageError
    from grader.export import ExportOptions

    result = invoke("export", str(tmp_path), "--course", str(project), "--format", "pdf")
    assert result.exit_code == EXIT_USAGE and "'pdf' is not one of" in result.output
    result = invoke("export", "gradescope", str(tmp_path / "autograder.tar"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE
    assert "ending in .zip" in one_line_error(result)
    with pytest.raises(UsageError, match="unknown format pdf"):
        ExportOptions(formats=("pdf",))


def test_a_report_edited_by_hand_is_a_usage_error_naming_the_file(project, tmp_path):
    (tmp_path / "graded" / "ada").mkdir(parents=True)
    (tmp_path / "graded" / "ada" / "report.json").write_text('{"student": "ada"}', encoding="utf-8")
    result = invoke("export", str(tmp_path / "graded"), "--course", str(project))
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert "ada/report.json" in line and "does not match its schema" in line


def test_an_internal_bug_exits_3_with_one_line(project, monkeypatch):
    import grader.assign

    def broken(*args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(grader.assign, "assign", broken)
    result = invoke("assign", "--course", str(project))
    assert result.exit_code == EXIT_INTERNAL
    assert one_line_error(result) == "internal error: ZeroDivisionError: a bug"


@pytest.mark.parametrize("command, message", [("assign", "interrupted"), ("verify", "verify interrupted")])
def test_ctrl_c_exits_130_with_one_line(project, monkeypatch, command, message):
    import grader.assign
    import grader.verify

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grader.assign, "assign", stopped)
    monkeypatch.setattr(grader.verify, "verify", stopped)
    result = invoke(command, "--course", str(project))
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.output.strip() == message


def test_executor_options_are_checked_as_they_are_parsed(tmp_path):
    """Before anything else is done: the course folder given here does not even exist."""
    result = invoke(str(tmp_path), "--course", str(tmp_path / "nowhere"), "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == EXIT_USAGE
    assert one_line_error(result) == "error: --scheduler is only used with --executor dask"


# -- options declared once -----------------------------------------------------------------------------------------
def test_the_limits_defaults_are_sandbox_limits():
    from grader.cli import run
    from grader.sandbox import Limits

    defaults = {p.name: p.default for p in run.params}
    assert (defaults["cell_timeout"], defaults["notebook_timeout"]) == (Limits.cell_timeout, Limits.notebook_timeout)
    assert defaults["memory_mb"] * 1024**2 == Limits.memory_bytes


def test_grading_options_builder(project):
    from grader.options import grading_options
    from grader.sandbox import IsolationReport, Limits

    options = grading_options(project, isolation="none", secret=b"s", memory_mb=512, torch_threads=2)
    assert options.course.root == project.resolve() and options.isolation.level == "none"
    assert options.limits == Limits(memory_bytes=512 * 1024**2, torch_threads=2)
    assert (options.secret, options.visibilities, options.warm_start) == (b"s", ("public", "hidden"), True)
    report = IsolationReport("none", "auto", {}, "shown already")
    public = grading_options(options.course, isolation=report, cell_timeout=5, visibilities=("public",),
                             warm_start=False)
    assert public.isolation is report and public.course is options.course
    assert public.limits == Limits(cell_timeout=5) and public.visibilities == ("public",) and not public.warm_start


# -- the terminal and the CLI (issue 17) -----------------------------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [("verfiy", "verify"), ("chek", "check"), ("exprot", "export")])
def test_a_mistyped_command_suggests_the_one_meant(tmp_path, monkeypatch, typed, meant):
    monkeypatch.chdir(tmp_path)
    result = invoke(typed)
    assert result.exit_code == EXIT_USAGE
    assert f"no command or path {typed!r}; did you mean `main {meant}`?" in result.output  # CliRunner names it main
    assert "submissions folder not found" not in result.output


def test_a_mistyped_export_target_suggests_the_one_meant(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "gradescop", "out.zip")
    assert result.exit_code == EXIT_USAGE and "export gradescope`?" in result.output


def test_a_folder_named_like_a_command_is_still_graded_as_submissions(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chek" / "someone").mkdir(parents=True)
    result = invoke("chek", "--course", str(project), "--out", str(tmp_path / "o"), "--isolation", "none")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "students" / "someone" / "report.json").is_file()


def test_grade_submissions_finds_the_course_above_them(project, tmp_path, monkeypatch):
    course = tmp_path / "course"
    shutil.copytree(project / "rubrics", course / "rubrics")
    (course / "term1" / "submissions" / "someone").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = invoke(str(course / "term1" / "submissions"), "--isolation", "none")
    assert result.exit_code == 0, result.output
    report = json.loads((course / "term1" / "graded" / "students" / "someone" / "report.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in report["exercises"]] == ["autograd", "logistic_regression", "tensors"]
    assert "1 student(s): 0 notebook(s) to run" in result.output  # a line per student when not a terminal
    assert "[1/1] someone: 0/110 (nothing to run)" in result.output


def test_grade_submissions_without_a_course_anywhere_says_so(tmp_path, monkeypatch):
    (tmp_path / "subs").mkdir()
    monkeypatch.chdir(tmp_path)
    result = invoke("subs")
    assert result.exit_code == EXIT_USAGE
    assert "no course folder (one holding rubrics/) at or above" in one_line_error(result)


def test_a_failed_run_leaves_no_stray_secret(project, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADER_SECRET", raising=False)
    result = invoke(str(tmp_path / "nope"), "--course", str(project), "--out", str(tmp_path / "new"))
    assert result.exit_code == EXIT_USAGE
    assert not (tmp_path / "new").exists()  # OUT did not exist: it is gone again
    (tmp_path / "kept" / "notes").mkdir(parents=True)
    result = invoke(str(tmp_path / "nope"), "--course", str(project), "--out", str(tmp_path / "kept"))
    assert result.exit_code == EXIT_USAGE
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes"]  # OUT was there: only ours goes


def test_a_run_that_wrote_reports_keeps_its_secret(project, tmp_path, monkeypatch):
    import grader.batch

    monkeypatch.delenv("GRADER_SECRET", raising=False)
    (tmp_path / "subs" / "someone").mkdir(parents=True)
    monkeypatch.setattr(grader.batch, "rebuild_gradebook", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = invoke(str(tmp_path / "subs"), "--course", str(project), "--out", str(tmp_path / "o"),
                    "--isolation", "none")
    assert result.exit_code == EXIT_INTERRUPTED
    assert (tmp_path / "o" / "students" / "someone" / "report.json").is_file()
    assert (tmp_path / "o" / ".instructor" / "secret").is_file()  # the report's hidden inputs came from it
