"""Scoring is pure: outcomes and written answers in, points out; instructor scores merge from CSV or TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import UsageError
from grader.manual import load_manual_scores
from grader.models import Outcome
from grader.rubric import load_rubric
from grader.scoring import score_questions

RUBRIC = """
exercise = "demo"
notebook = "demo.ipynb"
[questions.q.checks.a]
points = 2
visibility = "public"
hint = "a"
[questions.q.checks.b]
points = 3
visibility = "hidden"
hint = "b"
[questions.essay.manual.answer]
points = 5
hint = "write"
"""

TEMPLATE = "_在此作答 / Write your answer here._"


@pytest.fixture()
def rubric(tmp_path):
    path = tmp_path / "demo.toml"
    path.write_text(RUBRIC, encoding="utf-8")
    return load_rubric(path)


def by_id(questions):
    return {c.id: c for q in questions for c in q.checks}


def test_points_only_for_passed_checks_and_missing_checks_are_errors(rubric):
    outcomes = {"demo.q.a": Outcome("demo.q.a", "passed", "")}
    checks = by_id(score_questions(rubric, outcomes, {}, {"essay": TEMPLATE}))
    assert (checks["demo.q.a"].status, checks["demo.q.a"].points) == ("passed", 2)
    assert (checks["demo.q.b"].status, checks["demo.q.b"].points) == ("error", 0)
    assert checks["demo.q.b"].message == "this check did not run"


@pytest.mark.parametrize("answer", [None, "", "   \n", TEMPLATE, f"  {TEMPLATE}\n"])
def test_empty_or_unchanged_answers_score_zero_automatically(rubric, answer):
    checks = by_id(score_questions(rubric, {}, {"essay": answer}, {"essay": TEMPLATE}, {"demo.essay.answer": (5, "")}))
    assert (checks["demo.essay.answer"].status, checks["demo.essay.answer"].points) == ("failed", 0)


def test_written_answer_waits_for_then_takes_the_instructor_score(rubric):
    answers = {"essay": "sigmoid maps to (0, 1)"}
    waiting = by_id(score_questions(rubric, {}, answers, {"essay": TEMPLATE}))["demo.essay.answer"]
    assert (waiting.status, waiting.points) == ("manual", 0)
    scored = by_id(score_questions(rubric, {}, answers, {"essay": TEMPLATE},
                                   {"demo.essay.answer": (9, "great")}))["demo.essay.answer"]
    assert (scored.status, scored.points, scored.message) == ("manual", 5, "great")  # capped at the maximum


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_manual_scores_from_csv_and_toml(tmp_path):
    known = {"demo.essay.answer"}
    csv_path = write(tmp_path, "m.csv", "student,check,points,comment\nalice,demo.essay.answer,4,good\n")
    assert load_manual_scores(csv_path, known) == {"alice": {"demo.essay.answer": (4.0, "good")}}
    toml_path = write(tmp_path, "m.toml", '[alice]\n"demo.essay.answer" = { points = 3, comment = "ok" }\n'
                                          '["张伟"]\n"demo.essay.answer" = 5\n')
    assert load_manual_scores(toml_path, known) == {"alice": {"demo.essay.answer": (3.0, "ok")},
                                                    "张伟": {"demo.essay.answer": (5.0, "")}}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.csv", "student,points\nalice,3\n", "missing column(s) check"),
        ("m.csv", "student,check,points\nalice,demo.nope.answer,3\n", "line 2: 'demo.nope.answer' is not a manual item"),
        ("m.csv", "student,check,points\nalice,demo.essay.answer,lots\n", "line 2: points 'lots' is not a number"),
        ("m.toml", "[alice\n", "not valid TOML"),
        ("m.txt", "x", "must be a .csv or .toml file"),
    ],
)
def test_bad_manual_files_say_where(tmp_path, name, text, message):
    with pytest.raises(UsageError, match=None) as info:
        load_manual_scores(write(tmp_path, name, text), {"demo.essay.answer"})
    assert message in str(info.value)
