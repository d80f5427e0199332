"""Property: whatever names students give their folders and files, the batch grades every one of them.

Hypothesis generates student folder names, notebook names and extra file names (any bytes the filesystem
allows, long, control characters, markup, formula prefixes, reserved names, GBK) and drives them through
discovery, grading of the mini course (a fake run for the examples; one real batch with kernels), every
reporter and `grade export`: exit 0, one gradebook row per student, every file parseable, and no control
character (newlines aside) nor path of the grading machine in the text a student or the terminal sees:
feedback.md, feedback.html's text, the terminal table, and the CSV cells (a cell that reads back, through
`csv_value`, as a student's id is that id exactly, the one thing the gradebook must not change).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from html.parser import HTMLParser
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from grader.batch import grade_batch
from grader.cli import main, results_table
from grader.course import load_course
from grader.discovery import NOT_STUDENTS
from grader.export import ExportOptions, load_reports, write_exports
from grader.layout import OutLayout
from grader.options import GradingOptions
from grader.sandbox import Limits
from grader.textsafe import csv_value
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


# What must not reach a reader as text: C0 controls (newline aside), DEL, C1 controls, bidirectional overrides.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _TextOf(HTMLParser):
    """The text a browser shows of a page (what is between tags, entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(page: str) -> str:
    parser = _TextOf()
    parser.feed(page)
    return "".join(parser.parts)


def assert_clean(text: str, machine: list[str], where: object, allowed: str = "") -> None:
    """No control character (but those `allowed`) and no path of this machine in `text`."""
    found = [c for c in CONTROL.findall(text) if c not in allowed]
    assert not found, (where, found[:5], text[:300])
    assert not any(m in text for m in machine), (where, text[:500])


def check_csv(path: Path, ids: set[str], machine: list[str]) -> list[list[str]]:
    """Every cell of a CSV the grader wrote: a student's id exactly, or clean text."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows:
        for cell in row:
            value = csv_value(cell)
            if value not in ids:
                assert_clean(value, machine, (path.name, row[:1]))
            assert not any(m in value for m in machine), (path.name, value)
    return rows


def check_table(reports: list[dict], machine: list[str]) -> None:
    """The terminal table as rich draws it on a non-terminal: student ids shown as clean text."""
    console = Console(file=io.StringIO(), force_terminal=False, width=400)
    console.print(results_table(reports, [e["id"] for e in reports[0]["exercises"]], Path("OUT")))
    assert_clean(console.file.getvalue(), machine, "terminal table")


def check_out(out: Path, count: int, machine: list[str], ids: set[str]) -> None:
    """One row per student, every file parseable, no path of this machine in a student's files, and no control
    character or machine path in what anyone reads as text."""
    assert len(check_csv(out / "gradebook.csv", ids, machine)) == 1 + count
    check_csv(out / "gradebook_canvas.csv", ids, machine)
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
    layout = OutLayout(out)
    for student in ids:
        assert_clean(layout.feedback_md(student).read_text(encoding="utf-8"), machine, (student, "feedback.md"))
        page = layout.feedback_html(student).read_text(encoding="utf-8")
        assert_clean(html_text(page), machine, (student, "feedback.html"), allowed="\t")  # a browser's white space


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(st.tuples(names, file_names, names), min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_any_names_grade_every_student(course_dir, isolation, students):
    options = GradingOptions(load_course(course_dir), isolation, Limits(), b"property-secret")
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "subs", Path(tmp) / "out"
        build(subs, course_dir, students)
        reports = grade_batch(subs, out, options, executor=FakeExecutor(), on_warning=lambda line: None)
        ids = {r["student"] for r in reports}
        assert len(reports) == len(students) == len(ids)
        machine = [tmp, str(course_dir)]
        check_table(reports, machine)
        write_exports(out, reports, options.course, ExportOptions("en", ("gradescope", "junit", "canvas")))
        check_out(out, len(students), machine, ids)
        result = CliRunner().invoke(main, ["export", "reports", str(out), "--course", str(course_dir),
                                           "--format", "gradescope", "--format", "junit", "--format", "canvas"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert len(load_reports(out)) == len(students)
        check_out(out, len(students), machine, ids)


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
    machine = [str(tmp_path), str(course_dir)]
    check_table(reports, machine)
    check_out(tmp_path / "out", 4, machine, {r["student"] for r in reports})
