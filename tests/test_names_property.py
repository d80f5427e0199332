"""Property: whatever names students give their folders and files, the batch grades every one of them.

Hypothesis generates student folder names, notebook names and extra file names (any bytes the filesystem
allows, long, control characters, markup, formula prefixes, reserved names, GBK) and drives them through
discovery, grading of the mini course (a fake run for the examples; one real batch with kernels), every
reporter and `grade export`: exit 0, one gradebook row per student, every file parseable, and no path of the
grading machine in what a student sees.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.batch import grade_batch
from grader.cli import main
from grader.course import load_course
from grader.discovery import NOT_STUDENTS
from grader.export import ExportOptions, load_reports, write_exports
from grader.layout import OutLayout
from grader.options import GradingOptions
from grader.sandbox import Limits
from minicourse import make_course
from test_names import FakeExecutor, exercise_nb

SPECIAL = ["gradebook.csv", "summary.html", ".instructor", "students", "junit.xml", "CON", "NUL", "lock",
           "=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "[red]x[/red]", "[x]alice",
           "<script>alert(1)</script>", "\x1b[2J\x1b]0;pwned\x07", "Points Possible", "a" * 240, "张伟", "e\u0301",
           "\u00e9", " lead", "trail ", "new\nline", "tab\there", "%2E", "~", "\\x41"]
SPECIAL_BYTES = [s.encode("utf-8") for s in SPECIAL] + ["作业".encode("gbk"), b"\xff\xfe", b"\x80" * 200]


def _allowed(raw: bytes) -> bool:
    return (0 < len(raw) <= 255 and b"/" not in raw and b"\0" not in raw and raw not in (b".", b"..")
            and os.fsdecode(raw) not in NOT_STUDENTS and not raw.startswith(b"._"))


names = st.one_of(st.sampled_from(SPECIAL_BYTES), st.binary(min_size=1, max_size=255),
                  st.text(min_size=1, max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass"))).filter(_allowed)
file_names = st.one_of(st.just(b"alpha"), names.filter(lambda r: len(r) <= 249))


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("property") / "course")


def build(subs: Path, course_dir: Path, students: list[tuple[bytes, bytes, bytes]], solved: bool = False) -> None:
    text = exercise_nb(course_dir)
    if solved:
        nb = nbformat.read(course_dir / "reference" / "alpha.ipynb", as_version=4)
        text = nbformat.writes(nb)
    for folder, notebook, extra in students:
        path = os.path.join(os.fsencode(subs), folder)
        os.makedirs(path)
        with open(os.path.join(path, notebook + b".ipynb"), "w", encoding="utf-8") as handle:
            handle.write(text)
        with open(os.path.join(path, extra), "wb") as handle:
            handle.write(b"1,2\n")


def check_out(out: Path, count: int, machine: list[str]) -> None:
    """One row per student, every file parseable, no path of this machine in a student's files."""
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        assert len(list(csv.reader(handle))) == 1 + count
    with (out / "gradebook_canvas.csv").open(encoding="utf-8", newline="") as handle:
        list(csv.reader(handle))
    ET.parse(out / "junit.xml")
    assert (out / "summary.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    folders = list(OutLayout(out).students_dir().iterdir())
    assert len(folders) == count
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or path.suffix == ".png":
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix in (".json", ".ipynb"):
                json.loads(text)
            if path.suffix != ".ipynb":
                assert not any(m in text for m in machine), (path, text[:500])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(st.tuples(names, file_names, names), min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_any_names_grade_every_student(course_dir, isolation, students):
    options = GradingOptions(load_course(course_dir), isolation, Limits(), b"property-secret")
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        build(subs, course_dir, students)
        reports = grade_batch(subs, out, options, executor=FakeExecutor(), on_warning=lambda line: None)
        assert len(reports) == len(students) == len({r["student"] for r in reports})
        write_exports(out, reports, options.course, ExportOptions("en", ("gradescope", "junit", "canvas")))
        check_out(out, len(students), [tmp, str(course_dir)])
        result = CliRunner().invoke(main, ["export", "reports", str(out), "--course", str(course_dir),
                                           "--format", "gradescope", "--format", "junit", "--format", "canvas"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert len(load_reports(out)) == len(students)
        check_out(out, len(students), [tmp, str(course_dir)])


@pytest.mark.slow
def test_a_real_batch_of_hostile_names(course_dir, isolation, tmp_path):
    """Real kernels: the names reach the sandbox (the extra file under its own bytes) and every student scores."""
    students = [("作业".encode("gbk"), "作业1".encode("gbk"), "数据.csv".encode("gbk")),
                (b"s" * 240, b"n" * 239, b"x" * 250), (b"gradebook.csv", b"alpha", b"=1+2"),
                (b"\x1b[2J[red]x", b"alpha", b"students")]
    build(tmp_path / "subs", course_dir, students, solved=True)
    options = GradingOptions(load_course(course_dir), isolation, Limits(), b"property-secret")
    reports = grade_batch(tmp_path / "subs", tmp_path / "out", options, on_warning=lambda line: None)
    assert len(reports) == 4
    for report in reports:
        alpha = next(e for e in report["exercises"] if e["id"] == "alpha")
        assert alpha["status"] == "graded" and alpha["score"] == alpha["max_score"], alpha
    result = CliRunner().invoke(main, ["export", "reports", str(tmp_path / "out"), "--course", str(course_dir),
                                       "--format", "gradescope", "--format", "junit", "--format", "canvas"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    check_out(tmp_path / "out", 4, [str(tmp_path), str(course_dir)])
