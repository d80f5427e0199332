"""Rubrics validate at load time, and a bad one names its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import RubricError
from grader.rubric import load_rubric, load_rubrics

GOOD = """
exercise = "demo"
notebook = "demo.ipynb"
[questions.q1.checks.lesson]
points = 3
visibility = "public"
hint = "the lesson value"
[questions.q1.checks.law]
points = 2
visibility = "hidden"
hint = "the law"
[questions.essay.manual.answer]
points = 5
hint = "explain"
"""


def write(tmp_path: Path, text: str, name: str = "demo.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_rubric_loads_with_ids_and_points(tmp_path):
    rubric = load_rubric(write(tmp_path, GOOD))
    assert rubric.max_score == 10
    assert sorted(rubric.checks()) == ["demo.q1.law", "demo.q1.lesson"]
    essay = rubric.questions[1]
    assert essay.manual[0].id == "demo.essay.answer" and essay.manual[0].answer == "essay"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace('visibility = "hidden"', 'visibility = "secret"'), "questions.q1.checks.law.visibility"),
        (lambda t: t.replace("points = 3", 'points = "three"'), "questions.q1.checks.lesson.points"),
        (lambda t: t.replace('hint = "the law"', ""), "questions.q1.checks.law"),
        (lambda t: t.replace('notebook = "demo.ipynb"', 'notebook = "demo.txt"'), "notebook"),
        (lambda t: "surprise = 1\n" + t, "(top level)"),
    ],
)
def test_bad_rubric_names_file_and_field(tmp_path, edit, field):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(path) in str(info.value)
    assert f"field {field}" in str(info.value)


def test_not_toml_is_a_clear_error(tmp_path):
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric(write(tmp_path, "exercise = \n"))


def test_duplicate_exercise_ids_are_refused(tmp_path):
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")
    with pytest.raises(RubricError, match="also defined in"):
        load_rubrics(tmp_path)


def test_course_rubrics_are_valid_and_total_110(project):
    rubrics = load_rubrics(project / "rubrics")
    assert set(rubrics) == {"autograd", "logistic_regression", "tensors"}
    assert sum(r.max_score for r in rubrics.values()) == 110
    assert rubrics["tensors"].max_score == 10
    manual = sum(m.points for r in rubrics.values() for q in r.questions for m in q.manual)
    assert manual == 10
