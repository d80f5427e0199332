"""The LMS round trip end to end, with real kernels: a Canvas and a Moodle submissions zip graded with a roster,
course.toml's due dates, time zone, per-day penalty with a cap and extensions, and `--late-days`; then exported
back to Canvas's gradebook import and Moodle's grading worksheet."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.course import load_course
from grader.layout import OutLayout
from grader.review.items import Review

from conftest import invoke
from minicourse import WRONG_ALPHA, copy_tree

pytestmark = pytest.mark.slow

ZONE_AND_DUE = ('timezone = "Asia/Shanghai"\n'
                '[due]\nalpha = 2025-03-01T23:59:00\nbeta = "2025-03-08"\n')


def _course(mini_course: Path, root: Path, course_toml: str) -> Path:
    """A copy of the mini course with `course_toml`; alpha's hidden check is shown after the due date."""
    course = copy_tree(mini_course, root)
    rubric = course / "rubrics" / "alpha.toml"
    rubric.write_text(rubric.read_text(encoding="utf-8").replace('visibility = "hidden"',
                                                                 'visibility = "after_due_date"'), encoding="utf-8")
    (course / "course.toml").write_text(course_toml, encoding="utf-8")
    return course


def _notebook(course: Path, exercise: str, wrong: bool = False) -> bytes:
    """The reference notebook as a student hands it in (beta's written answer says "Because.")."""
    nb = nbformat.read(course / "reference" / f"{exercise}.ipynb", as_version=4)
    if wrong:
        nb.cells.append(nbformat.v4.new_code_cell(WRONG_ALPHA))
    return nbformat.writes(nb).encode()


def _zip(path: Path, entries: list[tuple[str, bytes, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, when in entries:
            archive.writestr(zipfile.ZipInfo(name, when), data)
    return path


def _rows(path: Path) -> dict[str, dict[str, str]]:
    return {row["student"]: row for row in csv.DictReader(path.open(encoding="utf-8"))}


def _report(layout: OutLayout, student: str) -> dict:
    return json.loads(layout.report(student).read_text(encoding="utf-8"))


def _late(report: dict) -> dict[str, tuple]:
    return {ex["id"]: (ex["late"], ex["score"], ex["final_score"]) for ex in report["exercises"] if "late" in ex}


def test_a_canvas_zip_with_a_roster_late_days_and_an_extension(mini_course, isolation, tmp_path):
    course = _course(mini_course, tmp_path / "course", ZONE_AND_DUE + (
        '[late]\npolicy = "per_day"\nper_day = 0.1\ncap = 0.3\n'
        '[[extensions]]\nstudent = "34567"\ndays = 2\n'))
    when = (2025, 3, 12, 8, 0, 0)  # Canvas stamps every entry with the time the zip was built
    zip_path = _zip(tmp_path / "submissions.zip", [
        ("smithjohn_LATE_12345_67890_alpha.ipynb", _notebook(course, "alpha"), when),
        ("smithjohn_12345_67891_beta.ipynb", _notebook(course, "beta"), when),
        ("doejane_LATE_23456_70001_alpha.ipynb", _notebook(course, "alpha", wrong=True), when),
        ("leeann_LATE_34567_70002_alpha.ipynb", _notebook(course, "alpha"), when),
        ("leeann_34567_70003_beta.ipynb", _notebook(course, "beta"), when),
    ])
    (tmp_path / "roster.csv").write_text(  # Canvas: Grades > Export
        "Student,ID,SIS User ID,SIS Login ID,Section,alpha (101),beta (102)\n"
        "    Points Possible,,,,,5,9\n"
        "\"Smith, John\",12345,s001,jsmith,Section A,,\n"
        "\"Doe, Jane\",23456,s002,jdoe,Section A,,\n", encoding="utf-8")
    (tmp_path / "late.csv").write_text("student,days\n12345,3\n", encoding="utf-8")  # every exercise
    (tmp_path / "scores.csv").write_text("student,check,points\n12345,beta.essay.answer,4\n", encoding="utf-8")
    out = tmp_path / "graded"
    result = invoke(str(zip_path), "--course", str(course), "--out", str(out), "--isolation", isolation.requested,
                    "--workers", "1", "--roster", str(tmp_path / "roster.csv"),
                    "--late-days", str(tmp_path / "late.csv"),
                    "--manual", str(tmp_path / "scores.csv"), "--format", "canvas")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "student 23456: alpha is marked LATE by Canvas, days late unknown: counted as 1" in said
    assert "student 34567" not in said  # LATE by Canvas, but the two days' extension covers the day it counts
    assert "Smith, John LATE" in said and "Doe, Jane LATE" in said and "leeann LATE" in said
    assert "3.5/5 (3 days late, raw 5)" in said and "9.8/14 (raw 14)" in said and "10/14 (+4 pending)" in said

    layout = OutLayout(out)
    rows = _rows(layout.gradebook())
    assert [(s, r["score"], r["final_score"], r["late_days"], r["lms"], r["lms_id"], r["lms_name"], r["name"])
            for s, r in rows.items()] == [
        ("12345", "14", "9.8", "3", "canvas", "12345", "smithjohn", "Smith, John"),
        ("23456", "2", "1.8", "1", "canvas", "23456", "doejane", "Doe, Jane"),
        ("34567", "10", "10", "", "canvas", "34567", "leeann", "")]
    assert rows["12345"]["beta.essay"] == "4" and rows["34567"]["pending"] == "4"

    smith = _report(layout, "12345")
    assert _late(smith) == {"alpha": ({"days": 3, "source": "list", "penalty": 0.3}, 5, 3.5),
                            "beta": ({"days": 3, "source": "list", "penalty": 0.3}, 9, 6.3)}  # the scored essay too
    assert (smith["score"], smith["final_score"]) == (14, 9.8)
    assert smith["lms"] == {"system": "canvas", "id": "12345", "name": "smithjohn", "real_name": "Smith, John",
                            "late": True}
    assert _late(_report(layout, "23456")) == {"alpha": ({"days": 1, "source": "lms", "penalty": 0.1}, 2, 1.8)}
    assert _late(_report(layout, "34567")) == {} and "final_score" not in _report(layout, "34567")

    feedback = layout.feedback_html("12345").with_suffix(".md").read_text(encoding="utf-8")
    assert "> alpha: 3 days late, 30% taken by the late policy: 3.5/5 (before: 5)" in feedback
    assert "> beta: 3 days late, 30% taken by the late policy: 6.3/9 (before: 9)" in feedback
    assert "Smith, John LATE" in feedback
    assert "law" in feedback and "shown after the due date" not in feedback  # course.toml's due date has passed
    summary = layout.summary().read_text(encoding="utf-8")
    assert "Smith, John LATE · 9.8 after the late policy" in summary and "leeann LATE" in summary

    canvas = {row[1]: row for row in csv.reader(layout.canvas_gradebook().open(encoding="utf-8"))}
    assert canvas["12345"] == ["12345", "12345", "", "", "", "3.5", "6.3"]  # Canvas's ID column, final scores
    assert canvas["23456"] == ["23456", "23456", "", "", "", "1.8", "0"]
    assert canvas["34567"] == ["34567", "34567", "", "", "", "5", "5"]

    chinese = invoke("export", str(out), "--course", str(course), "--lang", "zh")
    assert chinese.exit_code == 0, chinese.output
    feedback = layout.feedback_html("12345").with_suffix(".md").read_text(encoding="utf-8")
    assert "> alpha：迟交 3 天，按迟交规定扣除 30%：3.5/5（扣除前：5）" in feedback and "Smith, John（迟交）" in feedback

    # a score changed in `grade review` later: the late policy applies to it too
    Review(layout, load_course(course), who="ta").save("12345", "beta.essay.answer", 2)
    smith = _report(layout, "12345")
    assert _late(smith)["beta"] == ({"days": 3, "source": "list", "penalty": 0.3}, 7, 4.9)
    assert (smith["score"], smith["final_score"]) == (12, 8.4)
    assert (_rows(layout.gradebook())["12345"]["final_score"], _rows(layout.gradebook())["12345"]["late_days"]) == (
        "8.4", "3")
    assert "> beta: 3 days late, 30% taken by the late policy: 4.9/9 (before: 7)" in layout.feedback_html(
        "12345").with_suffix(".md").read_text(encoding="utf-8")


WORKSHEET = (  # Moodle: the assignment's "Download grading worksheet"
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 1234567,Ada King,ada@example.org,Submitted for grading,,100.00,Yes,"
    "\"Monday, 3 March 2025, 10:00 AM\",-,\n"
    "Participant 2345678,Bob Byte,bob@example.org,Submitted for grading,,100.00,Yes,"
    "\"Sunday, 9 March 2025, 8:00 PM\",-,\n"
    "Participant 3456789,Cy Nobody,cy@example.org,No submission,,100.00,Yes,-,-,\n")


def test_a_moodle_zip_late_by_its_file_times_in_the_course_zone(mini_course, isolation, tmp_path):
    course = _course(mini_course, tmp_path / "course", ZONE_AND_DUE + (
        '[late]\npolicy = "per_day"\nper_day = 0.25\ncap = 0.5\n'
        '[[extensions]]\nstudent = "2345678"\nexercise = "beta"\ndays = 1\n'))
    zip_path = _zip(tmp_path / "submissions.zip", [  # Moodle keeps each file's own time (read in the course zone)
        ("Ada Lovelace_1234567_assignsubmission_file_/alpha.ipynb", _notebook(course, "alpha"),
         (2025, 3, 3, 10, 0, 0)),  # 1 day 10 hours late: 2 days, 50% (the cap)
        ("Ada Lovelace_1234567_assignsubmission_file_/beta.ipynb", _notebook(course, "beta"), (2025, 3, 8, 12, 0, 0)),
        ("Bob Byte_2345678_assignsubmission_file_/alpha.ipynb", _notebook(course, "alpha", wrong=True),
         (2025, 3, 1, 20, 0, 0)),
        ("Bob Byte_2345678_assignsubmission_file_/beta (1).ipynb", _notebook(course, "beta"),
         (2025, 3, 9, 20, 0, 0)),  # a day late, and a day's extension
    ])
    (tmp_path / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8-sig")
    out = tmp_path / "graded"
    result = invoke(str(zip_path), "--course", str(course), "--out", str(out), "--isolation", isolation.requested,
                    "--workers", "1", "--roster", str(tmp_path / "worksheet.csv"), "--lang", "zh")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Ada King" in said and "2.5/5 (2 days late, raw 5)" in said and "LATE" not in said

    layout = OutLayout(out)
    rows = _rows(layout.gradebook())
    assert [(s, r["score"], r["final_score"], r["late_days"], r["lms"], r["lms_id"], r["lms_name"], r["name"])
            for s, r in rows.items()] == [
        ("1234567", "10", "7.5", "2", "moodle", "1234567", "Ada Lovelace", "Ada King"),
        ("2345678", "7", "7", "", "moodle", "2345678", "Bob Byte", "Bob Byte")]
    ada = _report(layout, "1234567")
    assert _late(ada) == {"alpha": ({"days": 2, "source": "file_time", "penalty": 0.5}, 5, 2.5)}
    assert _late(_report(layout, "2345678")) == {}
    feedback = layout.feedback_html("1234567").with_suffix(".md").read_text(encoding="utf-8")
    assert "> alpha：迟交 2 天，按迟交规定扣除 50%：2.5/5（扣除前：5）" in feedback and "late policy" not in feedback
    assert "按迟交规定扣分后 7.5" in layout.summary().read_text(encoding="utf-8")

    back = invoke("export", "moodle", str(out), "--worksheet", str(tmp_path / "worksheet.csv"))
    assert back.exit_code == 0, back.output
    assert "2 grade(s) filled in" in back.output
    filled = list(csv.reader((out / "moodle_worksheet.csv").open(encoding="utf-8")))
    assert filled[0] == WORKSHEET.splitlines()[0].split(",")
    grades = {row[0]: (row[1], row[4]) for row in filled[1:]}
    assert grades == {"Participant 1234567": ("Ada King", "53.57"),  # 7.5 of 14 after the late policy
                      "Participant 2345678": ("Bob Byte", "50.00"), "Participant 3456789": ("Cy Nobody", "")}
    alpha = invoke("export", "moodle", str(out), "--worksheet", str(tmp_path / "worksheet.csv"), "--exercise", "alpha",
                   "--output", str(tmp_path / "alpha.csv"))
    assert alpha.exit_code == 0, alpha.output
    grades = {row[0]: row[4] for row in csv.reader((tmp_path / "alpha.csv").open(encoding="utf-8"))}
    assert (grades["Participant 1234567"], grades["Participant 2345678"]) == ("50.00", "40.00")
