"""Student text as data: terminals, Markdown and spreadsheets get student ids and messages inert (issue 14, 7-9)."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from rich.console import Console
from rich.table import Table

from grader.checks import Feedback
from grader.codec import StudentException
from grader.course import load_course
from grader.plugin import GraderPlugin
from grader.reporters.canvas import canvas_csv
from grader.reporters.feedback_md import md
from grader.reporters.gradebook import write_gradebook
from grader.textsafe import csv_text, csv_value, for_markdown, for_terminal, one_line, plain

from minicourse import make_course

FORMULAS = ['=HYPERLINK("http://evil","click")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3",
            "\t=1+1", "\r=1+1", " =1+1", "'already quoted", "Points Possible", "points possible "]
CLEAR_SCREEN = "\x1b[2J\x1b[H"
FAKE_PASS = CLEAR_SCREEN + "\x1b]0;window title\x07\x1b[32mALL GOOD: alice 100\x1b[0m"
HYPERLINK = "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\"


def _terminal(markup: str) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200)
    console.print(markup, highlight=False)
    return console.file.getvalue()


def _report(student: str, score: float = 1) -> dict:
    return {"student": student, "score": score, "max_score": 2,
            "exercises": [{"id": "alpha", "score": score, "questions": [{"id": "double", "score": score}]}]}


@pytest.mark.parametrize("text", [FAKE_PASS, HYPERLINK, "a\x00b\x07c\x08d\x7fe\x9b31mf\u202eg", "x\ry"])
def test_plain_drops_every_control_character_and_escape_sequence(text):
    cleaned = plain(text)
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in cleaned), repr(cleaned)
    assert "\u202e" not in cleaned and "window title" not in cleaned and "evil.example" not in cleaned


def test_plain_keeps_ordinary_text_newlines_and_tabs():
    assert plain("alice\tbob\nçà 数据 🙂") == "alice\tbob\nçà 数据 🙂"
    assert one_line(" a\n b\t c ") == "a b c"


@pytest.mark.parametrize("student", ["[x]alice", "[green]ALL GOOD[/green]", "[link=http://evil]alice[/link]",
                                     "alice\\", "[bold red blink]x"])
def test_markup_in_a_student_id_is_shown_literally_in_the_terminal(student):
    shown = _terminal(for_terminal(student))
    assert student in shown and "\x1b[" not in shown.replace("\x1b[0m", "")


def test_a_fake_pass_line_is_not_drawn_in_green():
    shown = _terminal(f"[red]{for_terminal(FAKE_PASS)}[/red]")
    assert "ALL GOOD: alice 100" in shown
    assert "\x1b[2J" not in shown and "\x1b[32m" not in shown and "\x1b]" not in shown


def test_the_run_table_shows_hostile_ids_as_text():
    table = Table()
    table.add_column("student")
    for student in ("[x]alice", FAKE_PASS):
        table.add_row(for_terminal(student))
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    console.print(table)
    shown = console.file.getvalue()
    assert "[x]alice" in shown and "\x1b" not in shown


@pytest.mark.parametrize("text", ["[x]alice", "<script>", "a|b", "**bold**", "`code`", "![img](http://x)",
                                  FAKE_PASS, "line\nbreak"])
def test_markdown_text_has_no_markup_of_its_own(text):
    out = for_markdown(text)
    assert "\n" not in out and "\x1b" not in out
    for special in "[]|*`<>!":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == special), out
    assert md(text) == out


@pytest.mark.parametrize("student", FORMULAS)
def test_no_csv_cell_starts_a_formula_and_ids_read_back_exactly(student):
    rows = list(csv.reader(io.StringIO(csv_text([["student", "score"], [student, 1.5]]))))
    cell = rows[1][0]
    assert cell.startswith("'") and not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csv_value(cell) == student and rows[1][1] == "1.5"


def test_ordinary_ids_and_numbers_are_written_as_before():
    assert csv_text([["student", "score"], ["s0", 10], ["a,b", 2.5], ["o'neil", 0]]) == \
        'student,score\ns0,10\n"a,b",2.5\no\'neil,0\n'


def test_gradebook_neutralises_formula_ids(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook([_report(s) for s in FORMULAS + ["alice"]], [("alpha", ["double"])], path)
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    ids = [row[0] for row in rows[1:]]
    assert sorted(csv_value(i) for i in ids) == sorted(FORMULAS + ["alice"])
    assert all(not i.startswith(("=", "+", "-", "@", "\t", "\r")) for i in ids)
    assert '"\'=HYPERLINK(""http://evil"",""click"")"' in path.read_text(encoding="utf-8")  # quoted too


def test_a_student_named_points_possible_cannot_forge_canvas_rows():
    rows = list(csv.reader(io.StringIO(canvas_csv([_report(s) for s in FORMULAS], [("alpha", 2)]), newline="")))
    assert rows[1][0] == "Points Possible" and [r[0] for r in rows].count("Points Possible") == 1
    for row in rows[2:]:
        assert all(not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
        assert csv_value(row[0]) in FORMULAS


# -- hidden checks (item 9) ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    course = load_course(make_course(tmp_path_factory.mktemp("course")))
    return GraderPlugin(rubric=course.rubrics["alpha"], student=None, reference_path=None, seeds=None)


def _outcome(plugin, check: str, exc: BaseException | None):
    call = SimpleNamespace(excinfo=None if exc is None else SimpleNamespace(value=exc))
    report = SimpleNamespace(longreprtext=f"traceback: {exc!r}")
    return plugin._classify(f"alpha.double.{check}", call, report)


LEAKY = [StudentException("Inputs_0_6394_w_1_234", "__main__", ("Inputs_0_6394_w_1_234", "Exception"), "w=1.234"),
         Feedback("double(1.234) should be 2.468, but it is an object of class Inputs_0_6394"),
         AssertionError("double(1.234) returned 0")]


@pytest.mark.parametrize("exc", LEAKY, ids=["exception class name", "feedback", "assertion"])
def test_a_hidden_check_shows_only_its_hint_and_verdict(plugin, exc):
    outcome = _outcome(plugin, "law", exc)
    assert outcome.status == "failed"
    assert "1.234" not in outcome.message and "Inputs" not in outcome.message
    assert "1.234" in outcome.detail  # the instructor keeps everything


def test_a_public_check_still_says_what_went_wrong(plugin):
    outcome = _outcome(plugin, "lesson", LEAKY[0])
    assert "Inputs_0_6394_w_1_234" in outcome.message and "w=1.234" in outcome.message


def test_a_passing_hidden_check_keeps_its_notes_for_the_instructor(plugin, monkeypatch):
    import grader.plugin

    monkeypatch.setattr(grader.plugin, "take_notes", lambda: "accepted an object of class Leak_1_234")
    outcome = _outcome(plugin, "law", None)
    assert outcome.status == "passed" and outcome.message == "" and "Leak_1_234" in outcome.detail
