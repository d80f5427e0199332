"""Student names are data (issue 14, items 1, 2, 3 and 10): any name a student can give a folder or file."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.batch import grade_batch
from grader.cli import main
from grader.course import load_course
from grader.discovery import find_submissions
from grader.export import ExportOptions, write_exports
from grader.files import write_atomic
from grader.jobs import JobResult, NotebookJob
from grader.layout import OutLayout
from grader.models import ExerciseRun
from grader.names import decode_name, is_safe_name, safe_file_name, safe_name
from grader.options import GradingOptions
from grader.sandbox import Limits
from minicourse import make_course

SECRET = b"names-test-secret"
ALL_FORMATS = ExportOptions("en", ("gradescope", "junit", "canvas"))
GBK_DIR = "作业".encode("gbk")
GBK_NOTEBOOK = "作业1.ipynb".encode("gbk")
GBK_FILE = "数据.csv".encode("gbk")


class FakeExecutor:
    """Runs no kernel: every job comes back graded (no check passed), its notebook as the executed copy."""

    def __init__(self) -> None:
        self.jobs: list[NotebookJob] = []

    def prepare(self, options, notebooks):
        pass

    def run(self, jobs, options):
        self.jobs += jobs
        for job in jobs:
            yield JobResult(job.student, job.exercise, ExerciseRun(job.exercise, "graded", "graded", job.notebook_name),
                            nbformat.writes(job.notebook))


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("names") / "course")


@pytest.fixture
def options(course_dir, isolation) -> GradingOptions:
    return GradingOptions(load_course(course_dir), isolation, Limits(), SECRET)


def exercise_nb(course_dir: Path, exercise: str = "alpha") -> str:
    nb = nbformat.read(course_dir / "exercises" / f"{exercise}.ipynb", as_version=4)
    nb.metadata["grader"] = {"exercise": exercise}
    return nbformat.writes(nb)


def hand_in(subs: Path, student: str | bytes, course_dir: Path, name: str | bytes = b"alpha.ipynb") -> Path:
    folder = Path(os.fsdecode(os.path.join(os.fsencode(subs), os.fsencode(student))))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / os.fsdecode(name)).write_text(exercise_nb(course_dir), encoding="utf-8")
    return folder


def grade(subs: Path, out: Path, options: GradingOptions) -> tuple[list[dict], list[str]]:
    warnings: list[str] = []
    reports = grade_batch(subs, out, options, executor=FakeExecutor(), on_warning=warnings.append)
    return reports, warnings


def gradebook(out: Path) -> list[dict[str, str]]:
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_student(reports: list[dict]) -> dict[str, dict]:
    return {r["student"]: {e["id"]: e for e in r["exercises"]} for r in reports}


# -- names -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["alice", "张伟", ".hidden", "a/b", "x" * 240, "e\u0301", "\u00e9", "%41", "A",
                                  "gradebook.csv", "..", ".", "", "\x1b[2J", "a~b", "CON", "\udcff", "=1+2"])
def test_safe_names_are_plain_file_names(name):
    safe = safe_name(name)
    assert safe not in ("", ".", "..") and "/" not in safe and "\0" not in safe and not safe.startswith(".")
    assert len(safe.encode("utf-8")) <= 150 and safe.isprintable()
    assert (safe == name) == is_safe_name(name)


def test_safe_names_are_different_for_different_names():
    names = ["a%2Fb", "a/b", "e\u0301", "\u00e9", "x" * 240, "x" * 241, "x" * 239 + "y", "%", "", "~", "%7E",
             ".a", "%2Ea", "a" * 200 + "%", "a" * 200 + "~"]
    assert len({safe_name(n) for n in names}) == len(names)
    assert len({safe_file_name(n + ".ipynb") for n in names}) == len(names)


def test_names_decode_as_utf8_then_gb18030_then_escapes():
    assert decode_name(GBK_NOTEBOOK) == "作业1.ipynb" and decode_name("作业1.ipynb".encode()) == "作业1.ipynb"
    assert decode_name(b"\xff\xfe") == "\\xff\\xfe"
    assert decode_name(os.fsdecode(GBK_DIR)) == "作业"


def test_a_long_name_gets_a_short_temporary_name(tmp_path):
    path = tmp_path / ("n" * 250)
    write_atomic(path, "data")
    assert path.read_text() == "data" and [p.name for p in tmp_path.iterdir()] == [path.name]


# -- item 1: the grader's files and the students' never meet -------------------------------------------------------
@pytest.mark.parametrize("student", ["gradebook.csv", "summary.html", ".instructor", "students", "junit.xml"])
def test_a_student_named_like_a_grader_file_costs_no_one_anything(tmp_path, course_dir, options, student):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hand_in(subs, "alice", course_dir)
    hand_in(subs, student, course_dir)
    reports, _ = grade(subs, out, options)
    write_exports(out, reports, options.course)
    assert {r["student"] for r in reports} == {"alice", student}
    assert [r["student"] for r in gradebook(out)] == sorted({"alice", student})
    assert (out / "summary.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    layout = OutLayout(out)
    for name in ("alice", student):
        assert json.loads(layout.report(name).read_text(encoding="utf-8"))["student"] == name
        assert layout.feedback_html(name).is_file()
    recorded = json.loads(layout.students_map().read_text(encoding="utf-8"))
    assert recorded[safe_name(student)] == student


def legacy(out: Path) -> None:
    """Turn an OUT of this layout into one of the old layout (OUT/<student>/, .instructor/<student>.json)."""
    layout = OutLayout(out)
    for folder in sorted(layout.students_dir().iterdir()):
        os.replace(folder, out / folder.name)
    layout.students_dir().rmdir()
    for details in sorted((layout.instructor_dir() / "students").iterdir()):
        os.replace(details, layout.instructor_dir() / details.name)
    (layout.instructor_dir() / "students").rmdir()
    layout.students_map().unlink()


def test_an_out_of_the_old_layout_is_exported_and_its_cache_still_used(tmp_path, course_dir, options):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for student in ("alice", "bob"):
        hand_in(subs, student, course_dir)
    first, _ = grade(subs, out, options)
    legacy(out)
    assert (out / "alice" / "report.json").is_file() and not (out / "students").exists()
    result = CliRunner().invoke(main, ["export", "reports", str(out), "--course", str(course_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not (out / "alice").exists() and (out / "students" / "alice" / "feedback.html").is_file()
    assert (out / ".instructor" / "students" / "alice.json").is_file()

    legacy(out)
    executor = FakeExecutor()
    again = grade_batch(subs, out, options, executor=executor, on_warning=lambda line: None)
    assert executor.jobs == []  # every run came from the cache of the old layout
    assert [r["exercises"] for r in again] == [r["exercises"] for r in first]
    assert [r["student"] for r in gradebook(out)] == ["alice", "bob"]


# -- item 2: long names ---------------------------------------------------------------------------------------------
def test_a_240_character_id_and_a_245_character_notebook_are_graded(tmp_path, course_dir, options):
    subs, out = tmp_path / "subs", tmp_path / "out"
    long_id, long_nb = "s" * 240, "n" * 239 + ".ipynb"
    hand_in(subs, long_id, course_dir)
    hand_in(subs, "bob", course_dir, long_nb)
    reports, _ = grade(subs, out, options)
    write_exports(out, reports, options.course, ALL_FORMATS)
    exercises = by_student(reports)
    assert exercises[long_id]["alpha"]["status"] == exercises["bob"]["alpha"]["status"] == "graded"
    assert exercises["bob"]["alpha"]["notebook"] == long_nb
    assert OutLayout(out).executed("bob", long_nb).is_file()
    assert [r["student"] for r in gradebook(out)] == ["bob", long_id]
    executor = FakeExecutor()
    grade_batch(subs, out, options, executor=executor)
    assert executor.jobs == []  # the cache works for long names too


# -- item 3: names that are not UTF-8 ---------------------------------------------------------------------------------
def test_gbk_names_are_graded_under_readable_unique_ids(tmp_path, course_dir, options):
    subs, out = tmp_path / "subs", tmp_path / "out"
    folder = hand_in(subs, GBK_DIR, course_dir, GBK_NOTEBOOK)
    (folder / os.fsdecode(GBK_FILE)).write_bytes(b"1,2\n")
    hand_in(subs, "作业", course_dir)  # the same name in UTF-8: another student
    hand_in(subs, b"\xff\xfe", course_dir)
    reports, warnings = grade(subs, out, options)
    write_exports(out, reports, options.course, ALL_FORMATS)
    ids = [r["student"] for r in reports]
    assert sorted(ids) == sorted(["作业", "\\xd7\\xf7\\xd2\\xb5", "\\xff\\xfe"])
    assert any("作业" in line and "graded as" in line for line in warnings)
    gbk = next(s for s in ids if s.startswith("\\xd7"))
    assert os.fsencode(gbk.encode().decode("unicode_escape").encode("latin-1")) == GBK_DIR  # reversible
    assert by_student(reports)[gbk]["alpha"]["status"] == "graded"
    assert by_student(reports)[gbk]["alpha"]["notebook"] == "作业1.ipynb"
    assert len(gradebook(out)) == 3


# -- item 10: one student's problem stays theirs --------------------------------------------------------------------
def test_problems_of_one_student_are_theirs_with_a_row_and_a_warning(tmp_path, course_dir, options):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hand_in(subs, "clean", course_dir)
    hand_in(subs, "alice", course_dir)
    (subs / "alice.ipynb").write_text(exercise_nb(course_dir), encoding="utf-8")
    elsewhere = hand_in(tmp_path / "elsewhere", "carol", course_dir)
    (subs / "carol").symlink_to(elsewhere)
    hand_in(subs, ".dave", course_dir)
    linked = hand_in(subs, "erin", course_dir)
    (linked / "alpha.ipynb").unlink()
    (linked / "alpha.ipynb").symlink_to(elsewhere / "alpha.ipynb")
    for skipped in (".git", ".ipynb_checkpoints", "__MACOSX"):
        hand_in(subs, skipped, course_dir)
    hand_in(subs, "\u00e9mile", course_dir)
    hand_in(subs, "e\u0301mile", course_dir)
    out = subs / "graded"
    grade(subs, out, options)  # an OUT inside SUBMISSIONS, graded twice: never a student
    reports, warnings = grade(subs, out, options)
    exercises = by_student(reports)
    assert set(exercises) == {"clean", "alice", "carol", ".dave", "erin", "\u00e9mile", "e\u0301mile"}
    assert [r["student"] for r in gradebook(out)] == sorted(exercises)
    assert exercises["clean"]["alpha"]["status"] == "graded"
    assert exercises["\u00e9mile"]["alpha"]["status"] == exercises["e\u0301mile"]["alpha"]["status"] == "graded"
    expected = {"alice": "both a folder alice/ and a notebook alice.ipynb", "carol": "symbolic link",
                ".dave": "hidden", "erin": "symbolic link"}
    for student, text in expected.items():
        assert exercises[student]["alpha"]["status"] == "not_gradable" and text in exercises[student]["alpha"]["message"]
        assert any(student in line for line in warnings), (student, warnings)
    assert "links are not followed" in exercises["carol"]["alpha"]["message"]
    for skipped in (".git", ".ipynb_checkpoints", "__MACOSX", "graded"):
        assert any(line.startswith(f"{skipped}/") for line in warnings), (skipped, warnings)
    assert any("Unicode normalisation" in line for line in warnings)
    assert not (OutLayout(out).students_dir() / "graded").exists()


def test_an_unsafe_canvas_entry_is_that_students_row(tmp_path, course_dir, options):
    zip_path = tmp_path / "canvas.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("doejane_23456_70001_alpha.ipynb", exercise_nb(course_dir))
        archive.writestr("../smithjohn_12345_67890_alpha.ipynb", exercise_nb(course_dir))
    out = tmp_path / "out"
    warnings: list[str] = []
    reports = grade_batch(zip_path, out, options, executor=FakeExecutor(), on_warning=warnings.append)
    exercises = by_student(reports)
    assert exercises["23456"]["alpha"]["status"] == "graded"
    assert exercises["12345"]["alpha"]["status"] == "not_gradable"
    assert "not unpacked from the submissions zip" in exercises["12345"]["alpha"]["message"]
    assert any(line.startswith("student 12345:") for line in warnings)
    assert [r["student"] for r in gradebook(out)] == ["12345", "23456"]


def test_discovery_never_refuses_the_batch(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "bob.ipynb").symlink_to(tmp_path / "alice.ipynb")
    found = {s.student: s for s in find_submissions(tmp_path)}
    assert set(found) == {"alice", "bob"}
    assert found["alice"].problem and found["bob"].problem and "symbolic link" in found["bob"].problem
