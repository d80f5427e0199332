"""Written answers are found wherever students put them; only a notebook with no new prose for one scores 0."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from grader import messages
from grader.cache import run_from_json, run_to_json
from grader.answers import LocatedAnswer, locate_answers
from grader.course import load_course
from grader.models import ExerciseResult, ExerciseRun, StudentReport
from grader.reporters.json_report import report_to_dict, validate_report
from grader.scoring import score_questions

IDS = ["hw1", "hw2"]
HW1 = "The sigmoid turns the linear score WX+b into a probability; 0.5 gives a straight boundary."


@pytest.fixture(scope="module")
def course(project):
    return load_course(project)


@pytest.fixture()
def blank(project):
    return nbformat.read(project / "exercises" / "02_logistic_regression.ipynb", as_version=4)


def index_of(nb, answer_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("grader", {}).get("answer") == answer_id)


def without_metadata(nb):
    """As another editor rebuilds it: every cell's metadata is gone."""
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def score(course, answers, entered=None):
    rubric = course.rubrics["logistic_regression"]
    questions = score_questions(rubric, {}, answers, {}, entered)
    return {c.id.split(".")[1]: c for q in questions for c in q.checks if q.id in IDS}


def test_an_answer_in_the_answer_cell_is_found_there(blank, course):
    exercise = nbformat.from_dict(blank)
    blank.cells[index_of(blank, "hw1")].source = HW1
    found = locate_answers(blank, IDS, exercise)
    assert (found["hw1"].where, found["hw1"].text, found["hw1"].confident) == ("answer_cell", HW1, True)
    assert found["hw2"] == LocatedAnswer(None, "not_found")
    checks = score(course, found)
    assert (checks["hw1"].status, checks["hw1"].message) == ("manual", "written answer awaiting the instructor's score")
    assert (checks["hw2"].status, checks["hw2"].points) == ("failed", 0)


def test_an_answer_in_a_new_cell_below_the_unchanged_prompt_goes_to_the_instructor(project, blank, course):
    exercise = nbformat.from_dict(blank)
    at = index_of(blank, "hw1") + 1
    blank.cells.insert(at, new_markdown_cell(HW1))
    found = locate_answers(blank, IDS, project / "exercises" / "02_logistic_regression.ipynb")
    assert (found["hw1"].where, found["hw1"].text, found["hw1"].cells) == ("below_prompt", HW1, (at,))
    assert not found["hw2"].found  # hw1's answer is not offered to hw2
    checks = score(course, found)
    assert checks["hw1"].status == "manual" and checks["hw1"].points == 0
    assert checks["hw1"].message == (f"written answer found below the prompt, not in the answer cell (cells {at}); "
                                     "awaiting the instructor's score")
    assert checks["hw2"].message == "no answer written (the answer cell is empty or unchanged)"
    scored = score(course, found, {"logistic_regression.hw1.answer": (4, "good")})
    assert (scored["hw1"].points, scored["hw1"].message) == (4, "good")
    assert locate_answers(exercise, IDS, exercise)["hw1"] == LocatedAnswer(None, "not_found")


def test_rebuilt_notebook_without_metadata_is_matched_by_the_prompt_text(blank, course):
    exercise = nbformat.from_dict(blank)
    at = index_of(blank, "hw2")
    blank.cells[at].source = "Larger mean_value separates the clouds; bias shifts both."
    found = locate_answers(without_metadata(blank), IDS, exercise)
    assert (found["hw2"].where, found["hw2"].cells) == ("below_prompt", (at,))
    assert not found["hw1"].found


def test_text_added_to_the_prompt_cell_counts_without_the_prompt(blank):
    exercise = nbformat.from_dict(blank)
    prompt = index_of(blank, "hw1") - 1
    blank.cells[prompt].source += "\n\n答: " + HW1
    found = locate_answers(blank, IDS, exercise)
    assert (found["hw1"].where, found["hw1"].text) == ("below_prompt", "答: " + HW1)


def test_text_under_a_heading_naming_the_homework_is_found_but_not_confidently(blank, course):
    exercise = nbformat.from_dict(blank)
    blank.cells = [c for c in blank.cells if "作业1 / homework 1" not in c.source]  # the prompt's heading deleted
    blank.cells.append(new_markdown_cell("### 作业 1 的回答\n\n" + HW1))
    found = locate_answers(without_metadata(blank), IDS, exercise)
    hw1 = found["hw1"]
    assert (hw1.where, hw1.confident, hw1.heading, hw1.cells) == ("under_heading", False, "作业 1 的回答",
                                                                  (len(blank.cells) - 1,))
    assert HW1 in hw1.text
    message = score(course, found)["hw1"].message
    assert message.startswith('written answer not in the answer cell; text under the heading "作业 1 的回答"')
    assert not found["hw2"].found


def test_new_text_that_cannot_be_placed_goes_to_the_instructor_for_every_open_question(blank, course):
    exercise = nbformat.from_dict(blank)
    blank.cells.insert(3, new_markdown_cell("Note: mean_value moves the clouds apart, bias moves both."))
    found = locate_answers(blank, IDS, exercise)
    assert [(found[a].where, found[a].cells, found[a].confident) for a in IDS] == [("elsewhere", (3,), False)] * 2
    checks = score(course, found)
    assert all(checks[a].status == "manual" and checks[a].points == 0 for a in IDS)
    assert checks["hw1"].message == ("no answer found where expected; new text elsewhere in the notebook (cells 3) "
                                     "goes to the instructor for review")


def test_only_no_new_prose_at_all_is_no_answer(blank, course):
    exercise = nbformat.from_dict(blank)
    blank.cells.insert(index_of(blank, "hw1") + 1, new_markdown_cell("_在此作答 / Write your answer here._"))
    found = locate_answers(without_metadata(blank), IDS, exercise)
    assert all(found[a] == LocatedAnswer(None, "not_found") for a in IDS)
    checks = score(course, found, {"logistic_regression.hw1.answer": (5, "")})
    assert [(checks[a].status, checks[a].points) for a in IDS] == [("failed", 0), ("failed", 0)]


def test_located_answers_survive_the_cache_and_the_report_schema_accepts_their_messages(blank, course):
    exercise = nbformat.from_dict(blank)
    blank.cells.insert(index_of(blank, "hw1") + 1, new_markdown_cell(HW1))
    blank.cells.insert(3, new_markdown_cell("a stray note"))
    run = ExerciseRun("logistic_regression", "graded", "graded", None, (), locate_answers(blank, IDS, exercise))
    cached = run_from_json(run_to_json(run))
    assert {a: LocatedAnswer.coerce(v) for a, v in cached.answers.items()} == run.answers
    rubric = course.rubrics["logistic_regression"]
    questions = score_questions(rubric, {}, cached.answers, {})
    isolation = {"level": "bwrap", "requested": "auto", "protections": {}, "warning": None}
    report = StudentReport("eve", (ExerciseResult("logistic_regression", "graded", "graded", questions),), isolation,
                           "0", "2025-01-01T00:00:00+00:00")
    data = report_to_dict(report)
    validate_report(data)
    messages = {c["id"]: c["message"] for e in data["exercises"] for q in e["questions"] for c in q["checks"]}
    assert "below the prompt" in messages["logistic_regression.hw1.answer"]
    assert "elsewhere in the notebook (cells 3)" in messages["logistic_regression.hw2.answer"]


def test_plain_text_answers_keep_the_old_meaning():
    template = "_在此作答 / Write your answer here._"
    assert LocatedAnswer.coerce("  " + template, template) == LocatedAnswer(None, "not_found")
    assert LocatedAnswer.coerce(None) == LocatedAnswer(None, "not_found")
    assert LocatedAnswer.coerce("mine").where == "answer_cell"


@pytest.mark.parametrize("code,params", [
    ("answer.below_prompt", {"cells": "19, 20"}),
    ("answer.under_heading", {"heading": "作业 1", "cells": "30"}),
    ("answer.elsewhere", {"cells": "3"}),
])
def test_where_messages_are_translated(code, params):
    message = messages.msg(code, **params)
    translated = messages.render(message, "zh")
    assert translated != str(message) and any("\u4e00" <= ch <= "\u9fff" for ch in translated)
    assert all(value in translated for value in params.values())
