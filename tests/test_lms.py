"""The LMS round trip: names and ids from the zip, the roster, course.toml's late policy, Moodle's worksheet."""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader.cli import results_table
from grader.course import CourseSettings, Extension, LatePolicy, load_course_settings
from grader.errors import CourseError, UsageError
from grader.intake import unpack_lms_zip
from grader.late import Lateness, apply_late, lateness, read_late_days
from grader.lms import LmsContext, annotate
from grader.reporters.canvas import canvas_csv
from grader.reporters.gradebook import write_gradebook
from grader.reporters.json_report import retotal, validate_report
from grader.reporters.moodle import fill_worksheet
from grader.roster import Identity, identities, read_roster

from conftest import invoke
from sample_reports import graded_folder, report

EXERCISES = {"autograd", "logistic_regression"}
ORDER = [("autograd", ["retain_graph", "grad_tensors"]), ("logistic_regression", ["make_data", "hw1"])]


def _zip(path: Path, entries: list[tuple[str, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, when in entries:
            archive.writestr(zipfile.ZipInfo(name, when), b"{}")
    return path


def _settings(tmp_path: Path, text: str) -> CourseSettings:
    (tmp_path / "course.toml").write_text(text, encoding="utf-8")
    return load_course_settings(tmp_path, EXERCISES)


# -- course.toml -----------------------------------------------------------------------------------------------
def test_course_toml_gives_due_dates_in_the_course_zone_a_policy_and_extensions(tmp_path):
    settings = _settings(tmp_path, 'timezone = "Asia/Shanghai"\n'
                                   '[due]\nautograd = 2025-03-01T23:59:00\nlogistic_regression = "2025-03-08"\n'
                                   '[late]\npolicy = "per_day"\nper_day = 0.1\ncap = 0.3\n'
                                   '[[extensions]]\nstudent = "12345"\ndays = 2\nexercise = "autograd"\n')
    zone = ZoneInfo("Asia/Shanghai")
    assert settings.due["autograd"] == datetime(2025, 3, 1, 23, 59, tzinfo=zone)
    assert settings.due["logistic_regression"] == datetime(2025, 3, 8, 23, 59, 59, tzinfo=zone)  # a date: its end
    assert settings.last_due() == settings.due["logistic_regression"]  # the default for --due
    assert settings.due_date("autograd", "12345") == datetime(2025, 3, 3, 23, 59, tzinfo=zone)
    assert settings.due_date("logistic_regression", "12345") == settings.due["logistic_regression"]
    assert [settings.late.fraction(d) for d in (0, 1, 2, 5)] == [0, 0.1, 0.2, 0.3]


@pytest.mark.parametrize("text, words", [
    ('[due]\nnope = 2025-03-01\n', "no such exercise nope"),
    ('[late]\npolicy = "sometimes"\n', "late/policy"),
    ('[late]\npolicy = "per_day"\n', "per_day"),
    ('timezone = "Mars/Olympus"\n', "unknown time zone"),
    ('[due]\nautograd = "next week"\n', "due/autograd"),
    ('due = [', "cannot be read"),
])
def test_a_bad_course_toml_is_named(tmp_path, text, words):
    with pytest.raises(CourseError, match=words.replace("/", "/")):
        _settings(tmp_path, text)


@pytest.mark.parametrize("due, shown", [("2000-01-01", True), ("2999-01-01", False)])
def test_course_tomls_last_due_date_is_the_default_for_due(project, tmp_path, due, shown):
    import shutil

    course = tmp_path / "course"
    shutil.copytree(project / "rubrics", course / "rubrics")
    (course / "course.toml").write_text(f'[due]\nautograd = "1999-01-01"\nlogistic_regression = "{due}"\n',
                                        encoding="utf-8")
    out = graded_folder(tmp_path / "graded", {"ada": report("ada", after_due=True)})
    result = invoke("export", str(out), "--course", str(course))
    assert result.exit_code == 0, result.output
    feedback = (out / "students" / "ada" / "feedback.md").read_text(encoding="utf-8")
    assert ("random\\_inputs" in feedback) is shown
    assert ("shown after the due date" in feedback) is not shown
    result = invoke("export", str(out), "--course", str(course), "--due", "2000-01-01")  # --due still decides
    assert "random\\_inputs" in (out / "students" / "ada" / "feedback.md").read_text(encoding="utf-8")


def test_no_course_toml_means_no_due_dates_and_no_penalty(tmp_path):
    settings = load_course_settings(tmp_path, EXERCISES)
    assert settings == CourseSettings() and settings.late.fraction(10) == 0


def test_policies():
    assert LatePolicy("not_accepted").fraction(1) == 1 and LatePolicy("not_accepted").fraction(0) == 0
    assert LatePolicy("none").fraction(9) == 0
    assert LatePolicy("per_day", 0.25, 1.0).fraction(5) == 1.0


# -- lateness --------------------------------------------------------------------------------------------------
def test_moodle_file_times_say_how_late_in_the_course_zone(tmp_path):
    zone = ZoneInfo("Europe/Berlin")
    result = unpack_lms_zip(_zip(tmp_path / "m.zip", [
        ("Ada Lovelace_111_assignsubmission_file_/01_autograd.ipynb", (2025, 3, 3, 10, 0, 0)),  # 1 day 10 h late: 2 days
        ("Bob Byte_222_assignsubmission_file_/01_autograd.ipynb", (2025, 3, 1, 23, 0, 0)),  # on time
    ]), tmp_path / "intake")
    assert result.lms == "moodle"
    people = identities(tmp_path / "intake")
    assert people["111"].lms_name == "Ada Lovelace" and people["111"].lms == "moodle"
    settings = CourseSettings(zone, {"autograd": datetime(2025, 3, 1, 23, 59, tzinfo=zone)})
    assert lateness("111", "autograd", "01_autograd.ipynb", people["111"], settings, {}) == Lateness(2, "file_time")
    assert lateness("222", "autograd", "01_autograd.ipynb", people["222"], settings, {}) is None
    extended = CourseSettings(zone, settings.due, extensions=(Extension("111", 2),))
    assert lateness("111", "autograd", "01_autograd.ipynb", people["111"], extended, {}) is None
    assert lateness("111", "autograd", None, people["111"], settings, {}) is None  # nothing handed in


def test_canvas_late_flag_counts_one_day_unless_the_list_says(tmp_path):
    unpack_lms_zip(_zip(tmp_path / "c.zip", [
        ("smithjohn_LATE_12345_67899_01_autograd.ipynb", (2025, 3, 9, 0, 0, 0)),
        ("doejane_23456_70001_01_autograd.ipynb", (2025, 3, 9, 0, 0, 0)),
        ("anon_777_70002_01_autograd.ipynb", (2025, 3, 9, 0, 0, 0)),
    ]), tmp_path / "intake")
    (tmp_path / "late.csv").write_text("student,days,exercise\n12345,4,autograd\n23456,2,\n", encoding="utf-8")
    listed = read_late_days(tmp_path / "late.csv")
    people = identities(tmp_path / "intake")
    assert (people["12345"].lms_name, people["12345"].late, people["anon_777"].lms_name) == ("smithjohn", True, "")
    # Canvas stamps entries with the time the zip was built: no file_time even with a due date
    settings = CourseSettings(None, {"autograd": datetime(2025, 3, 1)})
    assert lateness("12345", "autograd", "01_autograd.ipynb", people["12345"], settings, {}) == Lateness(1, "lms")
    assert lateness("12345", "autograd", "01_autograd.ipynb", people["12345"], settings, listed) == Lateness(4, "list")
    assert lateness("23456", "autograd", "01_autograd.ipynb", people["23456"], settings, listed) == Lateness(2, "list")
    assert lateness("23456", "autograd", "01_autograd.ipynb", people["23456"], settings, {}) is None
    extended = CourseSettings(None, settings.due,
                              extensions=(Extension("12345", 2, "autograd"), Extension("12345", 9, "other")))
    assert lateness("12345", "autograd", "01_autograd.ipynb", people["12345"], extended, listed) == Lateness(2, "list")
    assert lateness("12345", "autograd", "01_autograd.ipynb", people["12345"], extended, {}) is None  # LATE: 1 - 2


def test_a_bad_late_days_list_is_a_usage_error(tmp_path):
    (tmp_path / "late.csv").write_text("student,days\n1,soon\n", encoding="utf-8")
    with pytest.raises(UsageError, match="line 2"):
        read_late_days(tmp_path / "late.csv")
    (tmp_path / "late.csv").write_text("who,when\n", encoding="utf-8")
    with pytest.raises(UsageError, match="student and days"):
        read_late_days(tmp_path / "late.csv")


def test_the_penalty_takes_part_of_the_score_and_follows_later_scores():
    data = report("12345", wrong=False)  # autograd 16/16
    context = LmsContext(CourseSettings(late=LatePolicy("per_day", 0.1, 0.5)),
                         {"12345": Identity("canvas", "12345", "smithjohn", "John Smith", True)},
                         {("12345", "autograd"): 2})
    annotate(data, context)
    validate_report(data)
    autograd = data["exercises"][0]
    assert autograd["late"] == {"days": 2, "source": "list", "penalty": 0.2}
    assert (autograd["score"], autograd["final_score"], data["score"], data["final_score"]) == (16, 12.8, 16, 12.8)
    assert data["lms"] == {"system": "canvas", "id": "12345", "name": "smithjohn", "real_name": "John Smith",
                           "late": True}
    autograd["questions"][0]["checks"][0]["points"] = 0  # a person took 3 points away: the penalty follows
    retotal(data)
    assert (autograd["score"], autograd["final_score"], data["final_score"]) == (13, 10.4, 10.4)


def test_not_accepted_scores_a_late_exercise_zero_and_on_time_reports_stay_as_they_were():
    data = report("ada", wrong=False)
    before = copy.deepcopy(data)
    assert annotate(data, LmsContext(CourseSettings(late=LatePolicy("not_accepted")))) == before
    apply_late(data, {"autograd": Lateness(1, "lms")}, LatePolicy("not_accepted"))
    assert (data["exercises"][0]["final_score"], data["final_score"]) == (0, 0)


# -- what the instructor sees -----------------------------------------------------------------------------------
def _late_reports() -> list[dict]:
    late = report("12345", wrong=False)
    late["lms"] = {"system": "canvas", "id": "12345", "name": "smithjohn", "real_name": "=cmd|' /C calc'!A0", "late": True}
    apply_late(late, {"autograd": Lateness(3, "lms")}, LatePolicy("per_day", 0.1, 1))
    on_time = report("23456", wrong=True)
    on_time["lms"] = {"system": "canvas", "id": "23456", "name": "doejane"}
    return [late, on_time]


def test_the_gradebook_has_raw_and_final_score_days_late_and_who(tmp_path):
    write_gradebook(_late_reports(), ORDER, tmp_path / "gradebook.csv")
    text = (tmp_path / "gradebook.csv").read_text(encoding="utf-8")
    assert text.startswith("student,score,max_score,pending,final_score,late_days,lms,lms_id,lms_name,name,")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["score"], r["final_score"], r["late_days"], r["lms_name"]) for r in rows] == [
        ("16", "11.2", "3", "smithjohn"), ("8", "8", "", "doejane")]
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0"  # a roster name cannot run as a formula


def test_canvas_import_gets_the_final_score():
    rows = list(csv.reader(io.StringIO(canvas_csv(_late_reports(), [("autograd", 16), ("logistic_regression", 8)],
                                                  {"12345", "23456"}))))
    assert rows[2][:2] == ["12345", "12345"] and rows[2][5:] == ["11.2", "0"]


def test_an_anonymous_canvas_zip_fills_no_canvas_id_and_the_export_says_so(tmp_path, project):
    from grader.layout import OutLayout

    out = graded_folder(tmp_path / "out", {"anon_777": report("anon_777"), "12345": report("12345")})
    unpack_lms_zip(_zip(tmp_path / "c.zip", [("anon_777_70002_01_autograd.ipynb", (2025, 3, 9, 0, 0, 0)),
                                            ("smithjohn_12345_70003_01_autograd.ipynb", (2025, 3, 9, 0, 0, 0))]),
                   OutLayout(out).intake_dir())
    result = invoke("export", str(out), "--course", str(project), "--format", "canvas")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert ("1 student(s) of an anonymous Canvas zip (anon_777): Canvas's gradebook import cannot match an "
            "anonymous id; enter their grades in SpeedGrader") in said
    rows = list(csv.reader(OutLayout(out).canvas_gradebook().open(encoding="utf-8")))
    assert [row[:4] for row in rows[2:]] == [["12345", "12345", "", ""], ["anon_777", "", "", ""]]


def test_the_terminal_table_names_students_and_says_late(tmp_path):
    from rich.console import Console

    console = Console(width=300, record=True)
    console.print(results_table(_late_reports(), ["autograd", "logistic_regression"], tmp_path))
    text = console.export_text()
    assert "=cmd|' /C calc'!A0 LATE" in text and "doejane" in text
    assert "11.2/16 (3 days late, raw 16)" in text


def test_roster_from_a_canvas_export_and_a_moodle_worksheet(tmp_path):
    (tmp_path / "canvas.csv").write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,HW 1 (1)\n"
        "    Points Possible,,,,,10\n"
        "\"Smith, John\",12345,s001,jsmith,A,8\n", encoding="utf-8")
    assert read_roster(tmp_path / "canvas.csv") == {"12345": "Smith, John", "s001": "Smith, John",
                                                    "jsmith": "Smith, John"}
    (tmp_path / "moodle.csv").write_text(WORKSHEET, encoding="utf-8-sig")
    assert read_roster(tmp_path / "moodle.csv")["1234567"] == "Ada Lovelace"
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="id column"):
        read_roster(tmp_path / "bad.csv")


# -- Moodle's grading worksheet --------------------------------------------------------------------------------
WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 1234567,Ada Lovelace,ada@example.org,Submitted for grading,,100.00,Yes,"
    "\"Tuesday, 4 March 2025, 10:00 AM\",-,\n"
    "Participant 2345678,=Bob,bob@example.org,Submitted for grading,,100.00,No,"
    "\"Monday, 3 March 2025, 9:00 AM\",\"Monday, 3 March 2025, 9:30 AM\",Seen\n"
    "Participant 3456789,Cy Nobody,cy@example.org,No submission,,100.00,Yes,-,-,\n")


def _moodle_reports() -> list[dict]:
    ada = report("1234567", wrong=False)  # 16 of 24, autograd 16/16
    apply_late(ada, {"autograd": Lateness(1, "file_time")}, LatePolicy("per_day", 0.25, 1))  # autograd 12
    return [ada, report("2345678"), report("9999999")]


def test_the_worksheet_comes_back_in_its_layout_with_grades_filled_in():
    result = fill_worksheet(WORKSHEET, _moodle_reports())
    rows = list(csv.reader(io.StringIO(result.text)))
    original = list(csv.reader(io.StringIO(WORKSHEET)))
    assert rows[0] == original[0]
    assert rows[1][4] == "50.00"  # 12 of 24 after the late policy, on Moodle's scale of 100
    assert rows[1][:4] == original[1][:4] and rows[1][5:] == original[1][5:]  # Moodle's cells as read
    assert rows[2][4] == "" and rows[2][8] == original[2][8]  # "Grade can be changed: No": left alone
    assert rows[2][1] == "'=Bob"  # a student's name cannot run as a formula
    assert rows[3] == original[3]  # not graded by us
    assert (result.graded, result.locked, result.not_in_worksheet) == (1, ["2345678"], ["9999999"])
    one = list(csv.reader(io.StringIO(fill_worksheet(WORKSHEET, _moodle_reports(), "autograd").text)))
    assert one[1][4] == "75.00"  # autograd alone: 12 of 16


def test_grade_export_moodle_writes_the_filled_worksheet(tmp_path):
    out = graded_folder(tmp_path / "out", {r["student"]: r for r in _moodle_reports()})
    (tmp_path / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8-sig")  # Moodle writes a BOM
    result = invoke("export", "moodle", str(out), "--worksheet", str(tmp_path / "worksheet.csv"))
    assert result.exit_code == 0, result.output
    assert "1 grade(s) filled in" in result.output and "student 9999999: graded but not in the worksheet" in result.output
    rows = list(csv.reader((out / "moodle_worksheet.csv").open(encoding="utf-8")))
    assert rows[1][0] == "Participant 1234567" and rows[1][4] == "50.00"
    bad = invoke("export", "moodle", str(out), "--worksheet", str(tmp_path / "worksheet.csv"), "--exercise", "nope")
    assert bad.exit_code != 0 and "no exercise 'nope'" in bad.output
    (tmp_path / "other.csv").write_text("a,b\n", encoding="utf-8")
    bad = invoke("export", "moodle", str(out), "--worksheet", str(tmp_path / "other.csv"))
    assert bad.exit_code != 0 and "not a Moodle grading worksheet" in bad.output


def test_feedback_and_summary_name_the_student_and_the_late_policy_escaped(tmp_path, course):
    from grader.export import ExportOptions, write_exports

    reports = _late_reports()
    reports[0]["lms"]["real_name"] = "<script>alert(1)</script>"
    out = graded_folder(tmp_path / "out", {r["student"]: r for r in reports})
    write_exports(out, reports, course, ExportOptions())
    from grader.layout import OutLayout

    layout = OutLayout(out)
    html = layout.feedback_html("12345").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; LATE" in html and "<script>" not in html
    assert "autograd: 3 days late, 30% taken by the late policy: 11.2/16 (before: 16)" in html
    md = layout.feedback_html("12345").with_suffix(".md").read_text(encoding="utf-8")
    assert "\\<script\\>" in md and "3 days late" in md
    summary = layout.summary().read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; LATE · 11.2 after the late policy" in summary
    assert "doejane" in summary


def test_the_late_policy_is_said_in_the_feedbacks_language(tmp_path, course):
    from grader.export import ExportOptions, write_exports
    from grader.layout import OutLayout
    from grader.lms import late_lines, who
    from grader.messages import render, to_json

    reports = _late_reports()
    one_day = report("34567", wrong=False)
    one_day["lms"] = {"system": "canvas", "id": "34567", "late": True}  # anonymous: no name, LATE only
    apply_late(one_day, {"autograd": Lateness(1, "lms")}, LatePolicy("per_day", 0.1, 1))
    assert [str(line) for line in late_lines(one_day)] == [
        "autograd: 1 day late, 10% taken by the late policy: 14.4/16 (before: 16)"]
    assert render(late_lines(reports[0])[0], "zh") == "autograd：迟交 3 天，按迟交规定扣除 30%：11.2/16（扣除前：16）"
    assert to_json(late_lines(reports[0])[0])["message_code"] == "late.days"  # a code and parameters, not English
    assert (render(who(reports[0]), "zh"), render(who(one_day), "zh")) == ("=cmd|' /C calc'!A0（迟交）", "迟交")
    out = graded_folder(tmp_path / "out", {r["student"]: r for r in [*reports, one_day]})
    layout = OutLayout(out)
    write_exports(out, [*reports, one_day], course, ExportOptions(lang="zh"))
    html = layout.feedback_html("12345").read_text(encoding="utf-8")
    assert "autograd：迟交 3 天，按迟交规定扣除 30%：11.2/16（扣除前：16）" in html and "taken by" not in html
    assert "（迟交）" in html and " LATE" not in html
    md = layout.feedback_html("34567").with_suffix(".md").read_text(encoding="utf-8")
    assert "> autograd：迟交 1 天，按迟交规定扣除 10%：14.4/16（扣除前：16）" in md
    summary = layout.summary().read_text(encoding="utf-8")
    assert "（迟交） · 按迟交规定扣分后 11.2" in summary and "迟交 · 按迟交规定扣分后 14.4" in summary
    assert "after the late policy" not in summary
    write_exports(out, [*reports, one_day], course, ExportOptions(lang="en"))
    assert "LATE · 14.4 after the late policy" in layout.summary().read_text(encoding="utf-8")
    assert "autograd: 1 day late, 10% taken" in layout.feedback_html("34567").read_text(encoding="utf-8")
